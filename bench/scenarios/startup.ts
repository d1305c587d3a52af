import { existsSync } from "node:fs"
import * as path from "node:path"
import { timeCommand } from "../system.ts"

/** Wall seconds of starting processes that do no transfer: where the client's fixed cost goes. */
export interface StartupResult {
  /** `bun -e ""`: the runtime alone. */
  readonly bunAlone: Array<number>
  /** `bun bin/cliente.ts --ajuda` (what `bun run cliente` runs): the runtime plus the client's compiled bundle. */
  readonly clientHelp: Array<number>
  /** `bun src/programs/client/main.ts --ajuda`: the same client loaded from its sources, module by module. */
  readonly clientSource: Array<number>
  /** `curl --version`, for scale. */
  readonly curl: Array<number>
  /** `dist/cliente --ajuda`: the single-file executable that `npm ci` builds (absent in runs made before it existed). */
  readonly executable?: Array<number>
}

export const startup = async (repo: string, reps: number): Promise<StartupResult> => {
  const result = { bunAlone: [], clientHelp: [], clientSource: [], curl: [], executable: [] } satisfies StartupResult
  const commands: Array<[Array<number>, Array<string>]> = [
    [result.bunAlone, [process.execPath, "-e", ""]],
    [result.clientHelp, [process.execPath, "bin/cliente.ts", "--ajuda"]],
    [result.clientSource, [process.execPath, "src/programs/client/main.ts", "--ajuda"]],
    [result.curl, ["curl", "--version"]],
    // Built by `npm ci` (npm run build); a checkout without it still measures the rest.
    ...(existsSync(path.join(repo, "dist", "cliente"))
      ? [[result.executable, ["dist/cliente", "--ajuda"]] as [Array<number>, Array<string>]]
      : [])
  ]
  // One untimed start each, so that every file is in the page cache (and the client's bundle is built).
  for (const [, cmd] of commands) await timeCommand(cmd, { cwd: repo })
  for (let round = 0; round < reps; round++) {
    for (const [values, cmd] of commands) values.push((await timeCommand(cmd, { cwd: repo })).seconds)
  }
  return result
}

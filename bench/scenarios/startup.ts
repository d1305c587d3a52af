import { timeCommand } from "../system.ts"

/** Wall seconds of starting processes that do no transfer: where the client's fixed cost goes. */
export interface StartupResult {
  /** `bun -e ""`: the runtime alone. */
  readonly bunAlone: Array<number>
  /** `bun src/programs/client/main.ts --ajuda`: the runtime plus loading the client's modules. */
  readonly clientHelp: Array<number>
  /** `curl --version`, for scale. */
  readonly curl: Array<number>
}

export const startup = async (repo: string, reps: number): Promise<StartupResult> => {
  const result: StartupResult = { bunAlone: [], clientHelp: [], curl: [] }
  const commands: Array<[Array<number>, Array<string>]> = [
    [result.bunAlone, [process.execPath, "-e", ""]],
    [result.clientHelp, [process.execPath, "src/programs/client/main.ts", "--ajuda"]],
    [result.curl, ["curl", "--version"]]
  ]
  // One untimed start each, so that every file is in the page cache.
  for (const [, cmd] of commands) await timeCommand(cmd, { cwd: repo })
  for (let round = 0; round < reps; round++) {
    for (const [values, cmd] of commands) values.push((await timeCommand(cmd, { cwd: repo })).seconds)
  }
  return result
}

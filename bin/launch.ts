import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as path from "node:path"

/**
 * Starts an entry point from a compiled copy: one bundled file plus its
 * JavaScriptCore bytecode, built by `Bun.build` the first time and again
 * whenever a source file, the installed packages or the Bun version change.
 *
 * Why: run from source, every command of the client spent ~280 ms loading
 * and parsing a few hundred modules (Effect's among them) before its first
 * byte; the bytecode bundle starts in ~45 ms (measured, docs/DESEMPENHO.md).
 *
 * This file must stay light: it imports nothing but `node:` modules, since
 * whatever it loads is paid again on every start.
 */

export interface LaunchPlan {
  /** Names the compiled copy in the cache folder. */
  readonly name: string
  /** The entry point, a source file. */
  readonly entry: string
  /** Folders and files whose changes make the compiled copy stale. */
  readonly sources: ReadonlyArray<string>
  /** Where the compiled copy and its stamp live. */
  readonly cacheDir: string
}

/** What changes the output of a build: every source file's path, size and mtime, and the Bun version. */
export const fingerprint = (sources: ReadonlyArray<string>): string => {
  const parts: Array<string> = [Bun.version]
  const visit = (file: string) => {
    let stats
    try {
      stats = statSync(file)
    } catch {
      parts.push(`${file} -`)
      return
    }
    if (stats.isDirectory()) {
      for (const child of readdirSync(file).sort()) visit(path.join(file, child))
    } else {
      parts.push(`${file} ${stats.size} ${stats.mtimeMs}`)
    }
  }
  for (const source of sources) visit(source)
  return String(Bun.hash(parts.join("\n")))
}

const readStamp = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/**
 * The compiled copy of the plan's entry, built if missing or stale; undefined
 * when it cannot be built (the caller then runs the source). Concurrent
 * launches may both build: each builds in a folder of its own and renames
 * the results into place, the stamp last, so a reader never pairs a stamp
 * with older output.
 */
export const compiled = async (plan: LaunchPlan): Promise<string | undefined> => {
  const name = plan.name
  const output = path.join(plan.cacheDir, `${name}.js`)
  const stampFile = path.join(plan.cacheDir, `${name}.stamp`)
  const stamp = fingerprint(plan.sources)
  if (readStamp(stampFile) === stamp) return output
  const scratch = path.join(plan.cacheDir, `.build-${process.pid}-${Date.now()}`)
  try {
    mkdirSync(scratch, { recursive: true })
    const result = await Bun.build({
      entrypoints: [plan.entry],
      outdir: scratch,
      naming: `${name}.js`,
      target: "bun",
      minify: true,
      bytecode: true
    })
    if (!result.success) return undefined
    // The bytecode first: a reader that sees the new .js also finds its .jsc.
    renameSync(path.join(scratch, `${name}.js.jsc`), `${output}.jsc`)
    renameSync(path.join(scratch, `${name}.js`), output)
    writeFileSync(path.join(scratch, "stamp"), stamp)
    renameSync(path.join(scratch, "stamp"), stampFile)
    return output
  } catch {
    return undefined
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

const root = path.resolve(import.meta.dir, "..")

/** The project's own plan for one of its entry points. */
export const projectPlan = (name: string, entry: string): LaunchPlan => ({
  name,
  entry: path.join(root, entry),
  sources: [
    path.join(root, "src"),
    path.join(root, "package.json"),
    path.join(root, "node_modules", ".package-lock.json")
  ],
  cacheDir: process.env.ARQUIVOS_CACHE ?? path.join(root, "node_modules", ".cache", "arquivos-tcp")
})

/** Runs the entry (its arguments are this process's own), compiled when possible. */
export const launch = async (name: string, entry: string): Promise<void> => {
  const plan = projectPlan(name, entry)
  const target = process.env.ARQUIVOS_FONTE === "1" ? undefined : await compiled(plan)
  await import(target ?? plan.entry)
}

import * as path from "node:path"

/**
 * How the person started this program, as they would type it again: the
 * installed command (`arquivos-cliente`), the executable as typed
 * (`dist/cliente`), `bun run cliente` or `npm run cliente --` from the
 * project, or `bun FILE` for a source file. Usage texts, examples and advice
 * ("para continuar: …") use it, so what they suggest can be pasted.
 */

/** A word as a POSIX shell reads it back: bare when safe, else in single quotes. */
export const shellWord = (word: string): string =>
  /^[\w./@%+=:,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`

export interface Invocation {
  readonly argv0: string
  readonly argv: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
}

const current = (): Invocation => ({ argv0: process.argv0, argv: process.argv, env: process.env, cwd: process.cwd() })

/** A compiled executable runs its code from Bun's embedded file system. */
const COMPILED_ROOT = /^(\/\$bunfs\/|[A-Z]:\\~BUN\\)/

/**
 * The words that start this program again. `script` is its name in
 * package.json's scripts ("cliente"); `installed` its command on the PATH,
 * used when nothing better is known.
 */
export const invokedAs = (script: string, installed: string, from: Invocation = current()): string => {
  const entry = from.argv[1] ?? ""
  if (COMPILED_ROOT.test(entry)) return from.argv0 === "" ? installed : shellWord(from.argv0)
  if (from.env.npm_lifecycle_event === script) {
    // npm takes the options after its own "--"; bun run passes them all on. Bun's run sets npm_command
    // to "run-script" (over any value it inherits, unlike the user agent); npm's, to "run".
    return from.env.npm_command === "run" ? `npm run ${script} --` : `bun run ${script}`
  }
  if (entry === "") return installed
  const relative = path.relative(from.cwd, entry)
  return `bun ${shellWord(relative.startsWith("..") ? entry : relative)}`
}

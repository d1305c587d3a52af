import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/**
 * What the two command lines share: `--opcao=valor` beside `--opcao valor`,
 * and environment variables read through Effect's `Config` as defaults that
 * the command line overrides.
 */

/** "--opcao=valor" for an option that takes a value: its name and value; undefined for anything else. */
export const inlineValue = (
  arg: string,
  valued: (name: string) => boolean
): readonly [name: string, value: string] | undefined => {
  if (!arg.startsWith("--")) return undefined
  const equals = arg.indexOf("=")
  if (equals < 0) return undefined
  const name = arg.slice(0, equals)
  return valued(name) ? [name, arg.slice(equals + 1)] : undefined
}

/** One environment variable standing for one option. */
export interface EnvOption {
  readonly variable: string
  readonly option: string
  /** A switch (`--somente-leitura`) is on for 1/true/sim and off for 0/false/nao; other options take the text as their value. */
  readonly kind: "value" | "switch"
}

const SWITCH_ON = new Set(["1", "true", "sim", "yes", "on"])
const SWITCH_OFF = new Set(["0", "false", "nao", "não", "no", "off"])

/**
 * The variables of the table that are set (an empty one counts as unset),
 * read through `Config` from the provider (the process environment by
 * default), as command-line words: `["--pasta", "/srv/x", "--somente-leitura"]`.
 * Left is a Portuguese message naming the variable.
 */
export const environmentWords = (
  table: ReadonlyArray<EnvOption>,
  provider: ConfigProvider.ConfigProvider = ConfigProvider.fromEnv()
): Either.Either<Array<string>, string> => {
  const read = Config.all(table.map((entry) => Config.option(Config.string(entry.variable))))
  const values = Effect.runSync(Effect.either(Effect.withConfigProvider(read, provider)))
  if (Either.isLeft(values)) return Either.left(`não foi possível ler as variáveis de ambiente: ${values.left.message}`)
  const words: Array<string> = []
  for (const [index, entry] of table.entries()) {
    const text = Option.getOrUndefined(values.right[index]!)?.trim()
    if (text === undefined || text === "") continue
    if (entry.kind === "value") {
      words.push(entry.option, text)
    } else if (SWITCH_ON.has(text.toLowerCase())) {
      words.push(entry.option)
    } else if (!SWITCH_OFF.has(text.toLowerCase())) {
      return Either.left(`${entry.variable}="${text}" inválido (use 1 para ligar ou 0 para desligar)`)
    }
  }
  return Either.right(words)
}

/**
 * Parses the words from the environment, then the command line after them
 * (a later value wins, so the command line overrides the environment). Each
 * variable's words are first checked alone by `check` (the parser, with
 * whatever else it requires), so that an error names the variable.
 */
export const withEnvironment = <A>(
  table: ReadonlyArray<EnvOption>,
  parse: (argv: ReadonlyArray<string>) => Either.Either<A, string>,
  argv: ReadonlyArray<string>,
  options: {
    readonly check?: (words: ReadonlyArray<string>) => Either.Either<unknown, string>
    readonly provider?: ConfigProvider.ConfigProvider
  } = {}
): Either.Either<A, string> => {
  const words = environmentWords(table, options.provider)
  if (Either.isLeft(words)) return Either.left(words.left)
  const check = options.check ?? parse
  for (let i = 0; i < words.right.length; ) {
    const entry = table.find((candidate) => candidate.option === words.right[i])!
    const own = entry.kind === "value" ? words.right.slice(i, i + 2) : words.right.slice(i, i + 1)
    const alone = check(own)
    if (Either.isLeft(alone)) return Either.left(`${entry.variable}: ${alone.left}`)
    i += own.length
  }
  return parse([...words.right, ...argv])
}

import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"

const messageText = (message: unknown) => (Array.isArray(message) ? message.map(String).join(" ") : String(message))

const FIELD_ORDER = [
  "hora",
  "nivel",
  "evento",
  "cliente",
  "certificado",
  "op",
  "nome",
  "resultado",
  "nota",
  "causa",
  "bytes",
  "ms"
]

/** `nivel` of a JSON line: Effect's log level, in Portuguese. */
const LEVELS: Partial<Record<LogLevel.LogLevel["_tag"], string>> = {
  Fatal: "erro",
  Error: "erro",
  Warning: "aviso",
  Info: "info",
  Debug: "depuracao",
  Trace: "depuracao"
}

/** The level of a line, as `nivel` says it. */
export type Nivel = "info" | "aviso" | "erro" | "depuracao"

/**
 * One line of `--log json`: `hora`, `nivel` and `evento` first, then the
 * line's own fields in their documented order, then any others. Also for
 * the few lines written outside the loggers (a server that could not start).
 */
export const jsonLine = (fields: Readonly<Record<string, unknown>>): string => {
  const record: Record<string, unknown> = {}
  for (const key of FIELD_ORDER) if (key in fields) record[key] = fields[key]
  for (const key in fields) if (!(key in record)) record[key] = fields[key]
  return JSON.stringify(record)
}

const plain = Logger.make(({ message }) => {
  console.log(messageText(message))
})

/**
 * One JSON object per line: `hora` (the line's own, or now), `nivel`,
 * `evento` (the line's, or "erro"/"mensagem"), the line's annotations, and
 * `mensagem`, the text line, except on an operation's or refusal's line
 * (its fields say it all, see `operationFields`).
 */
const json = Logger.make(({ message, annotations, date, logLevel }) => {
  const fields: Record<string, unknown> = {
    hora: date.toISOString(),
    nivel: LEVELS[logLevel._tag] ?? "info",
    evento: logLevel._tag === "Error" || logLevel._tag === "Fatal" ? "erro" : "mensagem"
  }
  for (const [key, value] of HashMap.toEntries(annotations)) fields[key] = value
  if (!("resultado" in fields)) fields.mensagem = messageText(message)
  console.log(jsonLine(fields))
})

/**
 * The loggers that read a line's annotations (its fields). A line's fields
 * are only gathered when one of these is installed: the text line already
 * says everything, and gathering them is a visible share of a small
 * operation's cost.
 */
const fieldReaders = new WeakSet<Logger.Logger<unknown, void>>([json])

export const readsFields = (logger: Logger.Logger<unknown, unknown>): boolean =>
  fieldReaders.has(logger as Logger.Logger<unknown, void>)

const only = (logger: Logger.Logger<unknown, void>) =>
  Layer.mergeAll(Logger.remove(Logger.defaultLogger), Logger.remove(Logger.prettyLoggerDefault), Logger.add(logger))

/** Plain lines on stdout: the message only, as the operator reads it (no other logger). */
export const PlainLogger = only(plain)

/** `--log json`: one object per line on stdout, for a machine to read. */
export const JsonLogger = only(json)

export const loggerFor = (format: "texto" | "json") => (format === "json" ? JsonLogger : PlainLogger)

/** What one operation did, as the fields of its JSON log line (the text line says the same). */
export const operationFields = (entry: {
  readonly started: number
  readonly client: string
  readonly op: string
  readonly name: string
  readonly result: string
  readonly bytes: number
  readonly millis: number
}) => ({
  hora: new Date(entry.started).toISOString(),
  cliente: entry.client,
  // Before the request is read, the op is not known ("?") and there is no name ("-").
  op: entry.op === "?" ? null : entry.op,
  nome: entry.op === "?" && entry.name === "-" ? null : entry.name,
  resultado: entry.result,
  bytes: entry.bytes,
  ms: entry.millis
})

import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"

const messageText = (message: unknown) => (Array.isArray(message) ? message.map(String).join(" ") : String(message))

const FIELD_ORDER = ["hora", "cliente", "op", "nome", "resultado", "nota", "causa", "bytes", "ms"]

const plain = Logger.make(({ message }) => {
  console.log(messageText(message))
})

/**
 * One JSON object per line: the line's annotations (an operation's fields,
 * see `operationFields`) when it has them, otherwise the time and the message.
 */
const json = Logger.make(({ message, annotations, date }) => {
  if (HashMap.size(annotations) === 0) {
    console.log(JSON.stringify({ hora: date.toISOString(), mensagem: messageText(message) }))
    return
  }
  // The fields in their documented order (annotations keep none), then any others.
  const record: Record<string, unknown> = {}
  for (const key of FIELD_ORDER) {
    if (HashMap.has(annotations, key)) record[key] = HashMap.unsafeGet(annotations, key)
  }
  for (const [key, value] of HashMap.toEntries(annotations)) if (!(key in record)) record[key] = value
  console.log(JSON.stringify(record))
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

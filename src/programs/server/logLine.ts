import * as Effect from "effect/Effect"
import { describeFailure, isPeerGone } from "../../domain/describe.ts"
import type { OperationError } from "../../domain/statuses.ts"
import { logWord } from "../../domain/words.ts"
import type { OperationRecord } from "./exchange.ts"

/**
 * The log line of one operation, with a fixed shape so it can be split:
 *
 *     WHEN CLIENT OP NAME RESULT[ (NOTE)] BYTES bytes MILLIS ms
 *
 * WHEN is ISO 8601 in UTC, marked with Z; NAME is one word (quoted and
 * escaped when it has a space, a quote or a control character; "-" when the
 * operation has no name); RESULT is free text ("ok", "falha: …",
 * "cancelado: …"), so the last four words are always the counts.
 */
export const formatLogLine = (startedAt: number, client: string, record: OperationRecord, millis: number): string =>
  `${new Date(startedAt).toISOString()} ${client} ${record.op} ${record.name} ${record.result}` +
  `${record.note === undefined ? "" : ` (${record.note})`} ${record.bytes} bytes ${millis} ms`

/**
 * The CLIENT word of a line: the address, and over TLS with client
 * certificates the certificate's name before it, as `NAME@ADDRESS:PORT`
 * (NAME quoted like a file name when it has a space).
 */
export const clientWord = (client: string, certificate: string | undefined): string =>
  certificate === undefined ? client : `${logWord(certificate)}@${client}`

/**
 * The line of a connection turned away before its request was read (a limit,
 * --permitir, a missing PROXY header): the same shape, with no operation and
 * no name; with --log json, its fields.
 */
export const refusalLog = (client: string, result: string, certificate?: string | undefined) => {
  const now = Date.now()
  return Effect.logWarning(
    formatLogLine(now, clientWord(client, certificate), { op: "?", name: "-", bytes: 0, result }, 0)
  ).pipe(
    Effect.annotateLogs({
      hora: new Date(now).toISOString(),
      evento: "recusa",
      cliente: client,
      ...(certificate === undefined ? {} : { certificado: certificate }),
      resultado: result
    })
  )
}

/** The result of an operation that ended in a defect (a bug): the defect itself goes to the error log. */
export const INTERNAL_FAILURE = "falha: erro interno"

/** The result of an operation a shutdown cut when its grace period ended. */
export const CUT_BY_SHUTDOWN = "cortado: o servidor foi encerrado antes do fim"

/**
 * The results of a reply (a download's) that is not known to
 * have reached the client whole (PROTOCOL.md §7, the log's `ok` and `bytes`):
 * the connection broke (a reset) before the client closed in order after the
 * last byte; or the client's system stopped acknowledging bytes for the idle
 * deadline, and the server cut the connection.
 */
export const CUT_BROKEN = "cortado: a conexão caiu sem o cliente confirmar que recebeu tudo"
export const CUT_STALLED = "cortado: o cliente parou de receber antes do fim"

/**
 * The result of an operation that failed. A client that goes away once its
 * request was taken (Ctrl+C, a closed window) cancelled it; it did not break
 * the protocol.
 */
export const failedResult = (error: OperationError, dispatched: boolean): string =>
  dispatched && isPeerGone(error)
    ? "cancelado: o cliente fechou a conexão no meio da operação"
    : `falha: ${describeFailure(error)}`

/**
 * What the socket layer said when a connection broke, as it said it (an
 * errno code and its message): for the operator's diagnosis in --log json.
 * The result stays the plain sentence; undefined for any other failure.
 */
export const socketCause = (error: OperationError): string | undefined => {
  if (error._tag !== "ConnectionFailure" || error.cause === undefined) return undefined
  const cause = error.cause
  const message = cause instanceof Error ? cause.message : String(cause)
  const code = (cause as { code?: unknown }).code
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message
}

/** Marks `record` as failed with `error`: its result, and the socket's own words when a connection broke. */
export const recordFailure = (record: OperationRecord, error: OperationError, dispatched: boolean): void => {
  record.result = failedResult(error, dispatched)
  const cause = socketCause(error)
  if (cause !== undefined) record.cause = cause
}

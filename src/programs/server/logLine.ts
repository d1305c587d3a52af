import * as Effect from "effect/Effect"
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
 * The line of a connection turned away before its request was read (a limit,
 * --permitir, a missing PROXY header): the same shape, with no operation and
 * no name; with --log json, its fields.
 */
export const refusalLog = (client: string, result: string) => {
  const now = Date.now()
  return Effect.logInfo(formatLogLine(now, client, { op: "?", name: "-", bytes: 0, result }, 0)).pipe(
    Effect.annotateLogs({ hora: new Date(now).toISOString(), cliente: client, resultado: result })
  )
}

import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as List from "effect/List"
import * as LogLevel from "effect/LogLevel"
import { operationFields, readsFields } from "../logger.ts"
import type { OperationRecord } from "./exchange.ts"
import { clientWord, formatLogLine } from "./logLine.ts"

/** The fields of an operation's line, for --log json. */
const fieldsOf = (
  started: number,
  client: string,
  record: OperationRecord,
  millis: number,
  certificate: string | undefined
) => {
  const fields: Record<string, unknown> = operationFields({
    started,
    client,
    op: record.op,
    name: record.name,
    result: record.result,
    bytes: record.bytes,
    millis
  })
  fields.evento = "operacao"
  if (certificate !== undefined) fields.certificado = certificate
  if (record.note !== undefined) fields.nota = record.note
  if (record.cause !== undefined) fields.causa = record.cause
  return HashMap.fromIterable(Object.entries(fields))
}

/**
 * Writes the one log line of an operation: `started` and `millis` in Clock
 * milliseconds; `certificate`, the name on the client's certificate (TLS with
 * --tls-clientes).
 */
export type OperationLog = (
  started: number,
  client: string,
  record: OperationRecord,
  millis: number,
  certificate?: string | undefined
) => void

/**
 * The operation log of a server: each line goes straight to the loggers the
 * server was started with (text or --log json, or a test's). Going to the
 * loggers directly skips the FiberRef bookkeeping of `Effect.logInfo` with
 * annotations, once per operation.
 */
export const makeOperationLog: Effect.Effect<OperationLog> = Effect.gen(function* () {
  const loggers = yield* FiberRef.get(FiberRef.currentLoggers)
  const context = yield* Effect.getFiberRefs
  // As Effect.logInfo would: nothing below the minimum level the server was started with.
  if (LogLevel.greaterThan(yield* FiberRef.get(FiberRef.currentMinimumLogLevel), LogLevel.Info)) return () => {}
  const withFields = Array.from(loggers).some(readsFields)
  return (started, client, record, millis, certificate) => {
    const message = formatLogLine(started, clientWord(client, certificate), record, millis)
    const annotations = withFields
      ? fieldsOf(started, client, record, millis, certificate)
      : HashMap.empty<string, unknown>()
    const date = new Date()
    for (const logger of loggers) {
      logger.log({
        fiberId: FiberId.none,
        logLevel: LogLevel.Info,
        message,
        cause: Cause.empty,
        context,
        spans: List.empty(),
        annotations,
        date
      })
    }
  }
})

import * as Effect from "effect/Effect"
import type { ConnectionFailure } from "../../domain/errors.ts"
import type { OperationError } from "../../domain/statuses.ts"
import type { Ending } from "../../services/transport/Transport.ts"
import type { Exchange, OperationRecord } from "./exchange.ts"
import { CUT_BROKEN, CUT_STALLED, socketCause } from "./logLine.ts"

/**
 * What the log says of a reply that carries data to the client (ops 10, 40,
 * 50 and 20), by the rule of PROTOCOL.md §7: `ok` only when the client is
 * known to have it all, `cortado` otherwise, and `bytes` the file bytes known
 * delivered. After the last byte the server sends FIN and waits for the
 * client's end (`Wire.finish`): its orderly close says it read everything; a
 * reset says it did not, or not that it did. The system's queue is read only
 * where a deadline passed, never on the common path.
 */

/** The reply did not reach the client whole: `unacknowledged` (when known) comes off the bytes written. */
const cutShort = (record: OperationRecord, result: string, unacknowledged: number | undefined): void => {
  // A refusal (op 50's limit) stays what it was: the result tells the operation, not its delivery.
  if (record.result !== "ok") return
  record.result = result
  record.bytes = Math.max(0, record.bytes - (unacknowledged ?? 0))
}

const broken = (record: OperationRecord, failure: ConnectionFailure, unacknowledged: number | undefined): void => {
  cutShort(record, CUT_BROKEN, unacknowledged)
  const cause = socketCause(failure)
  if (cause !== undefined) record.cause = cause
}

const settle = (record: OperationRecord, ending: Ending): void => {
  switch (ending._tag) {
    case "Closed":
    case "Acknowledged":
      return
    case "Broken":
      return broken(record, ending.failure, ending.unacknowledged)
    case "Stalled":
      return cutShort(record, CUT_STALLED, ending.unacknowledged)
  }
}

/**
 * Runs `reply` and settles its log line. A connection that breaks or stalls
 * while the reply is being written is the same outcome a moment earlier, and
 * ends the operation as a `cortado` line rather than a failure: a stall is
 * looked at once (its deadline passed) and cut, so what was not delivered
 * never is.
 */
export const delivering = <E extends OperationError, R>(
  exchange: Exchange,
  reply: Effect.Effect<void, E, R>
): Effect.Effect<void, E, R> =>
  Effect.matchEffect(reply, {
    onSuccess: () => Effect.map(exchange.wire.finish, (ending) => settle(exchange.record, ending)),
    onFailure: (error) => {
      if (error._tag === "ConnectionFailure") return Effect.sync(() => broken(exchange.record, error, undefined))
      if (error._tag === "Timeout" && error.phase === "Idle") {
        cutShort(exchange.record, CUT_STALLED, exchange.wire.unacknowledged())
        return exchange.wire.abort
      }
      return Effect.fail(error)
    }
  })

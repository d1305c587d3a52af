import * as Effect from "effect/Effect"
import type { ConnectionFailure } from "../../domain/errors.ts"
import type { OperationError } from "../../domain/statuses.ts"
import type { Ending } from "../../services/transport/Transport.ts"
import type { Exchange } from "./exchange.ts"
import { CUT_BROKEN, CUT_STALLED, socketCause } from "./logLine.ts"

/**
 * What the log says of a reply that carries files to the client (ops 10, 40
 * and 50), by the rule of PROTOCOL.md §7: `ok` only when the client is
 * known to have it all, `cortado` otherwise, and then `bytes` are the file
 * bytes known delivered. After the last byte the server sends FIN and waits
 * for the client's end (`Wire.finish`): its orderly close says it read
 * everything; a reset says it did not, or not that it did. The system's
 * queue is read only for a slow client or past a deadline, never on the
 * common path.
 */

/** The reply did not reach the client whole: the bytes not known to have arrived come off the count. */
const cutShort = (exchange: Exchange, result: string): void => {
  const record = exchange.record
  // A refusal (op 50's limit) stays what it was: the result tells the operation, not its delivery.
  if (record.result !== "ok") return
  record.result = result
  record.bytes = Math.max(0, record.bytes - exchange.wire.unconfirmed())
}

const broken = (exchange: Exchange, failure: ConnectionFailure): void => {
  cutShort(exchange, CUT_BROKEN)
  const cause = socketCause(failure)
  if (cause !== undefined) exchange.record.cause = cause
}

const settle = (exchange: Exchange, ending: Ending): void => {
  switch (ending._tag) {
    case "Closed":
    case "Acknowledged":
      return
    case "Broken":
      return broken(exchange, ending.failure)
    case "Stalled":
      return cutShort(exchange, CUT_STALLED)
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
    onSuccess: () => Effect.map(exchange.wire.finish(), (ending) => settle(exchange, ending)),
    onFailure: (error) => {
      if (error._tag === "ConnectionFailure") return Effect.sync(() => broken(exchange, error))
      if (error._tag === "Timeout" && error.phase === "Idle") {
        return Effect.zipRight(
          Effect.sync(() => {
            exchange.wire.unacknowledged()
            cutShort(exchange, CUT_STALLED)
          }),
          exchange.wire.abort
        )
      }
      return Effect.fail(error)
    }
  })

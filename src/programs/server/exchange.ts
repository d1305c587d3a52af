import { Effect, Stream } from "effect"
import { encodeStatus } from "../../domain/encode.ts"
import type { ClientEvent } from "../../domain/messages.ts"
import { type OperationError, statusFor, type StatusPoint } from "../../domain/statuses.ts"
import type { Wire } from "../wire.ts"

/** What one operation did, for its log line. */
export interface OperationRecord {
  op: string
  name: string
  bytes: number
  result: string
}

export interface Exchange {
  readonly wire: Wire<ClientEvent>
  readonly record: OperationRecord
}

/**
 * Runs the step that decides a status byte; if it fails, the peer is told
 * the status `statusFor` maps the failure to, and the failure goes on.
 */
export const deciding = <A, E extends OperationError, R>(
  exchange: Exchange,
  point: StatusPoint,
  step: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.tapError(step, (error) => {
    const status = statusFor(error, point)
    return status === undefined ? Effect.void : Effect.ignore(exchange.wire.send(encodeStatus(status)))
  })

/**
 * Sends a stream of file chunks, counting the bytes for the log. The next
 * chunk is read while the current one goes out (one chunk of read-ahead).
 */
export const sendAll = <E, R>(exchange: Exchange, chunks: Stream.Stream<Uint8Array, E, R>) =>
  Stream.runForEach(Stream.buffer(chunks, { capacity: 1 }), (chunk) =>
    exchange.wire.send(chunk).pipe(Effect.tap(() => (exchange.record.bytes += chunk.length)))
  )

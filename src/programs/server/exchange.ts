import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { concat, encodeStatus } from "../../domain/encode.ts"
import type { ClientEvent } from "../../domain/messages.ts"
import type { ReadableFile } from "../../services/FileStore.ts"
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

/** A first chunk up to this size goes out in the same write as its header. */
const COALESCE = 64 * 1024

/**
 * Sends a header and then the bytes [from, from + length) of a file, counting
 * them for the log. A small range is read at once and shares one write with
 * the header (one segment on the wire, and none of a stream's machinery,
 * which dominated the cost of serving a small file); a large one streams.
 */
export const sendRange = (exchange: Exchange, header: Uint8Array, file: ReadableFile, from: number, length: number) =>
  length <= COALESCE
    ? Effect.flatMap(file.read(from, length), (bytes) =>
        Effect.tap(exchange.wire.send(concat([header, bytes])), () => (exchange.record.bytes += bytes.length))
      )
    : sendAll(exchange, header, file.chunks(from, length))

/** Sends a header and then a stream of chunks; a small first chunk shares the header's write. */
const sendAll = <E, R>(exchange: Exchange, header: Uint8Array, chunks: Stream.Stream<Uint8Array, E, R>) => {
  let pending: Uint8Array | undefined = header
  return Stream.runForEach(chunks, (chunk) => {
    const head = pending
    pending = undefined
    const out =
      head === undefined
        ? exchange.wire.send(chunk)
        : chunk.length <= COALESCE
          ? exchange.wire.send(concat([head, chunk]))
          : Effect.zipRight(exchange.wire.send(head), exchange.wire.send(chunk))
    return Effect.tap(out, () => (exchange.record.bytes += chunk.length))
  }).pipe(Effect.zipRight(Effect.suspend(() => (pending === undefined ? Effect.void : exchange.wire.send(pending)))))
}

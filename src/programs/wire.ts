import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { Decoder, type Grammar } from "../domain/decoder.ts"
import { type ConnectionFailure, type ProtocolViolation, Timeout } from "../domain/errors.ts"
import type { ByteSink } from "../services/ByteSink.ts"
import type { ByteSource } from "../services/ByteSource.ts"
import type { Connection } from "../services/Transport.ts"

/**
 * One side of an exchange: a connection, the decoder of what the peer sends,
 * and the idle deadline on every read and write (a transfer that stops moving
 * for that long fails with `Timeout`).
 */
export interface Wire<E> {
  /** The next event from the peer. */
  readonly next: Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout>
  /**
   * The next event within a deadline, however many segments it takes. An
   * event already here is decoded at once; otherwise each wait gets what is
   * left of the deadline, kept by the connection's own timer (no fiber).
   */
  readonly nextWithin: (
    phase: Timeout["phase"],
    seconds: number
  ) => Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout>
  /** Sends bytes; `label` names the field for `--trace` (unlabelled bytes are file data). */
  readonly send: (bytes: Uint8Array, label?: string) => Effect.Effect<void, ConnectionFailure | Timeout>
  /**
   * Moves the body being received into `sink`: the bytes already decoded or
   * buffered first, then the rest straight from the socket, without a fiber
   * step per segment. The events after the body (its end) stay for `next`.
   * `dataOf` tells a body event's bytes.
   */
  readonly passBody: <X>(
    sink: ByteSink<X>,
    dataOf: (event: E) => Uint8Array | undefined
  ) => Effect.Effect<void, X | ProtocolViolation | ConnectionFailure | Timeout>
  /**
   * Sends `length` bytes of file data from `source`, each stall of the socket
   * bounded by the idle deadline; `onSent` counts the bytes as they go.
   */
  readonly sendFrom: <E>(
    source: ByteSource<E>,
    length: number,
    onSent?: (bytes: number) => void
  ) => Effect.Effect<void, E | ConnectionFailure | Timeout>
}

export const withDeadline =
  (phase: Timeout["phase"], seconds: number) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | Timeout, R> =>
    Effect.timeoutFail(effect, {
      duration: Duration.seconds(seconds),
      onTimeout: () => new Timeout({ phase, seconds })
    })

const EMPTY = new Uint8Array(0)

/** Bytes already in memory as a source: its one fill finds them in place. */
const bytesSource = (bytes: Uint8Array): ByteSource<never> => ({
  buffer: bytes,
  fill: (into) => Either.right(into.length)
})

export const makeWire = <E>(connection: Connection, grammar: Grammar<E>, idleSeconds: number): Wire<E> => {
  const decoder = new Decoder(grammar)
  const ready: Array<E> = []
  const idleTimeout = () => new Timeout({ phase: "Idle", seconds: idleSeconds })
  // Reads are where a transfer waits most: their deadline is kept by the
  // connection's own timer, not by a forked one per wait (measured: 8-10%
  // less server CPU receiving 1 GiB), and a segment already queued is taken
  // without any.
  /** The next segment, waiting at most `millis` for it (a segment already queued is taken at once). */
  const segmentWithin = <X>(millis: number, onTimeout: () => X) =>
    Effect.suspend(() => {
      const now = connection.readNow()
      return now === undefined ? connection.readWithin(millis, onTimeout) : Effect.succeed(now)
    })
  /** Feeds one segment (or the end) to the decoder. */
  const fillWith = <X>(
    segment: Effect.Effect<Option.Option<Uint8Array>, ConnectionFailure | X>
  ): Effect.Effect<void, ProtocolViolation | ConnectionFailure | X> =>
    Effect.flatMap(
      segment,
      Option.match({
        onNone: () => Either.match(decoder.end(), { onLeft: Effect.fail, onRight: () => Effect.void }),
        onSome: (bytes) =>
          Either.match(decoder.feed(bytes), {
            onLeft: Effect.fail,
            onRight: (events) => Effect.sync(() => ready.push(...events))
          })
      })
    )
  /** The next event, reading with `fill` as often as needed. */
  const nextWith = (
    fill: Effect.Effect<void, ProtocolViolation | ConnectionFailure | Timeout>
  ): Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout> =>
    Effect.suspend(function loop(): Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout> {
      const event = ready.shift()
      if (event !== undefined) return Effect.succeed(event)
      if (decoder.isDone) return Effect.dieMessage("read past the end of a complete message")
      return Effect.flatMap(fill, loop)
    })
  const next: Wire<E>["next"] = nextWith(fillWith(segmentWithin(idleSeconds * 1000, idleTimeout)))
  /** Decodes what has already arrived, without waiting; undefined when that is not enough. */
  const poll = (): Either.Either<E | undefined, ProtocolViolation> => {
    for (;;) {
      const event = ready.shift()
      if (event !== undefined) return Either.right(event)
      if (decoder.isDone) return Either.right(undefined)
      const segment = connection.readNow()
      if (segment === undefined || Option.isNone(segment)) return Either.right(undefined)
      const fed = decoder.feed(segment.value)
      if (Either.isLeft(fed)) return Either.left(fed.left)
      ready.push(...fed.right)
    }
  }
  return {
    next,
    nextWithin: (phase, seconds) =>
      Effect.suspend(() => {
        const polled = poll()
        if (Either.isLeft(polled)) return Effect.fail(polled.left)
        if (polled.right !== undefined) return Effect.succeed(polled.right)
        // The whole event within `seconds`, however many segments it takes. Each wait gets
        // what is left, kept by the connection's own timer: a deadline raced by a forked
        // timer per request was most of the cost of serving a small file.
        const deadline = performance.now() + seconds * 1000
        const onTimeout = () => new Timeout({ phase, seconds })
        return nextWith(
          fillWith(Effect.suspend(() => segmentWithin(Math.max(0, deadline - performance.now()), onTimeout)))
        )
      }),
    send: (bytes) =>
      Effect.suspend(() => {
        const taken = connection.writeNow(bytes)
        if (taken >= bytes.length) return Effect.void
        // The rest goes out like file data: the idle deadline bounds each stall, not the write.
        const rest = bytes.subarray(taken)
        return connection.sendFrom(bytesSource(rest), {
          length: rest.length,
          idleMillis: idleSeconds * 1000,
          onIdle: idleTimeout
        })
      }),
    passBody: <X>(sink: ByteSink<X>, dataOf: (event: E) => Uint8Array | undefined) =>
      Effect.gen(function* () {
        for (;;) {
          while (ready.length > 0) {
            const bytes = dataOf(ready[0]!)
            if (bytes === undefined) return
            ready.shift()
            const written = sink.write(bytes)
            if (Either.isLeft(written)) return yield* Effect.fail(written.left)
          }
          if (!decoder.inBody) return
          const expected = decoder.passing
          if (expected > 0) {
            const moved = yield* connection.receiveInto(sink, {
              length: expected,
              idleMillis: idleSeconds * 1000,
              onIdle: idleTimeout
            })
            decoder.skip(moved)
            if (moved < expected)
              return yield* Either.match(decoder.end(), { onLeft: Effect.fail, onRight: () => Effect.void })
          }
          const fed = decoder.feed(EMPTY)
          if (Either.isLeft(fed)) return yield* Effect.fail(fed.left)
          ready.push(...fed.right)
        }
      }),
    sendFrom: (source, length, onSent) =>
      connection.sendFrom(source, {
        length,
        idleMillis: idleSeconds * 1000,
        onIdle: idleTimeout,
        onSent
      })
  }
}

import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { Decoder, type Grammar } from "../domain/decoder.ts"
import { ConnectionFailure, type ProtocolViolation, Timeout } from "../domain/errors.ts"
import type { ByteSink } from "../services/ByteSink.ts"
import type { ByteSource } from "../services/ByteSource.ts"
import type { Connection, Ending } from "../services/transport/Transport.ts"

/**
 * One side of an exchange: a connection, the decoder of what the peer sends,
 * and the idle deadline on every read and write (a transfer that stops moving
 * for that long fails with `Timeout`).
 */
export interface Wire<E> {
  /** The next event from the peer. */
  readonly next: Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout>
  /**
   * The next event within `seconds` of `since` (Clock milliseconds; by
   * default now), however many segments it takes. An event already here is
   * decoded at once, even past the deadline; otherwise each wait gets what
   * is left of it, kept by the transport's watchdog (no fiber, no timer).
   */
  readonly nextWithin: (
    phase: Timeout["phase"],
    seconds: number,
    since?: number
  ) => Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout>
  /** The peer's message was read whole: the decoder has every byte it expects. */
  readonly complete: () => boolean
  /** The first bytes the peer sent (up to the `headBytes` the wire was made with), for a log line. */
  readonly head: () => Uint8Array
  /** Drops the connection with a reset: what was written and not delivered never is (`Connection.abort`). */
  readonly abort: Effect.Effect<void>
  /** Bytes written that the peer has not acknowledged (`Connection.unacknowledged`). */
  readonly unacknowledged: () => number | undefined
  /** Bytes written not known to have been acknowledged, without asking the system (`Connection.unconfirmed`). */
  readonly unconfirmed: () => number
  /** After the last byte: FIN, then the peer's end within the idle deadline (`Connection.finish`). */
  readonly finish: () => Effect.Effect<Ending>
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

export interface WireOptions {
  /** Idle deadline of every read and write. */
  readonly idleSeconds: number
  /** The clock deadlines count on (the fiber's own, so a TestClock drives them). */
  readonly clock: Clock.Clock
  /** How many of the peer's first bytes `head` keeps (0 by default). */
  readonly headBytes?: number
}

export const makeWire = <E>(connection: Connection, grammar: Grammar<E>, options: WireOptions): Wire<E> => {
  const { idleSeconds, clock, headBytes = 0 } = options
  const decoder = new Decoder(grammar)
  const ready: Array<E> = []
  const idle = { millis: idleSeconds * 1000, onIdle: () => new Timeout({ phase: "Idle", seconds: idleSeconds }) }
  let head = EMPTY
  const keep = (bytes: Uint8Array) => {
    const more = bytes.subarray(0, headBytes - head.length)
    const joined = new Uint8Array(head.length + more.length)
    joined.set(head)
    joined.set(more, head.length)
    head = joined
  }
  /** Feeds one segment (None: the end) to the decoder: the violation it found, if any. */
  const feed = (segment: Option.Option<Uint8Array>): ProtocolViolation | undefined => {
    if (Option.isNone(segment)) {
      const ended = decoder.end()
      return Either.isLeft(ended) ? ended.left : undefined
    }
    if (head.length < headBytes) keep(segment.value)
    const events = decoder.feed(segment.value)
    if (Either.isLeft(events)) return events.left
    for (const event of events.right) ready.push(event)
    return undefined
  }
  /** Feeds the segment `read` waits for. */
  const fillWith = <X>(
    read: Effect.Effect<Option.Option<Uint8Array>, ConnectionFailure | X>
  ): Effect.Effect<void, ProtocolViolation | ConnectionFailure | X> =>
    Effect.flatMap(read, (segment) => {
      const violation = feed(segment)
      return violation === undefined ? Effect.void : Effect.fail(violation)
    })
  /**
   * The next event. What already arrived is decoded in this one step; a
   * read that waits (`fill()`, made only then) runs when that is not enough.
   */
  const nextEvent = (
    fill: () => Effect.Effect<void, ProtocolViolation | ConnectionFailure | Timeout>
  ): Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout> => {
    for (;;) {
      const event = ready.shift()
      if (event !== undefined) return Effect.succeed(event)
      if (decoder.isDone) return Effect.dieMessage("read past the end of a complete message")
      const segment = connection.poll()
      if (segment === undefined) return Effect.flatMap(fill(), () => nextEvent(fill))
      if (segment instanceof ConnectionFailure) return Effect.fail(segment)
      const violation = feed(segment)
      if (violation !== undefined) return Effect.fail(violation)
    }
  }
  const fillIdle = () => fillWith(connection.read(idle))
  return {
    next: Effect.suspend(() => nextEvent(fillIdle)),
    nextWithin: (phase, seconds, since) =>
      Effect.suspend(() => {
        // The whole event within `seconds`, however many segments it takes: each wait gets
        // what is left, kept by the transport's watchdog (a deadline raced by a forked timer
        // per request would cost more than the rest of a small operation).
        const deadline = (since ?? clock.unsafeCurrentTimeMillis()) + seconds * 1000
        const onIdle = () => new Timeout({ phase, seconds })
        return nextEvent(() =>
          fillWith(connection.read({ millis: Math.max(0, deadline - clock.unsafeCurrentTimeMillis()), onIdle }))
        )
      }),
    head: () => head,
    complete: () => decoder.isDone,
    get abort() {
      return connection.abort
    },
    unacknowledged: () => connection.unacknowledged(),
    unconfirmed: () => connection.unconfirmed(),
    finish: () => connection.finish(idle.millis),
    send: (bytes) => connection.write(bytes, idle),
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
              millis: idle.millis,
              onIdle: idle.onIdle
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
        millis: idle.millis,
        onIdle: idle.onIdle,
        onSent
      })
  }
}

import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { Decoder, type Grammar } from "../domain/decoder.ts"
import { ConnectionFailure, type ProtocolViolation, Timeout } from "../domain/errors.ts"
import type { ByteSink } from "../services/ByteSink.ts"
import type { ByteSource } from "../services/ByteSource.ts"
import type { Connection, Ending, Within } from "../services/transport/Transport.ts"

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

/**
 * A wire over a connection. A class, not an object of closures: a server
 * makes one per connection, and its methods are then shared.
 */
class ConnectionWire<E> implements Wire<E> {
  private readonly decoder: Decoder<E>
  private readonly ready: Array<E> = []
  private readonly idle: Within<Timeout>
  private readonly headBytes: number
  private readonly clock: Clock.Clock
  private kept: Uint8Array = EMPTY

  constructor(
    private readonly connection: Connection,
    grammar: Grammar<E>,
    options: WireOptions
  ) {
    const { idleSeconds } = options
    this.decoder = new Decoder(grammar)
    this.clock = options.clock
    this.headBytes = options.headBytes ?? 0
    this.idle = { millis: idleSeconds * 1000, onIdle: () => new Timeout({ phase: "Idle", seconds: idleSeconds }) }
  }

  private keep(bytes: Uint8Array): void {
    const more = bytes.subarray(0, this.headBytes - this.kept.length)
    const joined = new Uint8Array(this.kept.length + more.length)
    joined.set(this.kept)
    joined.set(more, this.kept.length)
    this.kept = joined
  }

  /** Feeds one segment (None: the end) to the decoder: the violation it found, if any. */
  private feed(segment: Option.Option<Uint8Array>): ProtocolViolation | undefined {
    if (Option.isNone(segment)) {
      const ended = this.decoder.end()
      return Either.isLeft(ended) ? ended.left : undefined
    }
    if (this.kept.length < this.headBytes) this.keep(segment.value)
    const events = this.decoder.feed(segment.value)
    if (Either.isLeft(events)) return events.left
    for (const event of events.right) this.ready.push(event)
    return undefined
  }

  /** Feeds the segment `read` waits for. */
  private fillWith<X>(
    read: Effect.Effect<Option.Option<Uint8Array>, ConnectionFailure | X>
  ): Effect.Effect<void, ProtocolViolation | ConnectionFailure | X> {
    return Effect.flatMap(read, (segment) => {
      const violation = this.feed(segment)
      return violation === undefined ? Effect.void : Effect.fail(violation)
    })
  }

  /**
   * The next event. What already arrived is decoded in this one step; a
   * read that waits (`fill()`, made only then) runs when that is not enough.
   */
  private nextEvent(
    fill: () => Effect.Effect<void, ProtocolViolation | ConnectionFailure | Timeout>
  ): Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout> {
    for (;;) {
      const event = this.ready.shift()
      if (event !== undefined) return Effect.succeed(event)
      if (this.decoder.isDone) return Effect.dieMessage("read past the end of a complete message")
      const segment = this.connection.poll()
      if (segment === undefined) return Effect.flatMap(fill(), () => this.nextEvent(fill))
      if (segment instanceof ConnectionFailure) return Effect.fail(segment)
      const violation = this.feed(segment)
      if (violation !== undefined) return Effect.fail(violation)
    }
  }

  /** Made on first use: a server's request is read with `nextWithin`, and most connections never need it. */
  private nextIdle: Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout> | undefined

  get next(): Effect.Effect<E, ProtocolViolation | ConnectionFailure | Timeout> {
    this.nextIdle ??= Effect.suspend(() => this.nextEvent(() => this.fillWith(this.connection.read(this.idle))))
    return this.nextIdle
  }

  nextWithin(phase: Timeout["phase"], seconds: number, since?: number) {
    return Effect.suspend(() => {
      // The whole event within `seconds`, however many segments it takes: each wait gets
      // what is left, kept by the transport's watchdog (a deadline raced by a forked timer
      // per request would cost more than the rest of a small operation).
      const clock = this.clock
      const deadline = (since ?? clock.unsafeCurrentTimeMillis()) + seconds * 1000
      const onIdle = () => new Timeout({ phase, seconds })
      return this.nextEvent(() =>
        this.fillWith(this.connection.read({ millis: Math.max(0, deadline - clock.unsafeCurrentTimeMillis()), onIdle }))
      )
    })
  }

  head(): Uint8Array {
    return this.kept
  }

  complete(): boolean {
    return this.decoder.isDone
  }

  get abort(): Effect.Effect<void> {
    return this.connection.abort
  }

  unacknowledged(): number | undefined {
    return this.connection.unacknowledged()
  }

  unconfirmed(): number {
    return this.connection.unconfirmed()
  }

  finish(): Effect.Effect<Ending> {
    return this.connection.finish(this.idle.millis)
  }

  send(bytes: Uint8Array): Effect.Effect<void, ConnectionFailure | Timeout> {
    return this.connection.write(bytes, this.idle)
  }

  passBody<X>(
    sink: ByteSink<X>,
    dataOf: (event: E) => Uint8Array | undefined
  ): Effect.Effect<void, X | ProtocolViolation | ConnectionFailure | Timeout> {
    const { ready, decoder, connection, idle } = this
    return Effect.gen(function* () {
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
    })
  }

  sendFrom<X>(
    source: ByteSource<X>,
    length: number,
    onSent?: (bytes: number) => void
  ): Effect.Effect<void, X | ConnectionFailure | Timeout> {
    return this.connection.sendFrom(source, { length, millis: this.idle.millis, onIdle: this.idle.onIdle, onSent })
  }
}

/**
 * A wire whose every member is `wire`'s, as plain properties: the base of a
 * wrapper that changes a few of them (spread it, then override). A wire made
 * by `makeWire` cannot be spread itself: its members are a class's methods.
 */
export const delegating = <E>(wire: Wire<E>): Wire<E> => ({
  next: wire.next,
  nextWithin: (phase, seconds, since) => wire.nextWithin(phase, seconds, since),
  complete: () => wire.complete(),
  head: () => wire.head(),
  abort: wire.abort,
  unacknowledged: () => wire.unacknowledged(),
  unconfirmed: () => wire.unconfirmed(),
  finish: () => wire.finish(),
  send: (bytes, label) => wire.send(bytes, label),
  passBody: (sink, dataOf) => wire.passBody(sink, dataOf),
  sendFrom: (source, length, onSent) => wire.sendFrom(source, length, onSent)
})

export const makeWire = <E>(connection: Connection, grammar: Grammar<E>, options: WireOptions): Wire<E> =>
  new ConnectionWire(connection, grammar, options)

import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { ConnectionFailure } from "../../domain/errors.ts"
import type { ByteSink } from "../ByteSink.ts"
import type { ByteSource } from "../ByteSource.ts"

/** The longest wait for the peer, and the error it ends in. */
export interface Within<E> {
  readonly millis: number
  readonly onIdle: () => E
}

export interface ReceiveIntoOptions<E> extends Within<E> {
  /** Bytes to hand to the sink; what arrives after them stays queued for `read`. */
  readonly length: number
}

export interface SendFromOptions<E> extends Within<E> {
  /** Bytes to send, pulled from the source as the socket takes them. */
  readonly length: number
  /** Called with the count of bytes the socket took, as they go. */
  readonly onSent?: ((bytes: number) => void) | undefined
}

/**
 * One TCP connection. The transport only moves bytes: reads hand over
 * whatever segment arrived; writes finish when every byte was taken by the
 * system. Every wait on the peer may be bounded (`Within`): a wait that sees
 * no progress for that long fails with the caller's error. The connection
 * lives in a scope, and closing the scope closes it.
 */
export interface Connection extends Peer {
  /** Next segment from the peer, or None once the peer has closed. */
  readonly read: <E = never>(within?: Within<E>) => Effect.Effect<Option.Option<Uint8Array>, ConnectionFailure | E>
  /** Sends every byte; `within` bounds each stall of the socket, not the whole write. */
  readonly write: <E = never>(bytes: Uint8Array, within?: Within<E>) => Effect.Effect<void, ConnectionFailure | E>
  /**
   * Hands the next `length` bytes to `sink` as they arrive, with one fiber
   * step for the whole transfer. Returns how many were handed over: fewer
   * only when the peer closed first. A failure of the sink or of the socket
   * ends it; so does a wait longer than `millis` for the next segment.
   */
  readonly receiveInto: <E1, E2>(
    sink: ByteSink<E1>,
    options: ReceiveIntoOptions<E2>
  ) => Effect.Effect<number, ConnectionFailure | E1 | E2>
  /**
   * Sends `length` bytes from `source` with one fiber step for the whole
   * transfer. A failure of the source or of the socket ends it; so does a
   * stall longer than `millis` (the deadline bounds each stall, not the
   * transfer, which may take hours).
   */
  readonly sendFrom: <E1, E2>(
    source: ByteSource<E1>,
    options: SendFromOptions<E2>
  ) => Effect.Effect<void, ConnectionFailure | E1 | E2>
  /**
   * Ends the connection now: the peer gets what was written, then FIN; what
   * it still sends is dropped. Closing the scope does the same.
   */
  readonly close: Effect.Effect<void>
}

/** Who is on the other end of a connection. */
export interface Peer {
  /** "address:port", for logs. */
  readonly remote: string
  /** The address alone (IPv4-mapped IPv6 shown as IPv4). */
  readonly address: string
  /** When the connection was made or accepted, in `Clock` milliseconds: deadlines of a request count from it. */
  readonly openedAt: number
}

/** A quick answer: the reply, then the body if there is one; then the connection is closed. */
export interface QuickAnswer<E> {
  readonly reply: Uint8Array
  /** Sent after `reply` as `sendFrom` sends (a file too large for one write). */
  readonly body?: QuickBody<E> | undefined
  /** Bounds each stall of the reply and the body, when the socket does not take them at once. */
  readonly within: Within<E>
  /**
   * Told how the reply went (interrupted: a shutdown cut it), just before the
   * connection is closed: what it logs is out before the peer sees the end.
   */
  readonly done: (outcome: Exit.Exit<void, ConnectionFailure | E>) => void
}

/** The body of a quick answer: `length` bytes pulled from `source`, counted by `onSent` as they go. */
export interface QuickBody<E> {
  readonly source: ByteSource<E>
  readonly length: number
  readonly onSent: (bytes: number) => void
}

/**
 * Serving a connection without a fiber, in the socket's own callbacks, when
 * its first segment is all it takes. `admit` is asked as the connection is
 * accepted (the limits); `answer` is given the first segment and returns the
 * reply (and a body to send after it), or undefined to leave the connection
 * to `handle`, which then reads that segment as if nothing had happened. A
 * connection that is not admitted, whose first segment does not come within
 * `firstSegmentMillis`, or that ends first goes to `handle` too; one that was
 * admitted is `release`d before. On shutdown, replies still going out get
 * the grace period the fibers get, and are then cut.
 */
export interface Quick<E> {
  readonly firstSegmentMillis: number
  readonly admit: (peer: Peer) => boolean
  readonly release: (peer: Peer) => void
  readonly answer: (peer: Peer, first: Uint8Array) => QuickAnswer<E> | undefined
}

export interface ListenOptions<E = never> {
  readonly hostname: string
  readonly port: number
  /** On close: how long connections in flight may take before being interrupted. */
  readonly graceMillis: number
  readonly quick?: Quick<E> | undefined
}

export interface Listener {
  readonly hostname: string
  readonly port: number
}

export interface TransportService {
  readonly connect: (host: string, port: number) => Effect.Effect<Connection, ConnectionFailure, Scope.Scope>
  /**
   * Accepts connections until the scope closes; each one runs `handle` in its
   * own fiber and scope, so one client's failure never reaches another.
   */
  readonly serve: <R, E = never>(
    options: ListenOptions<E>,
    handle: (connection: Connection) => Effect.Effect<void, never, R | Scope.Scope>
  ) => Effect.Effect<Listener, ConnectionFailure, Scope.Scope | Exclude<R, Scope.Scope>>
}

export class Transport extends Context.Tag("Transport")<Transport, TransportService>() {}

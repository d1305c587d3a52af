import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { ConnectionFailure } from "../domain/errors.ts"
import type { ByteSink } from "./ByteSink.ts"
import type { ByteSource } from "./ByteSource.ts"

export interface ReceiveIntoOptions<E> {
  /** Bytes to hand to the sink; what arrives after them stays queued for `read`. */
  readonly length: number
  /** Longest wait for the next segment; then the receive fails with `onIdle()`. */
  readonly idleMillis: number
  readonly onIdle: () => E
}

export interface SendFromOptions<E> {
  /** Bytes to send, pulled from the source as the socket takes them. */
  readonly length: number
  /** Longest wait for the socket to take more; then the send fails with `onIdle()`. */
  readonly idleMillis: number
  readonly onIdle: () => E
  /** Called with the count of bytes the socket took, as they go. */
  readonly onSent?: ((bytes: number) => void) | undefined
}

/**
 * The transport only moves bytes. Reads hand over whatever segment arrived;
 * writes finish when every byte was taken by the system. Each connection
 * lives in a scope, and closing the scope closes the connection.
 */
export interface Connection {
  /** "address:port" of the peer, for logs. */
  readonly remote: string
  /** The peer's address alone (IPv4-mapped IPv6 shown as IPv4). */
  readonly address: string
  /** Next segment from the peer, or None once the peer has closed. */
  readonly read: Effect.Effect<Option.Option<Uint8Array>, ConnectionFailure>
  /**
   * `read`, failing with `onIdle()` when nothing arrives within `idleMillis`.
   * The deadline costs no fiber: one timer per connection watches the waits.
   */
  readonly readWithin: <E>(
    idleMillis: number,
    onIdle: () => E
  ) => Effect.Effect<Option.Option<Uint8Array>, ConnectionFailure | E>
  /** Sends every byte, waiting for the socket to drain as often as needed. */
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, ConnectionFailure>
  /**
   * Fast paths that never wait, so callers can skip the cost of a deadline
   * when nothing has to be waited for. `readNow`: a queued segment, None at
   * the end, or undefined when `read` would wait (or has a failure to
   * report). `writeNow`: how many bytes the socket took right away.
   */
  readonly readNow: () => Option.Option<Uint8Array> | undefined
  readonly writeNow: (bytes: Uint8Array) => number
  /**
   * Hands the next `length` bytes to `sink` as they arrive, from the socket's
   * own callbacks, with one fiber step for the whole transfer. Returns how
   * many were handed over: fewer only when the peer closed first. A failure
   * of the sink or of the socket ends it; so does a wait longer than
   * `idleMillis` for the next segment.
   */
  readonly receiveInto: <E1, E2>(
    sink: ByteSink<E1>,
    options: ReceiveIntoOptions<E2>
  ) => Effect.Effect<number, ConnectionFailure | E1 | E2>
  /**
   * Sends `length` bytes from `source`, driven by the socket's own callbacks:
   * fill the buffer, write, wait for drain, and again, with one fiber step
   * for the whole transfer instead of one per chunk. A failure of the source
   * or of the socket ends it; so does a wait longer than `idleMillis` (the
   * deadline bounds each stall, not the transfer, which may take hours).
   */
  readonly sendFrom: <E1, E2>(
    source: ByteSource<E1>,
    options: SendFromOptions<E2>
  ) => Effect.Effect<void, ConnectionFailure | E1 | E2>
}

export interface ListenOptions {
  readonly hostname: string
  readonly port: number
  /** On close: how long connections in flight may take before being interrupted. */
  readonly graceMillis: number
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
  readonly serve: <R>(
    options: ListenOptions,
    handle: (connection: Connection) => Effect.Effect<void, never, R | Scope.Scope>
  ) => Effect.Effect<Listener, ConnectionFailure, Scope.Scope | Exclude<R, Scope.Scope>>
}

export class Transport extends Context.Tag("Transport")<Transport, TransportService>() {}

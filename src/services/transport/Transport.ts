import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
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
  /**
   * A segment already received (None: the peer has closed; a failure: the
   * connection broke), taken without waiting; undefined when `read` would
   * wait. Lets a reader decode what is already here in the step it is in.
   */
  readonly poll: () => Option.Option<Uint8Array> | ConnectionFailure | undefined
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
  /**
   * Drops the connection now, with a reset: bytes written and not yet
   * delivered are never delivered, and the peer sees the connection broken,
   * not ended. Closing the scope afterwards does nothing more.
   */
  readonly abort: Effect.Effect<void>
  /**
   * Bytes this side wrote that the peer has not acknowledged yet (the
   * system's send queue); 0 once everything written reached the peer's
   * system; undefined where the system does not say. Each call asks the
   * system (on Linux, a read of /proc/net/tcp): for a wait past a deadline,
   * never for every connection.
   */
  readonly unacknowledged: () => number | undefined
  /**
   * Bytes written that the peer is not known to have acknowledged: all of
   * them, less what the system said was acknowledged at its last look
   * (`unacknowledged`, or the transport's own looks at a slow peer). No
   * system call: a count that only lags, never one too small.
   */
  readonly unconfirmed: () => number
  /**
   * After this side's last byte: ends its sending (the peer gets what was
   * written, then FIN) and waits for the peer's own end, which tells what
   * reached it (`Ending`). What the peer still sends is dropped. The wait is
   * bounded as a read is: `millis` without progress, where the peer
   * acknowledging bytes is progress. A peer that ends within a probe
   * interval (pumps.ts) costs no look at the system's queue; a slower one is
   * looked at once per interval, so a reset, which throws the system's count
   * away, still finds the last one. Closing the connection afterwards does
   * nothing more.
   */
  readonly finish: (millis: number) => Effect.Effect<Ending>
}

/** How the peer ended a connection after this side's last byte (`Connection.finish`). */
export type Ending =
  /** It closed in order (FIN) after the last byte: a peer that reads everything, then closes. */
  | { readonly _tag: "Closed" }
  /**
   * Its system acknowledged every byte, and it did not close by the
   * deadline (or had ended its sending before the last byte, so its end
   * tells nothing).
   */
  | { readonly _tag: "Acknowledged" }
  /**
   * The connection broke (a reset): the system drops what it still held,
   * and its count with it; `unconfirmed` says what had not been seen
   * acknowledged by then.
   */
  | { readonly _tag: "Broken"; readonly failure: ConnectionFailure }
  /**
   * Bytes stayed unacknowledged, not moving, for the whole deadline (or the
   * system does not say): the connection was dropped with a reset, so they
   * never arrive.
   */
  | { readonly _tag: "Stalled" }

/** Who is on the other end of a connection. */
export interface Peer {
  /** "address:port", for logs. */
  readonly remote: string
  /** The address alone (IPv4-mapped IPv6 shown as IPv4). */
  readonly address: string
  /** When the connection was made or accepted, in `Clock` milliseconds: deadlines of a request count from it. */
  readonly openedAt: number
  /**
   * Over TLS with client certificates: the subject of the certificate the
   * client presented (its CN, or the whole subject when it has none), known
   * once the handshake is done; absent otherwise.
   */
  readonly certificate?: string | undefined
}

/**
 * A listener's TLS, as plain data (the PEM text, not file names): the
 * transport stays a byte mover, and what it moves is the protocol inside TLS.
 * TLS 1.2 and 1.3 only.
 */
export interface ServerTls {
  /** The certificate chain, PEM. */
  readonly certificate: string
  /** Its private key, PEM. */
  readonly key: string
  /** CAs (PEM) a client certificate must be signed by; undefined: no client certificate is asked for. */
  readonly clientCa?: string | undefined
  /** A connection whose handshake is not done this long after it was accepted is closed. */
  readonly handshakeMillis: number
}

/** A connection's TLS, as plain data. */
export interface ClientTls {
  /** CAs (PEM) the server's certificate must be signed by; undefined: the system's CAs. */
  readonly ca?: string | undefined
  /** The name the server's certificate must hold (a host name or an IP address). */
  readonly serverName: string
  /** This client's certificate chain and key (PEM), for a server that asks for one. */
  readonly certificate?: string | undefined
  readonly key?: string | undefined
}

export interface ListenOptions {
  readonly hostname: string
  readonly port: number
  /** On close: how long connections in flight may take before being interrupted. */
  readonly graceMillis: number
  /**
   * A connection's handler starts when its first bytes arrive (they wait for
   * its first read), or when the peer ends or fails first, or after this
   * long without a byte: until then it costs no fiber. 0: at once.
   */
  readonly firstBytesMillis: number
  /** Undefined: plain TCP. */
  readonly tls?: ServerTls | undefined
}

export interface Listener {
  readonly hostname: string
  readonly port: number
  /**
   * New TLS settings (a renewed certificate, a new client CA) for the
   * connections accepted from now on; connections in flight keep theirs.
   * Fails, keeping the settings in use, when the new ones cannot be used.
   * Undefined on a listener without TLS.
   */
  readonly reloadTls?: ((tls: ServerTls) => Effect.Effect<void, ConnectionFailure>) | undefined
}

export interface TransportService {
  /** A connection to `host:port`; with `tls`, once its handshake is done and the server's certificate checked. */
  readonly connect: (
    host: string,
    port: number,
    tls?: ClientTls
  ) => Effect.Effect<Connection, ConnectionFailure, Scope.Scope>
  /**
   * Accepts connections until the scope closes; each one runs `handle` in its
   * own fiber (serving.ts), so one client's failure never reaches another,
   * and is closed when `handle` ends. A handler that needs a scope makes its
   * own: the listener's scope is not lent to connections.
   */
  readonly serve: <R>(
    options: ListenOptions,
    handle: (connection: Connection) => Effect.Effect<void, never, Exclude<R, Scope.Scope>>
  ) => Effect.Effect<Listener, ConnectionFailure, Scope.Scope | Exclude<R, Scope.Scope>>
}

export class Transport extends Context.Tag("Transport")<Transport, TransportService>() {}

import * as Option from "effect/Option"
import { ConnectionFailure, type ConnectionFailureReason } from "../../domain/errors.ts"
import type { SocketEnds } from "./unacknowledged.ts"

/**
 * What the pumps need of a socket: Bun's own `Socket` has exactly this shape
 * (a `write` that takes what the kernel accepts and returns the count, -1
 * once closed), and the in-memory transport of the tests implements it too.
 */
export interface Port {
  write(bytes: Uint8Array, offset: number, length: number): number
  pause(): void
  resume(): void
}

/** Pause reading once this much is queued and not yet consumed... */
const HIGH_WATER = 1024 * 1024
/** ...and resume once the queue is back under this. */
const LOW_WATER = 256 * 1024

/**
 * One connection's state between the socket's callbacks and the pumps: the
 * segments received and not yet read (the socket is paused while too many
 * are), how the connection ended, and who is waiting for what. The socket
 * callbacks call the methods in "events"; the pumps read and wait.
 */
export class SocketState {
  /** When the connection was made or accepted, in `Clock` milliseconds. */
  constructor(readonly openedAt: number) {}

  readonly queue: Array<Uint8Array> = []
  queued = 0
  paused = false
  ended = false
  closed = false
  /** Set once the owner is done: later segments are dropped, not queued. */
  discarding = false
  failure: ConnectionFailure | undefined
  onReadable: (() => void) | undefined
  onWritable: (() => void) | undefined
  /** Set while `receiveInto` runs: segments go straight to it instead of the queue. */
  onData: ((bytes: Uint8Array) => void) | undefined
  port: Port | undefined
  /** Cuts a socket that stays half-open too long after this side ended it (see BunTransport's closeSocket). */
  linger: ReturnType<typeof setTimeout> | undefined
  /** Bytes the system took from this side (every write's count). */
  sent = 0
  /**
   * Of those, how many the peer is known to have acknowledged: `sent` less
   * the system's unacknowledged count, at the last look (`confirm`). Looks
   * are rare (a deadline passed, a slow peer): between them this only lags.
   */
  confirmed = 0
  /** The connection's ports, read once when first needed (`endsOf`) and kept: a closed socket no longer reports them. */
  ends: SocketEnds | undefined
  endsOf: (() => SocketEnds) | undefined
  /**
   * Set while a new connection waits for its first event (serving.ts): called
   * once the first segment is queued, or once the connection ended, closed or
   * failed first (that is recorded).
   */
  onFirst: (() => void) | undefined

  // Events, from the socket's callbacks.

  received(bytes: Uint8Array): void {
    if (this.discarding) return
    if (this.onData !== undefined) return this.onData(bytes)
    this.queue.push(bytes)
    this.queued += bytes.length
    if (!this.paused && this.queued >= HIGH_WATER) {
      this.paused = true
      this.port?.pause()
    }
    this.wakeReader()
    this.first()
  }

  drained(): void {
    this.wakeWriter()
  }

  peerEnded(): void {
    this.ended = true
    this.first()
    this.wakeReader()
  }

  wasClosed(error?: unknown): void {
    this.ended = true
    this.closed = true
    clearTimeout(this.linger)
    this.linger = undefined
    if (error && !this.failure) this.failure = failureOf(error)
    this.first()
    this.wakeReader()
    this.wakeWriter()
  }

  failed(error: unknown): void {
    this.failure ??= failureOf(error)
    this.first()
    this.wakeReader()
    this.wakeWriter()
  }

  /** The first event of a connection that waits for one (see `onFirst`). */
  private first(): void {
    const onFirst = this.onFirst
    this.onFirst = undefined
    onFirst?.()
  }

  // For the pumps.

  /** The system said `unacknowledged` of this side's bytes are not acknowledged yet: passes it on. */
  confirm(unacknowledged: number | undefined): number | undefined {
    if (unacknowledged !== undefined) this.confirmed = Math.max(this.confirmed, this.sent - unacknowledged)
    return unacknowledged
  }

  /** A queued segment, the end (None), the failure, or undefined when a read would wait. */
  take(): Option.Option<Uint8Array> | ConnectionFailure | undefined {
    const next = this.queue.shift()
    if (next !== undefined) {
      this.queued -= next.length
      if (this.paused && this.queued <= LOW_WATER) {
        this.paused = false
        this.port?.resume()
      }
      return Option.some(next)
    }
    if (this.failure) return this.failure
    if (this.ended) return Option.none()
    return undefined
  }

  /** Puts bytes read past what a pump wanted back in front of the queue. */
  putBack(bytes: Uint8Array): void {
    this.queue.unshift(bytes)
    this.queued += bytes.length
  }

  /** The owner is done: what is queued and what still comes is dropped. */
  discard(): void {
    this.discarding = true
    this.queue.length = 0
    this.queued = 0
    if (this.paused) {
      this.paused = false
      this.port?.resume()
    }
  }

  private wakeReader(): void {
    const wake = this.onReadable
    this.onReadable = undefined
    wake?.()
  }

  private wakeWriter(): void {
    const wake = this.onWritable
    this.onWritable = undefined
    wake?.()
  }
}

/** An alert from a TLS peer that refuses this side's certificate, or asks for one (TLS 1.3 says so after the handshake). */
const CERTIFICATE_ALERT =
  /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED)/i

const reasonOf = (error: unknown): ConnectionFailureReason => {
  const code = (error as { code?: unknown } | undefined)?.code
  if (code === "EPROTO" && error instanceof Error) {
    if (CERTIFICATE_ALERT.test(error.message)) return "TlsRefused"
    if (/ALERT_PROTOCOL_VERSION|ALERT_HANDSHAKE_FAILURE/i.test(error.message)) return "TlsHandshake"
  }
  switch (code) {
    case "ECONNREFUSED":
      return "Refused"
    case "ENOTFOUND":
    case "EAI_NONAME":
    case "EAI_AGAIN":
    case "EAI_FAIL":
    case "DNSException":
      return "Unresolved"
    case "ECONNRESET":
    case "EPIPE":
      return "Reset"
    default:
      return "Io"
  }
}

/** What TLS failures the socket layer reports mean, in the words of a log line (the error itself stays the cause). */
const TLS_DETAIL: Partial<Record<ConnectionFailureReason, string>> = {
  TlsRefused: "o outro lado recusou o certificado deste lado, ou exige um",
  TlsHandshake: "o outro lado não aceitou a versão ou os parâmetros do TLS"
}

/** A socket's error as data, keeping the original for `--debug` and the server's log (one already made is kept). */
export const failureOf = (error: unknown): ConnectionFailure => {
  if (error instanceof ConnectionFailure) return error
  const reason = reasonOf(error)
  return new ConnectionFailure({
    reason,
    detail: TLS_DETAIL[reason] ?? (error instanceof Error ? error.message : String(error)),
    cause: error
  })
}

export const closedFailure = () => new ConnectionFailure({ reason: "Closed", detail: "a conexão foi fechada" })

import type { Socket, SocketHandler } from "bun"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ConnectionFailure } from "../../domain/errors.ts"
import type { ByteSink } from "../ByteSink.ts"
import type { ByteSource } from "../ByteSource.ts"
import { closeSocket, handlers, peerOfSocket } from "./bunSocket.ts"
import {
  clientCertificateRefused,
  clientHandshakeFailure,
  clientTlsOptions,
  handshakeLate,
  peerSubject,
  serverHandshakeFailure,
  serverTlsOptions,
  TlsSocketState
} from "./bunTls.ts"
import { type Finishing, finish, readSegment, receiveInto, sendFrom, unacknowledged, writeAll } from "./pumps.ts"
import { Serving } from "./serving.ts"
import { failureOf, SocketState } from "./socketState.ts"
import {
  type ClientTls,
  type Connection,
  type Listener,
  type ListenOptions,
  type ReceiveIntoOptions,
  type SendFromOptions,
  type ServerTls,
  Transport,
  type Within
} from "./Transport.ts"
import { Watchdog } from "./watchdog.ts"

/**
 * The live transport, on Bun's own TCP sockets (`Bun.listen`/`Bun.connect`).
 * The socket's callbacks only record events in the connection's state
 * (bunSocket.ts, socketState.ts); reads, writes and transfers are the pumps
 * (pumps.ts), bounded by the transport's one watchdog (watchdog.ts); each
 * accepted connection is handed to its handler by serving.ts.
 */

/** Drops the connection with a reset: what was written and not delivered never is. */
const abort = (socket: Socket<SocketState>) => {
  socket.data.discard()
  if (!socket.data.closed) socket.terminate()
}

/**
 * What `finish` does with the socket. Bun's `end()` closes the socket at once
 * (the system goes on delivering, but the peer's end is never heard);
 * `shutdown()` sends FIN and keeps it open, and the peer's FIN then closes it
 * (Bun's close callback, with no error) and a reset fails it.
 */
const finishing = (socket: Socket<SocketState>): Finishing => ({
  shutdown: () => socket.shutdown(),
  cut: () => abort(socket),
  unacknowledged: () => unacknowledged(socket.data)
})

/**
 * A connection over a Bun socket. A class, not an object of closures: a
 * server makes one per accepted connection, and its methods are shared.
 */
class BunConnection implements Connection {
  readonly remote: string
  readonly address: string
  readonly openedAt: number
  private readonly state: SocketState
  // Messages are written whole and in order; waiting to coalesce (Nagle) only adds the
  // peer's delayed-ACK time between a header and its data. A reply in one write, then
  // the end, has nothing to wait for: the option is set once a second write or a
  // transfer follows.
  private written = false
  private immediate = false

  constructor(
    private readonly socket: Socket<SocketState>,
    private readonly watchdog: Watchdog
  ) {
    const state = socket.data
    this.state = state
    state.port = socket
    // Read only when a wait needs the kernel's queue (pumps.ts): each is a system call.
    state.endsOf = () => ({
      localPort: socket.localPort,
      remotePort: socket.remotePort,
      localFamily: socket.localFamily
    })
    const peer = peerOfSocket(socket)
    this.remote = peer.remote
    this.address = peer.address
    this.openedAt = peer.openedAt
  }

  private beforeWrite(transfer: boolean): void {
    if (!this.immediate && (this.written || transfer)) {
      this.immediate = true
      this.socket.setNoDelay(true)
    }
    this.written = true
  }

  poll() {
    return this.state.take()
  }

  read<E = never>(within?: Within<E>) {
    return readSegment(this.state, this.watchdog, within)
  }

  write<E = never>(bytes: Uint8Array, within?: Within<E>) {
    this.beforeWrite(false)
    return writeAll(this.state, this.socket, this.watchdog, bytes, within)
  }

  receiveInto<E1, E2>(sink: ByteSink<E1>, options: ReceiveIntoOptions<E2>) {
    return receiveInto(this.state, this.watchdog, sink, options)
  }

  sendFrom<E1, E2>(source: ByteSource<E1>, options: SendFromOptions<E2>) {
    this.beforeWrite(true)
    return sendFrom(this.state, this.socket, this.watchdog, source, options)
  }

  get close(): Effect.Effect<void> {
    return Effect.sync(() => closeSocket(this.socket))
  }

  get abort(): Effect.Effect<void> {
    return Effect.sync(() => abort(this.socket))
  }

  unacknowledged(): number | undefined {
    return unacknowledged(this.state)
  }

  /** The client certificate's subject, once a TLS handshake checked one. */
  get certificate(): string | undefined {
    return this.state instanceof TlsSocketState ? this.state.certificate : undefined
  }

  unconfirmed(): number {
    return this.state.sent - this.state.confirmed
  }

  finish(millis: number) {
    return finish(this.state, this.watchdog, millis, finishing(this.socket))
  }
}

const makeConnection = (socket: Socket<SocketState>, watchdog: Watchdog): Connection =>
  new BunConnection(socket, watchdog)

const connect = (watchdog: Watchdog) => (host: string, port: number, tls?: ClientTls) =>
  Effect.acquireRelease(
    tls === undefined ? connectPlain(watchdog, host, port) : connectTls(watchdog, host, port, tls),
    (socket) => Effect.sync(() => closeSocket(socket))
  ).pipe(Effect.map((socket) => makeConnection(socket, watchdog)))

const connectPlain = (watchdog: Watchdog, host: string, port: number) =>
  Effect.async<Socket<SocketState>, ReturnType<typeof failureOf>>((resume) => {
    let cancelled = false
    Bun.connect<SocketState>({
      hostname: host,
      port,
      // A peer that half-closes after its message must still get every byte of the answer.
      allowHalfOpen: true,
      data: new SocketState(watchdog.now()),
      socket: { ...handlers, connectError: () => {} }
    }).then(
      (socket) => {
        if (cancelled) socket.end()
        else resume(Effect.succeed(socket))
      },
      (error: unknown) => resume(Effect.fail(failureOf(error)))
    )
    return Effect.sync(() => {
      cancelled = true
    })
  })

/**
 * A TLS connection, handed over once its handshake is done and the server's
 * certificate (and name) checked: bytes written before that would be lost,
 * and a refused certificate is a failure to connect, not a broken transfer.
 */
const connectTls = (watchdog: Watchdog, host: string, port: number, tls: ClientTls) =>
  Effect.async<Socket<SocketState>, ConnectionFailure>((resume) => {
    let settled = false
    let opened: Socket<SocketState> | undefined
    const settle = (outcome: Effect.Effect<Socket<SocketState>, ConnectionFailure>) => {
      if (settled) return
      settled = true
      resume(outcome)
    }
    Bun.connect<SocketState>({
      hostname: host,
      port,
      allowHalfOpen: true,
      data: new SocketState(watchdog.now()),
      tls: clientTlsOptions(tls),
      socket: {
        ...handlers,
        connectError: () => {},
        open: (socket) => {
          opened = socket
        },
        handshake: (socket, authorized, error) => {
          if (authorized && error === null) return settle(Effect.succeed(socket))
          settle(Effect.fail(clientHandshakeFailure(error ?? undefined)))
          socket.terminate()
        },
        close: (socket, error) => {
          handlers.close?.(socket, error)
          settle(Effect.fail(clientHandshakeFailure(error)))
        }
      }
    }).catch((error: unknown) => settle(Effect.fail(failureOf(error))))
    return Effect.sync(() => {
      settled = true
      opened?.end()
    })
  })

/** The socket callbacks of a listener: plain TCP as it always was, or TLS with its handshake watched. */
const listenerHandlers = <R>(
  watchdog: Watchdog,
  serving: Serving<R>,
  tls: ServerTls | undefined
): SocketHandler<SocketState> => {
  if (tls === undefined) {
    return {
      ...handlers,
      open(socket) {
        socket.data = new SocketState(watchdog.now())
        serving.accept(socket.data, makeConnection(socket, watchdog), () => closeSocket(socket))
      }
    }
  }
  const requireCertificate = tls.clientCa !== undefined
  return {
    ...handlers,
    open(socket) {
      // Handed over at once, as a plain connection is: its first bytes come after the handshake.
      const state = new TlsSocketState(watchdog.now(), () => {
        state.failed(handshakeLate(tls.handshakeMillis / 1000))
        closeSocket(socket)
      })
      socket.data = state
      watchdog.watch(state.deadline, state.openedAt + tls.handshakeMillis)
      serving.accept(state, makeConnection(socket, watchdog), () => closeSocket(socket))
    },
    // A connection that breaks during its handshake is a TLS failure, said as one in the log.
    error(socket, error) {
      const state = socket.data as TlsSocketState
      if (!state.handshaken) state.failed(serverHandshakeFailure(error))
      else state.failed(error)
    },
    close(socket, error) {
      const state = socket.data as TlsSocketState
      if (!state.handshaken && error !== undefined) state.failed(serverHandshakeFailure(error))
      state.wasClosed(error)
    },
    handshake(socket, authorized, error) {
      const state = socket.data as TlsSocketState
      state.handshaken = true
      watchdog.unwatch(state.deadline)
      if (!authorized) {
        state.failed(serverHandshakeFailure(error))
        return closeSocket(socket)
      }
      if (!requireCertificate) return
      // Bun closes a connection whose certificate it could not verify; it is never served here either.
      if (error !== null || !socket.authorized) {
        state.failed(clientCertificateRefused(error))
        return closeSocket(socket)
      }
      state.certificate = peerSubject(socket)
    }
  }
}

const serve =
  (watchdog: Watchdog) =>
  <R>(
    options: ListenOptions,
    handle: (connection: Connection) => Effect.Effect<void, never, Exclude<R, Scope.Scope>>
  ) =>
    Effect.gen(function* () {
      // Connections run with the services of whoever called `serve`.
      const serving = new Serving(
        yield* Effect.runtime<Exclude<R, Scope.Scope>>(),
        watchdog,
        options.firstBytesMillis,
        handle
      )
      const listen = (hostname: string, port: number, tls: ServerTls | undefined) =>
        Bun.listen<SocketState>({
          hostname,
          port,
          allowHalfOpen: true,
          ...(tls === undefined ? {} : { tls: serverTlsOptions(tls) }),
          socket: listenerHandlers(watchdog, serving, tls)
        })
      /** The TLS settings of the listener now accepting (a reload replaces them), and whether it was closed for good. */
      let current = options.tls
      let closed = false
      let listener = yield* Effect.acquireRelease(
        Effect.try({ try: () => listen(options.hostname, options.port, current), catch: failureOf }),
        () =>
          Effect.suspend(() => {
            // Stop accepting; the connections in flight get the grace period.
            closed = true
            listener.stop(false)
            return serving.shutdown(options.graceMillis)
          })
      )
      const { hostname, port } = listener
      /**
       * A new listener on the same address with the new settings, in place of
       * the old one, whose connections go on. The settings are tried first on
       * a throwaway loopback listener, so bad ones leave the old in place;
       * between the two listeners the port is closed for an instant. After
       * the listener closed, a reload does nothing.
       */
      const reloadTls = (tls: ServerTls) =>
        Effect.try({
          try: () => {
            if (closed) return
            Bun.listen({ hostname: "127.0.0.1", port: 0, tls: serverTlsOptions(tls), socket: { data: () => {} } }).stop(
              true
            )
            listener.stop(false)
            try {
              listener = listen(hostname, port, tls)
              current = tls
            } catch (error) {
              listener = listen(hostname, port, current)
              throw error
            }
          },
          catch: failureOf
        })
      return {
        hostname,
        port,
        ...(options.tls === undefined ? {} : { reloadTls })
      } satisfies Listener
    })

/** The live transport; its watchdog runs on the clock of whoever builds the layer. */
export const BunTransportLive = Layer.scoped(
  Transport,
  Effect.map(Watchdog.make, (watchdog) => ({ connect: connect(watchdog), serve: serve(watchdog) }))
)

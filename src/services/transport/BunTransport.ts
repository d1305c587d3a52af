import type { Socket } from "bun"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ByteSink } from "../ByteSink.ts"
import type { ByteSource } from "../ByteSource.ts"
import { closeSocket, handlers, peerOfSocket } from "./bunSocket.ts"
import { readSegment, receiveInto, sendFrom, unacknowledged, writeAll } from "./pumps.ts"
import { Serving } from "./serving.ts"
import { failureOf, SocketState } from "./socketState.ts"
import {
  type Connection,
  type Listener,
  type ListenOptions,
  type ReceiveIntoOptions,
  type SendFromOptions,
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
    return Effect.sync(() => {
      this.state.discard()
      if (!this.state.closed) this.socket.terminate()
    })
  }

  unacknowledged(): number | undefined {
    return unacknowledged(this.state)
  }
}

const makeConnection = (socket: Socket<SocketState>, watchdog: Watchdog): Connection =>
  new BunConnection(socket, watchdog)

const connect = (watchdog: Watchdog) => (host: string, port: number) =>
  Effect.acquireRelease(
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
    }),
    (socket) => Effect.sync(() => closeSocket(socket))
  ).pipe(Effect.map((socket) => makeConnection(socket, watchdog)))

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
      const listener = yield* Effect.acquireRelease(
        Effect.try({
          try: () =>
            Bun.listen<SocketState>({
              hostname: options.hostname,
              port: options.port,
              allowHalfOpen: true,
              socket: {
                ...handlers,
                open(socket) {
                  socket.data = new SocketState(watchdog.now())
                  serving.accept(socket.data, makeConnection(socket, watchdog), () => closeSocket(socket))
                }
              }
            }),
          catch: failureOf
        }),
        (listener) =>
          Effect.suspend(() => {
            // Stop accepting; the connections in flight get the grace period.
            listener.stop(false)
            return serving.shutdown(options.graceMillis)
          })
      )
      return { hostname: listener.hostname, port: listener.port } satisfies Listener
    })

/** The live transport; its watchdog runs on the clock of whoever builds the layer. */
export const BunTransportLive = Layer.scoped(
  Transport,
  Effect.map(Watchdog.make, (watchdog) => ({ connect: connect(watchdog), serve: serve(watchdog) }))
)

import type { Socket } from "bun"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { closeSocket, handlers, peerOfSocket } from "./bunSocket.ts"
import { type Finishing, finish, readSegment, receiveInto, sendFrom, unacknowledged, writeAll } from "./pumps.ts"
import { Serving } from "./serving.ts"
import { failureOf, SocketState } from "./socketState.ts"
import { type Connection, type Listener, type ListenOptions, Transport } from "./Transport.ts"
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

const makeConnection = (socket: Socket<SocketState>, watchdog: Watchdog): Connection => {
  const state = socket.data
  state.port = socket
  // Read only when a wait needs the kernel's queue (pumps.ts): each is a system call.
  state.endsOf = () => ({ localPort: socket.localPort, remotePort: socket.remotePort, localFamily: socket.localFamily })
  // Messages are written whole and in order; waiting to coalesce (Nagle) only adds the
  // peer's delayed-ACK time between a header and its data. A reply in one write, then
  // the end, has nothing to wait for: the option is set once a second write or a
  // transfer follows.
  let written = false
  let immediate = false
  const beforeWrite = (transfer: boolean) => {
    if (!immediate && (written || transfer)) {
      immediate = true
      socket.setNoDelay(true)
    }
    written = true
  }
  return {
    ...peerOfSocket(socket),
    read: (within) => readSegment(state, watchdog, within),
    write: (bytes, within) => {
      beforeWrite(false)
      return writeAll(state, socket, watchdog, bytes, within)
    },
    receiveInto: (sink, options) => receiveInto(state, watchdog, sink, options),
    sendFrom: (source, options) => {
      beforeWrite(true)
      return sendFrom(state, socket, watchdog, source, options)
    },
    close: Effect.sync(() => closeSocket(socket)),
    abort: Effect.sync(() => abort(socket)),
    unacknowledged: () => unacknowledged(state),
    unconfirmed: () => state.sent - state.confirmed,
    finish: (millis) => finish(state, watchdog, millis, finishing(socket))
  }
}

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

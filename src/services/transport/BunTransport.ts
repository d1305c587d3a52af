import type { Socket, SocketHandler } from "bun"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { acquireReleasePlain } from "../resource.ts"
import { readSegment, receiveInto, sendFrom, writeAll } from "./pumps.ts"
import { closedFailure, failureOf, SocketState } from "./socketState.ts"
import {
  type Connection,
  type Listener,
  type ListenOptions,
  type Peer,
  type Quick,
  type QuickAnswer,
  Transport
} from "./Transport.ts"
import { type Watch, Watchdog } from "./watchdog.ts"

/**
 * The live transport, on Bun's own TCP sockets (`Bun.listen`/`Bun.connect`).
 * The socket's callbacks only record events in the connection's state
 * (socketState.ts); reads, writes and transfers are the pumps (pumps.ts),
 * bounded by the transport's one watchdog (watchdog.ts).
 */

const handlers: SocketHandler<SocketState> = {
  data: (socket, bytes) => socket.data.received(bytes),
  drain: (socket) => socket.data.drained(),
  end: (socket) => socket.data.peerEnded(),
  close: (socket, error) => socket.data.wasClosed(error),
  error: (socket, error) => socket.data.failed(error)
}

/**
 * How long a socket may stay half-open after `end()`: the peer gets that long
 * to read what is still in flight and close its side; then it is cut.
 */
const LINGER_MILLIS = 30_000

/**
 * Ends the socket gracefully: the peer receives everything written, then FIN.
 * What the peer still sends is dropped (a refused upload keeps coming for a
 * moment), and a peer that never closes its side is cut after the linger time.
 */
export const closeSocket = (socket: {
  readonly data: SocketState
  readonly readyState: number
  end(): unknown
  terminate(): unknown
}) => {
  const state = socket.data
  state.discard()
  if (state.closed || socket.readyState <= 0) return
  socket.end()
  // Bun may close the socket inside end(), its close callback already run: a
  // timer armed now would never be cleared and would hold the socket, its
  // state and whatever they reach for the whole linger time.
  if (state.closed) return
  // Cleared when the socket closes, so a closed connection is not kept alive by its timer.
  state.linger = setTimeout(() => {
    if (!state.closed) socket.terminate()
  }, LINGER_MILLIS).unref()
}

/** The peer of a socket; IPv4-mapped IPv6 addresses ("::ffff:10.0.0.1") shown as IPv4. */
const peerOf = (socket: Socket<SocketState>): Peer => {
  const seen = socket.remoteAddress
  const address = seen.startsWith("::ffff:") && seen.includes(".") ? seen.slice(7) : seen
  return {
    remote: address.includes(":") ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`,
    address,
    openedAt: socket.data.openedAt
  }
}

const makeConnection = (socket: Socket<SocketState>, watchdog: Watchdog): Connection => {
  const state = socket.data
  state.port = socket
  state.ends = { localPort: socket.localPort, remotePort: socket.remotePort, localFamily: socket.localFamily }
  // Messages are written whole and in order; waiting to coalesce (Nagle) only adds
  // the peer's delayed-ACK time (~40 ms) between a header and its data.
  socket.setNoDelay(true)
  return {
    ...peerOf(socket),
    read: (within) => readSegment(state, watchdog, within),
    write: (bytes, within) => writeAll(state, socket, watchdog, bytes, within),
    receiveInto: (sink, options) => receiveInto(state, watchdog, sink, options),
    sendFrom: (source, options) => sendFrom(state, socket, watchdog, source, options),
    close: Effect.sync(() => closeSocket(socket))
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
  <R, E>(options: ListenOptions<E>, handle: (connection: Connection) => Effect.Effect<void, never, R | Scope.Scope>) =>
    Effect.gen(function* () {
      const connections = yield* FiberSet.make<void, never>()
      // Connections run with the services of whoever called `serve`; each gets its own Scope below.
      const run = yield* FiberSet.runtime(connections)<Exclude<R, Scope.Scope>>()
      /** The connection as a scoped resource of its own fiber, closed with the scope. */
      const scoped = <A, X, Y>(socket: Socket<SocketState>, use: (connection: Connection) => Effect.Effect<A, X, Y>) =>
        Effect.scoped(
          acquireReleasePlain(
            Effect.sync(() => makeConnection(socket, watchdog)),
            () => Effect.sync(() => closeSocket(socket))
          ).pipe(Effect.flatMap(use))
        )
      const inFiber = (socket: Socket<SocketState>) =>
        run(
          scoped(socket, handle).pipe(
            Effect.catchAllDefect((defect) => Effect.logError("falha interna numa conexão", defect))
          )
        )
      const accept =
        options.quick === undefined
          ? inFiber
          : quickly(options.quick, watchdog, inFiber, (socket, answer) =>
              run(scoped(socket, (connection) => finishQuick(connection, answer)).pipe(Effect.ignore))
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
                  accept(socket)
                }
              }
            }),
          catch: failureOf
        }),
        (listener) =>
          Effect.gen(function* () {
            // Stop accepting, give the connections in flight a grace period, then interrupt the rest.
            listener.stop(false)
            // Finalizers are uninterruptible; the wait must be interruptible for the timeout to cut it.
            yield* Effect.interruptible(FiberSet.awaitEmpty(connections)).pipe(
              Effect.timeout(options.graceMillis),
              Effect.ignore
            )
          })
      )
      return { hostname: listener.hostname, port: listener.port } satisfies Listener
    })

/**
 * Accepting with a quick path: the connection waits for its first event
 * without a fiber. A first segment that `quick` answers is answered right in
 * the callback: one write, close, `done`, and the connection never costs a
 * fiber, a scope or a closure of the pumps. A reply the socket does not
 * take whole, or one with a body, is finished in a small fiber
 * (`finishQuick`). Anything else goes to `inFiber`, the first segment back
 * in the queue as if nothing had happened.
 */
const quickly =
  <E>(
    quick: Quick<E>,
    watchdog: Watchdog,
    inFiber: (socket: Socket<SocketState>) => void,
    sendRest: (socket: Socket<SocketState>, answer: QuickAnswer<E> & { readonly rest: Uint8Array }) => void
  ) =>
  (socket: Socket<SocketState>): void => {
    const peer = peerOf(socket)
    if (!quick.admit(peer)) return inFiber(socket)
    const state = socket.data
    const toFiber = () => {
      quick.release(peer)
      inFiber(socket)
    }
    // A first segment that is late goes to a fiber, which keeps what is left of the request deadline.
    const late: Watch = {
      at: 0,
      look: () => {
        if (state.onFirst === onFirst) {
          state.onFirst = undefined
          toFiber()
        }
        return undefined
      }
    }
    const onFirst = (bytes: Uint8Array | undefined): void => {
      watchdog.unwatch(late)
      let answer: QuickAnswer<E> | undefined
      try {
        answer = bytes === undefined ? undefined : quick.answer(peer, bytes)
      } catch {
        // A bug in the quick path must not escape into the event loop: the fiber path serves it.
        answer = undefined
      }
      if (answer === undefined) {
        if (bytes !== undefined) state.received(bytes)
        return toFiber()
      }
      // Whatever the client still sends is dropped.
      state.discard()
      const taken = socket.write(answer.reply)
      if (taken < 0 || (taken >= answer.reply.length && answer.body === undefined)) {
        answer.done(taken < 0 ? Exit.fail(closedFailure()) : Exit.void)
        return closeSocket(socket)
      }
      sendRest(socket, { ...answer, rest: answer.reply.subarray(taken) })
    }
    state.onFirst = onFirst
    watchdog.watch(late, watchdog.now() + quick.firstSegmentMillis)
  }

/**
 * What is left of a quick answer, in a fiber of its own: the rest of the
 * reply, then the body. A fiber that only moves bytes, with none of a
 * request's machinery: a large download holds this much while it lasts.
 */
const finishQuick = <E>(connection: Connection, answer: QuickAnswer<E> & { readonly rest: Uint8Array }) => {
  const { body, within } = answer
  const rest = answer.rest.length === 0 ? Effect.void : connection.write(answer.rest, within)
  const sent =
    body === undefined
      ? rest
      : Effect.zipRight(
          rest,
          connection.sendFrom(body.source, {
            length: body.length,
            millis: within.millis,
            onIdle: within.onIdle,
            onSent: body.onSent
          })
        )
  return Effect.onExit(sent, (exit) => Effect.sync(() => answer.done(exit)))
}

/** The live transport; its watchdog runs on the clock of whoever builds the layer. */
export const BunTransportLive = Layer.scoped(
  Transport,
  Effect.map(Watchdog.make, (watchdog) => ({ connect: connect(watchdog), serve: serve(watchdog) }))
)

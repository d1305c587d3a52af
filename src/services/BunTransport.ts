import type { Socket, SocketHandler } from "bun"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { ConnectionFailure, type ConnectionFailureReason } from "../domain/errors.ts"
import type { ByteSink } from "./ByteSink.ts"
import type { ByteSource } from "./ByteSource.ts"
import { acquireReleasePlain } from "./resource.ts"
import {
  type Connection,
  type Listener,
  type ReceiveIntoOptions,
  type SendFromOptions,
  Transport
} from "./Transport.ts"
import { type SocketEnds, unacknowledgedBytes } from "./transport/sendQueue.ts"

/**
 * The live transport, on Bun's own TCP sockets (`Bun.listen`/`Bun.connect`).
 *
 * Bun pushes segments and does not buffer writes: `write` returns how many
 * bytes the kernel took, and the rest must go out after `drain`. This module
 * turns that into a pull-based `read` with backpressure (the socket is paused
 * while too much is queued) and a `write` that finishes only when every byte
 * went out. File bodies take two push paths that run in the socket's own
 * callbacks, one fiber step per transfer: `sendFrom` (fill, write, go on at
 * `drain`) and `receiveInto` (each segment straight to a synchronous sink).
 */

/** Pause reading once this much is queued and not yet consumed... */
const HIGH_WATER = 1024 * 1024
/** ...and resume once the queue is back under this. */
const LOW_WATER = 256 * 1024
/** `sendFrom` yields to the event loop after this many bytes in one go. */
const TURN_BYTES = 2 * 1024 * 1024

/**
 * How often a stalled send tries the socket again. Bun reports a send's
 * progress only through `write` (how many bytes the kernel took) and `drain`.
 * `drain` comes when the kernel's send buffer is writable by epoll's measure
 * (free space at least half of what is queued), which, with a buffer of
 * megabytes and a slow but steady reader, can take longer than the idle
 * deadline: the transfer would be cut while it still moves. The kernel
 * takes more bytes as soon as the peer acknowledges earlier ones, so a
 * stalled send retries `write` at this interval, and any byte taken is
 * progress (PROTOCOL.md §7). A retry that finds the buffer full is one
 * cheap refused syscall.
 */
const probeMillis = (idleMillis: number) => Math.max(10, Math.min(1000, Math.floor(idleMillis / 4)))

/** One read waiting under a deadline. */
interface ReadDeadline {
  /** When the wait began, or when this side's sent bytes were last seen to move. */
  since: number
  readonly millis: number
  /** This side's unacknowledged bytes at the last look (undefined: not looked, or unknown). */
  queued: number | undefined
  readonly expire: () => void
}

class SocketState {
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
  socket: Socket<SocketState> | undefined
  /** The connection's ports, kept from its start: a closed socket no longer reports them. */
  ends: SocketEnds | undefined
  /** The read waiting under a deadline, if any (see `readWithin`). */
  readDeadline: ReadDeadline | undefined
  /**
   * One timer per connection watches the read deadlines. It is armed when a
   * wait begins and none is armed, and when it fires it re-arms itself for
   * the wait in progress, if any: waits that end in time cost no timer.
   */
  private readWatchdog: ReturnType<typeof setTimeout> | undefined

  watchReads(): void {
    if (this.readWatchdog !== undefined) return
    const deadline = this.readDeadline
    if (deadline === undefined) return
    const now = performance.now()
    if (now >= deadline.since + deadline.millis || deadline.queued !== undefined) {
      // A silent peer may still be taking what this side sent (an upload's
      // last megabytes, before its final status): bytes it acknowledges are
      // progress, and the wait restarts from when they were seen to move.
      const queued = this.ends === undefined ? undefined : unacknowledgedBytes(this.ends)
      const firstLook = deadline.queued === undefined
      if (queued !== undefined && !firstLook && queued < deadline.queued!) deadline.since = now
      deadline.queued = queued
      if (now >= deadline.since + deadline.millis) {
        if (!(firstLook && queued !== undefined && queued > 0)) return deadline.expire()
        // The first look finds bytes still queued: one probe tells whether they move.
        return this.armReads(probeMillis(deadline.millis))
      }
    }
    const left = deadline.since + deadline.millis - now
    this.armReads(deadline.queued ? Math.min(left, probeMillis(deadline.millis)) : left)
  }

  private armReads(millis: number): void {
    this.readWatchdog = setTimeout(() => {
      this.readWatchdog = undefined
      this.watchReads()
    }, millis)
    // Only a pending read needs it, and a pending read has a socket keeping the process alive.
    this.readWatchdog.unref()
  }

  stopWatching(): void {
    clearTimeout(this.readWatchdog)
    this.readWatchdog = undefined
    this.readDeadline = undefined
  }

  wakeReader(): void {
    const wake = this.onReadable
    this.onReadable = undefined
    wake?.()
  }

  wakeWriter(): void {
    const wake = this.onWritable
    this.onWritable = undefined
    wake?.()
  }
}

const reasonOf = (error: unknown): ConnectionFailureReason => {
  const code = (error as { code?: unknown } | undefined)?.code
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

const failureOf = (error: unknown): ConnectionFailure =>
  new ConnectionFailure({
    reason: reasonOf(error),
    detail: error instanceof Error ? error.message : String(error),
    cause: error
  })

const closed = () => new ConnectionFailure({ reason: "Closed", detail: "a conexão foi fechada" })

const handlers: SocketHandler<SocketState> = {
  data(socket, bytes) {
    const state = socket.data
    if (state.discarding) return
    if (state.onData !== undefined) return state.onData(bytes)
    state.queue.push(bytes)
    state.queued += bytes.length
    if (!state.paused && state.queued >= HIGH_WATER) {
      state.paused = true
      socket.pause()
    }
    state.wakeReader()
  },
  drain(socket) {
    socket.data.wakeWriter()
  },
  end(socket) {
    socket.data.ended = true
    socket.data.wakeReader()
  },
  close(socket, error) {
    const state = socket.data
    state.ended = true
    state.closed = true
    if (error && !state.failure) state.failure = failureOf(error)
    state.wakeReader()
    state.wakeWriter()
  },
  error(socket, error) {
    const state = socket.data
    state.failure ??= failureOf(error)
    state.wakeReader()
    state.wakeWriter()
  }
}

const makeConnection = (socket: Socket<SocketState>): Connection => {
  const state = socket.data
  state.socket = socket
  state.ends = { localPort: socket.localPort, remotePort: socket.remotePort, localFamily: socket.localFamily }
  // Messages are written whole and in order; waiting to coalesce (Nagle) only adds
  // the peer's delayed-ACK time (~40 ms) between a header and its data.
  socket.setNoDelay(true)
  const take = (): Option.Option<Uint8Array> | ConnectionFailure | undefined => {
    const next = state.queue.shift()
    if (next !== undefined) {
      state.queued -= next.length
      if (state.paused && state.queued <= LOW_WATER) {
        state.paused = false
        socket.resume()
      }
      return Option.some(next)
    }
    if (state.failure) return state.failure
    if (state.ended) return Option.none()
    return undefined
  }
  const read = Effect.async<Option.Option<Uint8Array>, ConnectionFailure>((resume) => {
    const attempt = (): void => {
      const result = take()
      if (result === undefined) {
        state.onReadable = attempt
      } else {
        resume(result instanceof ConnectionFailure ? Effect.fail(result) : Effect.succeed(result))
      }
    }
    attempt()
    return Effect.sync(() => {
      if (state.onReadable === attempt) state.onReadable = undefined
    })
  })
  const readWithin = <E>(idleMillis: number, onIdle: () => E) =>
    Effect.async<Option.Option<Uint8Array>, ConnectionFailure | E>((resume) => {
      const attempt = (): void => {
        const result = take()
        if (result === undefined) {
          state.onReadable = attempt
          return
        }
        state.readDeadline = undefined
        resume(result instanceof ConnectionFailure ? Effect.fail(result) : Effect.succeed(result))
      }
      attempt()
      if (state.onReadable === attempt) {
        // Nothing queued: this wait gets `idleMillis`, watched by the connection's one timer.
        state.readDeadline = {
          since: performance.now(),
          millis: idleMillis,
          queued: undefined,
          expire: () => {
            if (state.onReadable === attempt) state.onReadable = undefined
            state.readDeadline = undefined
            resume(Effect.fail(onIdle()))
          }
        }
        state.watchReads()
      }
      return Effect.sync(() => {
        if (state.onReadable === attempt) state.onReadable = undefined
        state.readDeadline = undefined
      })
    })
  const write = (bytes: Uint8Array) =>
    Effect.async<void, ConnectionFailure>((resume) => {
      let offset = 0
      const attempt = (): void => {
        while (offset < bytes.length) {
          if (state.failure) return resume(Effect.fail(state.failure))
          const written = socket.write(bytes, offset, bytes.length - offset)
          if (written < 0) return resume(Effect.fail(closed()))
          if (written === 0) {
            state.onWritable = attempt
            return
          }
          offset += written
        }
        resume(Effect.void)
      }
      attempt()
      return Effect.sync(() => {
        if (state.onWritable === attempt) state.onWritable = undefined
      })
    })
  const readNow = () => {
    const result = take()
    return result instanceof ConnectionFailure ? undefined : result
  }
  const writeNow = (bytes: Uint8Array) => {
    if (state.failure) return 0
    return Math.max(0, socket.write(bytes))
  }
  const receiveInto = <E1, E2>(sink: ByteSink<E1>, options: ReceiveIntoOptions<E2>) =>
    Effect.async<number, ConnectionFailure | E1 | E2>((resume) => {
      const { length, idleMillis } = options
      let need = length
      // Since when the next segment is awaited; one timer watches, as in `sendFrom`.
      let waitingSince = performance.now()
      let watchdog: ReturnType<typeof setTimeout> | undefined
      let done = false
      const stop = () => {
        done = true
        clearTimeout(watchdog)
        if (state.onData === deliver) state.onData = undefined
        if (state.onReadable === check) state.onReadable = undefined
      }
      const finish = (result: Effect.Effect<number, ConnectionFailure | E1 | E2>) => {
        stop()
        resume(result)
      }
      const watch = () => {
        watchdog = undefined
        if (done) return
        const waited = performance.now() - waitingSince
        if (waited >= idleMillis) return finish(Effect.fail(options.onIdle()))
        watchdog = setTimeout(watch, idleMillis - waited)
      }
      /** Hands a segment to the sink; bytes past `length` go back to the front of the queue. */
      const deliver = (bytes: Uint8Array): void => {
        try {
          const part = bytes.length <= need ? bytes : bytes.subarray(0, need)
          const written = sink.write(part)
          if (Either.isLeft(written)) return finish(Effect.fail(written.left))
          need -= part.length
          if (part.length < bytes.length) {
            const rest = bytes.subarray(part.length)
            state.queue.unshift(rest)
            state.queued += rest.length
          }
          if (need === 0) return finish(Effect.succeed(length))
          waitingSince = performance.now()
        } catch (error) {
          // A sink that throws is a bug: a defect, not an error escaping into the event loop.
          finish(Effect.die(error))
        }
      }
      /** Woken when the peer ends, the socket closes or fails. */
      const check = (): void => {
        if (done) return
        if (state.failure) return finish(Effect.fail(state.failure))
        if (state.ended) return finish(Effect.succeed(length - need))
        state.onReadable = check
      }
      // What is queued already goes first.
      while (need > 0 && !done) {
        const next = take()
        if (next === undefined) break
        if (next instanceof ConnectionFailure) return finish(Effect.fail(next))
        if (Option.isNone(next)) return finish(Effect.succeed(length - need))
        deliver(next.value)
      }
      if (done) return
      if (need === 0) return finish(Effect.succeed(length))
      state.onData = deliver
      state.onReadable = check
      watchdog = setTimeout(watch, idleMillis)
      return Effect.sync(stop)
    })
  const sendFrom = <E1, E2>(source: ByteSource<E1>, options: SendFromOptions<E2>) =>
    Effect.async<void, ConnectionFailure | E1 | E2>((resume) => {
      const { buffer, fill } = source
      const { idleMillis } = options
      let left = options.length
      // buffer[start, end) is filled and not yet taken by the socket.
      let start = 0
      let end = 0
      // When the socket last refused to take more (undefined: it took bytes
      // since). One timer watches a stall, armed when it begins and at each
      // probe while it lasts: nothing is allocated per chunk, however often
      // the socket fills up.
      let stalledSince: number | undefined
      let watchdog: ReturnType<typeof setTimeout> | undefined
      let turn: ReturnType<typeof setImmediate> | undefined
      let done = false
      const finish = (result: Effect.Effect<void, ConnectionFailure | E1 | E2>) => {
        done = true
        clearTimeout(watchdog)
        clearImmediate(turn)
        if (state.onWritable === attempt) state.onWritable = undefined
        resume(result)
      }
      const probe = probeMillis(idleMillis)
      /** While stalled: give up after `idleMillis` without progress, else try the socket again. */
      const watch = () => {
        watchdog = undefined
        if (done || stalledSince === undefined) return
        const waited = performance.now() - stalledSince
        if (waited >= idleMillis) return finish(Effect.fail(options.onIdle()))
        // A retry that stalls again re-arms the watch from the same `stalledSince`.
        attempt()
      }
      const armWatch = () => {
        if (watchdog !== undefined || stalledSince === undefined) return
        watchdog = setTimeout(watch, Math.min(probe, stalledSince + idleMillis - performance.now()))
      }
      const pump = (): void => {
        for (let sentThisTurn = 0; sentThisTurn < TURN_BYTES; ) {
          if (state.failure) return finish(Effect.fail(state.failure))
          if (start === end) {
            if (left === 0) return finish(Effect.void)
            const into = left >= buffer.length ? buffer : buffer.subarray(0, left)
            const filled = fill(into)
            if (Either.isLeft(filled)) return finish(Effect.fail(filled.left))
            if (!(filled.right > 0 && filled.right <= into.length)) {
              // A source must make progress: a count of 0 would spin here forever.
              return finish(Effect.dieMessage(`sendFrom: the source filled ${filled.right} of ${into.length} bytes`))
            }
            start = 0
            end = filled.right
            left -= filled.right
          }
          const written = socket.write(buffer, start, end - start)
          if (written < 0) return finish(Effect.fail(closed()))
          if (written > 0) {
            stalledSince = undefined
            options.onSent?.(written)
          }
          sentThisTurn += written
          start += written
          if (start < end) {
            // The socket is full: go on when it drains or a probe finds room, or give
            // up after the idle time without progress.
            state.onWritable = attempt
            stalledSince ??= performance.now()
            armWatch()
            return
          }
        }
        // The socket keeps taking bytes: let other connections and timers run before going on.
        turn = setImmediate(attempt)
      }
      // Runs from the socket's callbacks: whatever the source or `onSent` throws
      // must end this send as a defect, not escape into the event loop.
      const attempt = (): void => {
        turn = undefined
        if (done) return
        try {
          pump()
        } catch (error) {
          finish(Effect.die(error))
        }
      }
      attempt()
      return Effect.sync(() => {
        done = true
        clearTimeout(watchdog)
        clearImmediate(turn)
        if (state.onWritable === attempt) state.onWritable = undefined
      })
    })
  const address = socket.remoteAddress.replace(/^::ffff:(?=\d+\.)/, "")
  const remote = address.includes(":") ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`
  return { remote, address, read, readWithin, write, readNow, writeNow, receiveInto, sendFrom }
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
const closeSocket = (socket: Socket<SocketState>) =>
  Effect.sync(() => {
    const state = socket.data
    state.stopWatching()
    state.discarding = true
    state.queue.length = 0
    state.queued = 0
    if (state.paused) {
      state.paused = false
      socket.resume()
    }
    if (state.closed || socket.readyState <= 0) return
    socket.end()
    setTimeout(() => {
      if (!state.closed) socket.terminate()
    }, LINGER_MILLIS).unref()
  })

const connect = (host: string, port: number) =>
  Effect.acquireRelease(
    Effect.async<Socket<SocketState>, ConnectionFailure>((resume) => {
      let cancelled = false
      Bun.connect<SocketState>({
        hostname: host,
        port,
        // A peer that half-closes after its message must still get every byte of the answer.
        allowHalfOpen: true,
        data: new SocketState(),
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
    closeSocket
  ).pipe(Effect.map(makeConnection))

const serve = <R>(
  options: { readonly hostname: string; readonly port: number; readonly graceMillis: number },
  handle: (connection: Connection) => Effect.Effect<void, never, R | Scope.Scope>
) =>
  Effect.gen(function* () {
    const connections = yield* FiberSet.make<void, never>()
    // Connections run with the services of whoever called `serve`; each gets its own Scope below.
    const run = yield* FiberSet.runtime(connections)<Exclude<R, Scope.Scope>>()
    const perConnection = (socket: Socket<SocketState>) =>
      Effect.scoped(
        acquireReleasePlain(
          Effect.sync(() => makeConnection(socket)),
          () => closeSocket(socket)
        ).pipe(Effect.flatMap(handle))
      ).pipe(Effect.catchAllDefect((defect) => Effect.logError("falha interna numa conexão", defect)))
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
                socket.data = new SocketState()
                run(perConnection(socket))
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

export const BunTransportLive = Layer.succeed(Transport, { connect, serve })

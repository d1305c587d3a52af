/**
 * The callback pumps: the only callback-driven code of the project.
 *
 * The rule, once: bytes move in the socket's own callbacks, through
 * synchronous ports (a `ByteSource` filled into a reused buffer, a `ByteSink`
 * written from each segment, the socket's `write`); everything else is
 * Effect. Each pump is one `Effect.async`: one fiber step per read, write or
 * whole transfer, however many segments and drains it takes. Every wait on
 * the peer is bounded through the transport's one `Watchdog`, and whatever a
 * source, a sink or a callback throws ends the pump as a defect instead of
 * escaping into the event loop.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { ConnectionFailure } from "../../domain/errors.ts"
import type { ByteSink } from "../ByteSink.ts"
import type { ByteSource } from "../ByteSource.ts"
import { closedFailure, type Port, type SocketState } from "./socketState.ts"
import type { Ending, ReceiveIntoOptions, SendFromOptions, Within } from "./Transport.ts"
import { systemTables, unacknowledgedBytes } from "./unacknowledged.ts"
import type { Watch, Watchdog } from "./watchdog.ts"

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
export const probeMillis = (idleMillis: number) => Math.max(10, Math.min(1000, Math.floor(idleMillis / 4)))

/** This side's bytes the peer has not acknowledged, from the system (kept in `state.confirmed`); undefined when unknown. */
export const unacknowledged = (state: SocketState): number | undefined => {
  if (state.ends === undefined && !state.closed) state.ends = state.endsOf?.()
  if (state.ends === undefined) return undefined
  try {
    return state.confirm(unacknowledgedBytes(state.ends))
  } catch {
    return undefined
  }
}

/** When a progress watch first looks, and what its deadline counts from before any look. */
interface Looking {
  /** The first look (default: once the deadline has passed). */
  readonly from?: number
  /** Counts the deadline from the first look instead of from the start of the wait. */
  readonly fromFirstLook?: boolean
  /** Ends the wait as soon as a look finds nothing left unacknowledged. */
  readonly drained?: (() => void) | undefined
}

/** The default: the first look once the deadline has passed, the deadline counted from the start. */
const AT_DEADLINE: Looking = {}

/**
 * A wait of at most `millis` without progress, where the peer acknowledging
 * this side's bytes is progress: the wait restarts from when they were seen
 * to move. The queue (`look`) is first looked at `from`, then at most once
 * per probe interval. `expire` ends the wait with the last count seen
 * (undefined: unknown).
 *
 * Progress is the count acknowledged (what this side sent less what is
 * queued) growing, not the queue shrinking: a send still going on refills
 * the queue as fast as the peer takes from it, so from one look to the next
 * the queue can stay the same while bytes move all along.
 */
const progressWatch = (
  state: SocketState,
  watchdog: Watchdog,
  millis: number,
  look: () => number | undefined,
  expire: (queued: number | undefined) => void,
  looking: Looking = AT_DEADLINE
): Watch => {
  const { drained, fromFirstLook = false } = looking
  let since = watchdog.now()
  const lookFrom = looking.from ?? since + millis
  /** This side's unacknowledged bytes at the last look (undefined: not looked, or unknown). */
  let queued: number | undefined
  /** Of this side's bytes, how many were acknowledged at the last look that knew. */
  let acknowledged: number | undefined
  return {
    at: lookFrom,
    look: (now) => {
      if (now < lookFrom) return lookFrom
      const seen = look()
      const firstLook = queued === undefined
      if (seen !== undefined) {
        const nowAcknowledged = state.sent - seen
        if (acknowledged === undefined ? fromFirstLook : nowAcknowledged > acknowledged) since = now
        acknowledged = nowAcknowledged
      }
      queued = seen
      if (seen === 0 && drained !== undefined) {
        drained()
        return undefined
      }
      if (now >= since + millis) {
        // The first look finds bytes still queued: one probe tells whether they move.
        if (firstLook && seen !== undefined && seen > 0) return now + probeMillis(millis)
        expire(seen)
        return undefined
      }
      const left = since + millis - now
      return now + (queued ? Math.min(left, probeMillis(millis)) : left)
    }
  }
}

/**
 * The watch of a read waiting at most `millis` from now. A silent peer may
 * still be taking what this side sent (an upload's last megabytes, before
 * its final status, or all of them while it still sends): bytes it
 * acknowledges are progress. When this side has bytes not known to be
 * acknowledged, the kernel's queue is first looked at one probe interval
 * into the wait, the deadline counting from there, and then once per probe
 * interval: a link that acknowledges in bursts further apart than a probe
 * interval (small buffers, a slow reader) still shows them, and how long
 * nothing moved is always measured by looks. Otherwise (a request awaited,
 * every byte acknowledged) nothing is looked at before the deadline. A wait
 * that ends within a probe interval, as most do, never looks.
 */
const readWatch = (state: SocketState, watchdog: Watchdog, millis: number, expire: () => void): Watch =>
  progressWatch(
    state,
    watchdog,
    millis,
    () => unacknowledged(state),
    expire,
    state.sent > state.confirmed
      ? { from: watchdog.now() + Math.min(millis, probeMillis(millis)), fromFirstLook: true }
      : AT_DEADLINE
  )

/** The next segment, None once the peer has closed; a segment already queued is taken without waiting. */
export const readSegment = <E>(
  state: SocketState,
  watchdog: Watchdog,
  within: Within<E> | undefined
): Effect.Effect<Option.Option<Uint8Array>, ConnectionFailure | E> =>
  Effect.suspend(() => {
    const now = state.take()
    if (now === undefined) return awaitSegment(state, watchdog, within)
    return now instanceof ConnectionFailure ? Effect.fail(now) : Effect.succeed(now)
  })

const awaitSegment = <E>(state: SocketState, watchdog: Watchdog, within: Within<E> | undefined) =>
  Effect.async<Option.Option<Uint8Array>, ConnectionFailure | E>((resume) => {
    let watch: Watch | undefined
    const stop = () => {
      if (state.onReadable === attempt) state.onReadable = undefined
      if (watch !== undefined) watchdog.unwatch(watch)
    }
    const attempt = (): void => {
      const result = state.take()
      if (result === undefined) {
        state.onReadable = attempt
        return
      }
      stop()
      resume(result instanceof ConnectionFailure ? Effect.fail(result) : Effect.succeed(result))
    }
    attempt()
    if (state.onReadable === attempt && within !== undefined && Number.isFinite(within.millis)) {
      watch = readWatch(state, watchdog, within.millis, () => {
        if (state.onReadable === attempt) state.onReadable = undefined
        resume(Effect.fail(within.onIdle()))
      })
      watchdog.watch(watch, watch.at)
    }
    return Effect.sync(stop)
  })

/** What `finish` needs of a connection besides its state: the socket's own operations. */
export interface Finishing {
  /** Ends this side's sending: FIN after what was written; the socket stays open to hear the peer. */
  readonly shutdown: () => void
  /** Drops the connection with a reset. */
  readonly cut: () => void
  /** This side's bytes the peer has not acknowledged (`Connection.unacknowledged`, which notes it in the state). */
  readonly unacknowledged: () => number | undefined
}

const CLOSED: Ending = { _tag: "Closed" }
const ACKNOWLEDGED: Ending = { _tag: "Acknowledged" }
const STALLED: Ending = { _tag: "Stalled" }

/**
 * After this side's last byte: FIN, then the peer's end (`Connection.finish`).
 * The peer's own FIN (or the close it brings) is the common end, heard
 * through the same event a read waits on, and a reset is a failure: a peer
 * that ends within a probe interval costs one watch and nothing else. One
 * that takes longer is a slow one (the bytes are still on their way) or one
 * that stopped: its queue is looked at once per probe interval, so that when
 * a reset comes (which throws the system's count away) the last count says
 * how much had arrived, and the deadline counts from the last bytes seen
 * acknowledged, as a read's does. At the deadline, nothing left
 * unacknowledged is a delivery; anything left is cut. A peer that had ended
 * its sending before this side's last byte has no end left to tell: the
 * first look that finds its queue empty settles it.
 */
export const finish = (
  state: SocketState,
  watchdog: Watchdog,
  millis: number,
  socket: Finishing
): Effect.Effect<Ending> =>
  // One step: what needs no wait is done in the registration.
  Effect.async<Ending>((resume) => {
    if (state.failure) return resume(Effect.succeed({ _tag: "Broken", failure: state.failure }))
    const endedBefore = state.ended
    // A socket closes once both sides ended: its ports are read now, to look at its queue later.
    if (endedBefore && state.ends === undefined && !state.closed) state.ends = state.endsOf?.()
    state.discard()
    if (!state.closed) socket.shutdown()
    let done = false
    let watch: Watch | undefined
    const stop = () => {
      done = true
      if (state.onReadable === check) state.onReadable = undefined
      if (watch !== undefined) watchdog.unwatch(watch)
    }
    const settle = (ending: Ending) => {
      if (done) return
      stop()
      resume(Effect.succeed(ending))
    }
    /** Woken when the peer ends, the socket closes or fails. */
    const check = (): void => {
      if (done) return
      if (state.failure) return settle({ _tag: "Broken", failure: state.failure })
      if (!endedBefore && state.ended) return settle(CLOSED)
      state.onReadable = check
    }
    check()
    if (done) return
    // A peer that ended first has no end left to tell; once the socket closed, its row leaves the
    // system's table when this side's FIN was acknowledged, and every byte before it: nothing is
    // left unacknowledged then.
    const look = endedBefore
      ? () => {
          const queued = socket.unacknowledged()
          return queued === undefined && state.closed && state.ends !== undefined && systemTables() ? 0 : queued
        }
      : socket.unacknowledged
    watch = progressWatch(
      state,
      watchdog,
      millis,
      look,
      (queued) => {
        if (queued === 0) return settle(ACKNOWLEDGED)
        // Settled first: the cut's own close event must not read as the peer's end.
        settle(STALLED)
        if (!state.closed) socket.cut()
      },
      { from: watchdog.now() + probeMillis(millis), drained: endedBefore ? () => settle(ACKNOWLEDGED) : undefined }
    )
    watchdog.watch(watch, watch.at)
    return Effect.sync(stop)
  })

/** Bytes already in memory as a source: its one fill finds them in place. */
export const bytesSource = (bytes: Uint8Array): ByteSource<never> => ({
  buffer: bytes,
  fill: (into) => Either.right(into.length)
})

/** Sends every byte: what the socket takes at once without any wait, the rest pumped at its pace. */
export const writeAll = <E>(
  state: SocketState,
  port: Port,
  watchdog: Watchdog,
  bytes: Uint8Array,
  within: Within<E> | undefined
): Effect.Effect<void, ConnectionFailure | E> =>
  Effect.suspend(() => {
    if (state.failure) return Effect.fail(state.failure)
    const taken = port.write(bytes, 0, bytes.length)
    if (taken < 0) return Effect.fail(closedFailure())
    state.sent += taken
    if (taken >= bytes.length) return Effect.void
    const rest = bytes.subarray(taken)
    return sendFrom<never, ConnectionFailure | E>(
      state,
      port,
      watchdog,
      bytesSource(rest),
      within === undefined
        ? { length: rest.length, millis: Number.POSITIVE_INFINITY, onIdle: closedFailure }
        : { length: rest.length, millis: within.millis, onIdle: within.onIdle }
    )
  })

/**
 * Sends `length` bytes from `source`: fill the buffer, write, wait for drain
 * (or a probe), and again, in the socket's callbacks, with one fiber step for
 * the whole transfer. One watch, armed when a stall begins, bounds each
 * stall: nothing is allocated per chunk, however often the socket fills up.
 */
export const sendFrom = <E1, E2>(
  state: SocketState,
  port: Port,
  watchdog: Watchdog,
  source: ByteSource<E1>,
  options: SendFromOptions<E2>
) =>
  Effect.async<void, ConnectionFailure | E1 | E2>((resume) => {
    const { buffer, fill } = source
    const { millis } = options
    const probe = probeMillis(millis)
    let left = options.length
    // buffer[start, end) is filled and not yet taken by the socket.
    let start = 0
    let end = 0
    /** When the socket last refused to take more (undefined: it took bytes since). */
    let stalledSince: number | undefined
    let watched = false
    let turn: ReturnType<typeof setImmediate> | undefined
    let done = false
    const stop = () => {
      done = true
      if (watched) watchdog.unwatch(watch)
      watched = false
      clearImmediate(turn)
      if (state.onWritable === attempt) state.onWritable = undefined
    }
    /** Ends the send and resumes the fiber, once. */
    const finish = (result: Effect.Effect<void, ConnectionFailure | E1 | E2>) => {
      if (done) return
      stop()
      resume(result)
    }
    /** While stalled: give up after `millis` without progress, else try the socket again. */
    const watch: Watch = {
      at: 0,
      look: (now) => {
        if (done || stalledSince === undefined) {
          watched = false
          return undefined
        }
        if (now - stalledSince >= millis) {
          watched = false
          finish(Effect.fail(options.onIdle()))
          return undefined
        }
        attempt()
        if (done || stalledSince === undefined) {
          watched = false
          return undefined
        }
        // Stalled a whole probe interval: a slow path. What the peer acknowledged is noted
        // (state.confirmed), so that a reset, which throws the system's count away, still
        // leaves a count of what arrived. A fast path is never stalled that long.
        if (now - stalledSince >= probe) unacknowledged(state)
        return Math.min(now + probe, stalledSince + millis)
      }
    }
    const pump = (): void => {
      for (let sentThisTurn = 0; sentThisTurn < TURN_BYTES; ) {
        if (state.failure) return finish(Effect.fail(state.failure))
        if (state.closed) return finish(Effect.fail(closedFailure()))
        if (start === end) {
          if (left === 0) return finish(Effect.void)
          const into = left >= buffer.length ? buffer : buffer.subarray(0, left)
          const filled = fill(into)
          if (Either.isLeft(filled)) return finish(Effect.fail(filled.left))
          if (!(filled.right > 0 && filled.right <= into.length)) {
            // A source must make progress: a count of 0 would spin here forever.
            return finish(Effect.die(new Error(`sendFrom: the source filled ${filled.right} of ${into.length} bytes`)))
          }
          start = 0
          end = filled.right
          left -= filled.right
        }
        const written = port.write(buffer, start, end - start)
        if (written < 0) {
          // Closed under the pump. Bun tells why (a reset, say) in the socket's
          // error and close callbacks, which may come after this write: the
          // pump fails when they do, with the socket's own error if it gave one.
          if (state.closed) return finish(Effect.fail(closedFailure()))
          state.onWritable = attempt
          return
        }
        if (written > 0) {
          state.sent += written
          stalledSince = undefined
          options.onSent?.(written)
        }
        sentThisTurn += written
        start += written
        if (start < end) {
          // The socket is full: go on when it drains or a probe finds room, or give
          // up after the idle time without progress. A shared buffer is left empty:
          // what the socket did not take is read again then.
          if (source.rewind !== undefined) {
            source.rewind(end - start)
            left += end - start
            start = end = 0
          }
          state.onWritable = attempt
          if (stalledSince === undefined) {
            stalledSince = watchdog.now()
            if (!watched && Number.isFinite(millis)) {
              watched = true
              watchdog.watch(watch, Math.min(stalledSince + probe, stalledSince + millis))
            }
          }
          return
        }
      }
      // The socket keeps taking bytes: let other connections and timers run before going on.
      turn = setImmediate(attempt)
    }
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
    return Effect.sync(stop)
  })

/**
 * Hands the next `length` bytes to `sink` from each segment as it arrives;
 * bytes past `length` go back to the front of the queue. One watch bounds
 * the wait for the next segment.
 */
export const receiveInto = <E1, E2>(
  state: SocketState,
  watchdog: Watchdog,
  sink: ByteSink<E1>,
  options: ReceiveIntoOptions<E2>
) =>
  Effect.async<number, ConnectionFailure | E1 | E2>((resume) => {
    const { length, millis } = options
    let need = length
    /** Since when the next segment is awaited. */
    let waitingSince = watchdog.now()
    let done = false
    const watch: Watch = {
      at: waitingSince + millis,
      look: (now) => {
        if (done) return undefined
        if (now - waitingSince >= millis) {
          finish(Effect.fail(options.onIdle()))
          return undefined
        }
        return waitingSince + millis
      }
    }
    const stop = () => {
      done = true
      watchdog.unwatch(watch)
      if (state.onData === deliver) state.onData = undefined
      if (state.onReadable === check) state.onReadable = undefined
    }
    const finish = (result: Effect.Effect<number, ConnectionFailure | E1 | E2>) => {
      stop()
      resume(result)
    }
    const deliver = (bytes: Uint8Array): void => {
      try {
        const part = bytes.length <= need ? bytes : bytes.subarray(0, need)
        const written = sink.write(part)
        if (Either.isLeft(written)) return finish(Effect.fail(written.left))
        need -= part.length
        if (part.length < bytes.length) state.putBack(bytes.subarray(part.length))
        if (need === 0) return finish(Effect.succeed(length))
        waitingSince = watchdog.now()
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
      const next = state.take()
      if (next === undefined) break
      if (next instanceof ConnectionFailure) return finish(Effect.fail(next))
      if (Option.isNone(next)) return finish(Effect.succeed(length - need))
      deliver(next.value)
    }
    if (done) return
    if (need === 0) return finish(Effect.succeed(length))
    state.onData = deliver
    state.onReadable = check
    if (Number.isFinite(millis)) watchdog.watch(watch, waitingSince + millis)
    return Effect.sync(stop)
  })

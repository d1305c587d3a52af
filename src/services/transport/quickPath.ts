import type { Socket } from "bun"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type { ConnectionFailure } from "../../domain/errors.ts"
import { closeSocket, peerOf } from "./bunSocket.ts"
import { bytesSource, startSend } from "./pumps.ts"
import { closedFailure, type SocketState } from "./socketState.ts"
import type { Quick, QuickAnswer } from "./Transport.ts"
import type { Watch, Watchdog } from "./watchdog.ts"

/**
 * The quick path of a listener: connections served in the socket's own
 * callbacks, without a fiber, a scope or the pumps' Effect wrappers.
 *
 * A new connection waits for its first event. A first segment that `quick`
 * answers is answered right in the callback: the reply is written, and what
 * the socket does not take at once, and the body if there is one, follow in
 * the socket's callbacks (`startSend`); then `done` is told and the
 * connection closed. A large download then holds only its pump's few
 * closures for as long as it lasts. Anything else goes to `inFiber`, the
 * first segment back in the queue as if nothing had happened.
 */

/**
 * The quick replies still going out, for the listener's shutdown: awaited
 * like the fibers for the grace period, then cut (`done` told of an
 * interruption, as a fiber's would be).
 */
export class QuickTransfers {
  private readonly cuts = new Set<() => void>()
  private readonly waiters = new Set<() => void>()

  get size(): number {
    return this.cuts.size
  }

  add(cut: () => void): void {
    this.cuts.add(cut)
  }

  delete(cut: () => void): void {
    if (!this.cuts.delete(cut) || this.cuts.size > 0) return
    for (const wake of this.waiters) wake()
    this.waiters.clear()
  }

  /** Done once no reply is going out. */
  readonly awaitEmpty: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.cuts.size === 0) return resume(Effect.void)
    const wake = () => resume(Effect.void)
    this.waiters.add(wake)
    return Effect.sync(() => void this.waiters.delete(wake))
  })

  /** Cuts every reply still going out. */
  cutAll(): void {
    for (const cut of [...this.cuts]) cut()
  }
}

/**
 * Sends what the socket did not take of the reply, then the body, in the
 * socket's callbacks; tells `done` and closes the connection at the end, or
 * when the listener's shutdown cuts it.
 */
const finishInCallbacks = <E>(
  socket: Socket<SocketState>,
  watchdog: Watchdog,
  transfers: QuickTransfers,
  answer: QuickAnswer<E>,
  rest: Uint8Array
): void => {
  const state = socket.data
  const { body, within } = answer
  // The last segment goes out at once, not after the peer's delayed ACK (Nagle).
  socket.setNoDelay(true)
  /** Stops the send under way (a stopped send does not call back). */
  let stop: (() => void) | undefined
  const end = (exit: Exit.Exit<void, ConnectionFailure | E>) => {
    transfers.delete(cut)
    try {
      answer.done(exit)
    } finally {
      closeSocket(socket)
    }
  }
  const cut = () => {
    stop?.()
    end(Exit.interrupt(FiberId.none))
  }
  transfers.add(cut)
  const sendBody = () => {
    if (body === undefined) return end(Exit.void)
    const options = { length: body.length, millis: within.millis, onIdle: within.onIdle, onSent: body.onSent }
    stop = startSend(state, socket, watchdog, body.source, options, end)
  }
  if (rest.length === 0) return sendBody()
  const options = { length: rest.length, millis: within.millis, onIdle: within.onIdle }
  const stopRest = startSend(state, socket, watchdog, bytesSource(rest), options, (exit) =>
    Exit.isSuccess(exit) ? sendBody() : end(exit)
  )
  // When the rest went out at once, the body's send is the one under way.
  stop ??= stopRest
}

/** Accepts a connection on the quick path (see the header). */
export const quickly =
  <E>(quick: Quick<E>, watchdog: Watchdog, inFiber: (socket: Socket<SocketState>) => void, transfers: QuickTransfers) =>
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
      finishInCallbacks(socket, watchdog, transfers, answer, answer.reply.subarray(taken))
    }
    state.onFirst = onFirst
    watchdog.watch(late, watchdog.now() + quick.firstSegmentMillis)
  }

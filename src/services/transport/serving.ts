import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import type { SocketState } from "./socketState.ts"
import type { Connection } from "./Transport.ts"
import type { Watch, Watchdog } from "./watchdog.ts"

/**
 * How a listener runs its connections, the same for every transport: each
 * accepted connection gets its handler, one Effect program in a fiber of its
 * own, and is closed when that fiber ends. A handler that holds resources
 * makes its scope itself, where it needs one (a scope per connection, made
 * and provided in the fiber, would cost more than the rest of a small
 * request).
 *
 * The fiber starts when the connection's first bytes arrive, already queued
 * for its first read, so a request that comes whole runs from start to end
 * in the socket's callback (`Runtime.runFork` runs at once, up to the first
 * wait). A connection that ends, fails or stays silent for `firstBytesMillis`
 * starts then, and its handler finds out by reading. Until then a connection
 * is its socket and one watch: no fiber, scope or timer.
 *
 * A handler's failures are its own (the type says it handles them all);
 * whatever ends its fiber ends that connection alone. On shutdown, connections that have not started are started (their handlers
 * decide what to say), those running get the grace period, and the rest are
 * interrupted.
 */
export class Serving<R> {
  private readonly running = new Set<Fiber.RuntimeFiber<void, never>>()
  private readonly waiting = new Set<() => void>()
  private readonly idle = new Set<() => void>()
  private readonly runFork: (effect: Effect.Effect<void, never, R>) => Fiber.RuntimeFiber<void, never>

  constructor(
    runtime: Runtime.Runtime<R>,
    private readonly watchdog: Watchdog,
    private readonly firstBytesMillis: number,
    private readonly handle: (connection: Connection) => Effect.Effect<void, never, R>
  ) {
    // A connection's fiber keeps no runtime metrics (fibers started, ended, their
    // lifetimes): Effect updates five of them for every fiber, which is a visible
    // share of a small request, and nothing here reads them.
    this.runFork = Runtime.runFork(Runtime.disableRuntimeFlag(runtime, RuntimeFlags.RuntimeMetrics))
  }

  /** Takes a new connection: `connection` is its handler's view of it, `close` ends it. */
  accept(state: SocketState, connection: Connection, close: () => void): void {
    let started = false
    const start = (): void => {
      if (started) return
      started = true
      state.onFirst = undefined
      this.watchdog.unwatch(late)
      this.waiting.delete(start)
      this.run(connection, close)
    }
    const late: Watch = {
      at: 0,
      look: () => {
        start()
        return undefined
      }
    }
    if (this.firstBytesMillis <= 0) return start()
    state.onFirst = start
    this.waiting.add(start)
    this.watchdog.watch(late, this.watchdog.now() + this.firstBytesMillis)
  }

  private run(connection: Connection, close: () => void): void {
    const fiber = this.runFork(this.handle(connection))
    this.running.add(fiber)
    // Told at once when the fiber already ended (the whole operation ran in this call).
    fiber.addObserver(() => {
      this.running.delete(fiber)
      close()
      if (this.running.size === 0 && this.waiting.size === 0) this.wakeIdle()
    })
  }

  private wakeIdle(): void {
    for (const wake of this.idle) wake()
    this.idle.clear()
  }

  /** Done once no connection is waiting to start or running. */
  private readonly awaitEmpty: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.running.size === 0 && this.waiting.size === 0) return resume(Effect.void)
    const wake = () => resume(Effect.void)
    this.idle.add(wake)
    return Effect.sync(() => void this.idle.delete(wake))
  })

  /**
   * After the listener stopped accepting: starts the connections that had
   * sent nothing yet, waits up to `graceMillis` for every connection to
   * end, then interrupts the rest and waits for their finalizers.
   */
  shutdown(graceMillis: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      for (const start of [...this.waiting]) start()
      return Effect.interruptible(this.awaitEmpty).pipe(
        Effect.timeout(graceMillis),
        Effect.ignore,
        Effect.zipRight(Effect.suspend(() => Fiber.interruptAll([...this.running]))),
        Effect.zipRight(this.awaitEmpty)
      )
    })
  }
}

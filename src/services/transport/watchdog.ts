import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"

/**
 * A wait under a deadline. The watchdog calls `look` once its clock reaches
 * `at`; `look` says when to look again, or undefined when the wait needs no
 * more watching (it ended, or it expired and failed itself). A wait that
 * makes progress only moves its own bookkeeping: the watchdog finds out at
 * the next look, so progress costs nothing here.
 */
export interface Watch {
  at: number
  readonly look: (now: number) => number | undefined
}

/**
 * The one idle watchdog of a transport: every wait under a deadline, of every
 * connection, is watched by a single sleeper on Effect's `Clock`, so a
 * `TestClock` drives the deadlines of a test. Waits that end in time cost a
 * set insertion and removal: no timer, no fiber of their own.
 *
 * The sleeper is forked when a wait is due before it would wake, and it is
 * left to wake even when nothing is watched any more: a server that starts
 * and ends a wait per connection would otherwise fork and interrupt a
 * sleeper per connection, which cost more than the rest of a small
 * operation. So a live sleeper may keep the process up to the longest
 * deadline; `stop` ends it (a program that is done exits explicitly).
 */
export class Watchdog {
  private readonly watched = new Set<Watch>()
  private wakeAt = Number.POSITIVE_INFINITY
  private sleeper: Fiber.RuntimeFiber<void> | undefined
  private looking = false

  constructor(
    private readonly clock: Clock.Clock,
    private readonly runtime: Runtime.Runtime<never>
  ) {}

  /** A watchdog on the clock and runtime of the fiber that makes it, stopped with its scope. */
  static readonly make: Effect.Effect<Watchdog, never, Scope.Scope> = Effect.acquireRelease(
    Effect.zipWith(Effect.clock, Effect.runtime<never>(), (clock, runtime) => new Watchdog(clock, runtime)),
    (watchdog) => Effect.sync(() => watchdog.stop())
  )

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  /** Looks at `watch` at `at`, and then when it asks. */
  watch(watch: Watch, at: number): void {
    watch.at = at
    this.watched.add(watch)
    if (!this.looking && at < this.wakeAt) this.arm(at)
  }

  /** The wait ended: no more looks. */
  unwatch(watch: Watch): void {
    this.watched.delete(watch)
  }

  /** Forgets every wait and ends the sleeper (when the transport's scope closes). */
  stop(): void {
    this.watched.clear()
    this.disarm()
  }

  /** How many waits are watched, for tests. */
  get size(): number {
    return this.watched.size
  }

  private arm(at: number): void {
    this.disarm()
    this.wakeAt = at
    const sleep = this.clock.sleep(Duration.millis(Math.max(0, at - this.now())))
    this.sleeper = Runtime.runFork(this.runtime)(Effect.zipRight(sleep, this.wake))
  }

  private disarm(): void {
    const sleeper = this.sleeper
    this.sleeper = undefined
    this.wakeAt = Number.POSITIVE_INFINITY
    sleeper?.unsafeInterruptAsFork(sleeper.id())
  }

  private readonly wake = Effect.sync(() => {
    this.sleeper = undefined
    this.wakeAt = Number.POSITIVE_INFINITY
    const now = this.now()
    // A look that throws is a bug: its wait is dropped and the defect reported,
    // after the other waits were looked at and the next wake armed.
    let defect: { readonly error: unknown } | undefined
    this.looking = true
    try {
      for (const watch of this.watched) {
        if (watch.at > now) continue
        let again: number | undefined
        try {
          again = watch.look(now)
        } catch (error) {
          defect ??= { error }
          again = undefined
        }
        if (again === undefined) this.watched.delete(watch)
        else watch.at = again
      }
    } finally {
      this.looking = false
    }
    let next = Number.POSITIVE_INFINITY
    for (const watch of this.watched) next = Math.min(next, watch.at)
    if (next !== Number.POSITIVE_INFINITY) this.arm(next)
    if (defect !== undefined) throw defect.error
  })
}

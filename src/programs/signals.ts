import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

/** Exit status of a program that Ctrl+C cut short (128 + SIGINT, as shells report it). */
export const INTERRUPTED_STATUS = 130

/**
 * A second signal this soon after the first is the same Ctrl+C delivered
 * twice (`bun run` and `npm run` pass the terminal's SIGINT on to a child
 * that already got it from the terminal), not a person pressing it again.
 */
export const SAME_SIGNAL_MILLIS = 300

/** Where stop signals come from: the process's own, or a test's. */
export interface Signals {
  /** Calls `handler` on each signal until the returned function is called. */
  readonly listen: (handler: () => void) => () => void
  readonly now: () => number
}

/** The process's signals of these names. */
export const processSignals = (...names: ReadonlyArray<NodeJS.Signals>): Signals => ({
  listen: (handler) => {
    for (const name of names) process.on(name, handler)
    return () => {
      for (const name of names) process.off(name, handler)
    }
  },
  now: () => Date.now()
})

export type Stopped<A, E> =
  /** The effect ended: by itself, or stopped by a signal (then `signalled`). */
  | { readonly _tag: "Ended"; readonly exit: Exit.Exit<A, E>; readonly signalled: boolean }
  /** A second signal came while the effect was still stopping: it was left to it, unfinished. */
  | { readonly _tag: "Abandoned" }

/**
 * Runs `effect` so that a signal stops it gracefully (it is interrupted, and
 * its finalizers run), and a second one, at least SAME_SIGNAL_MILLIS after
 * the first, stops waiting for that: the result is then `Abandoned`, with the
 * effect still stopping in the background, and the caller is expected to
 * leave at once (the process exits at its edge). The signals are listened to
 * only while `effect` runs.
 */
export const stoppedBy = <A, E, R>(
  signals: Signals,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<Stopped<A, E>, never, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const self = yield* Effect.fiberId
      const abandoned = yield* Deferred.make<void>()
      // A daemon: leaving early must not wait for its interruption to end.
      const fiber = yield* Effect.forkDaemon(restore(effect))
      let firstAt: number | undefined
      const stopListening = signals.listen(() => {
        const now = signals.now()
        if (firstAt === undefined) {
          firstAt = now
          fiber.unsafeInterruptAsFork(self)
        } else if (now - firstAt >= SAME_SIGNAL_MILLIS) {
          Deferred.unsafeDone(abandoned, Exit.void)
        }
      })
      const ended = Effect.map(
        Fiber.await(fiber),
        (exit): Stopped<A, E> => ({ _tag: "Ended", exit, signalled: firstAt !== undefined })
      )
      const left = Effect.as(Deferred.await(abandoned), { _tag: "Abandoned" } as Stopped<A, E>)
      return yield* restore(Effect.raceFirst(ended, left)).pipe(
        Effect.onInterrupt(() => Fiber.interrupt(fiber)),
        Effect.ensuring(Effect.sync(stopListening))
      )
    })
  )

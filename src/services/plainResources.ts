import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"

/**
 * `Effect.acquireRelease` for the per-connection path: the same guarantees
 * (acquired without interruption, released once when the scope closes, with
 * its exit), without restoring the acquiring fiber's FiberRefs around the
 * release. `acquireRelease` diffs every FiberRef twice per finalizer to do
 * that, which made the finalizers a large share of a small operation's
 * cost. Use it only where `release` reads no FiberRef of the acquisition (no
 * log annotations, no services provided in between): closing a descriptor,
 * a socket, giving back a slot.
 */
export const acquireReleasePlain = <A, E, R>(
  acquire: Effect.Effect<A, E, R>,
  release: (a: A, exit: Exit.Exit<unknown, unknown>) => Effect.Effect<unknown>
): Effect.Effect<A, E, R | Scope.Scope> =>
  Effect.uninterruptible(
    Effect.flatMap(Effect.scope, (scope) =>
      Effect.tap(acquire, (a) => Scope.addFinalizerExit(scope, (exit) => release(a, exit)))
    )
  )

/**
 * `Effect.acquireUseRelease` in fewer interpreter steps, for the
 * per-connection path: `acquire` runs without interruption, `use` with the
 * caller's, and `release` once, however `use` ended (success, failure or
 * interruption). Unlike `acquireUseRelease`, `release` is a plain function,
 * run in the step that sees `use` end: it is not told how `use` ended and
 * may not fail (closing a descriptor, giving back a place).
 */
export const usePlain = <A, E1, R1, B, E2, R2>(
  acquire: Effect.Effect<A, E1, R1>,
  use: (a: A) => Effect.Effect<B, E2, R2>,
  release: (a: A) => void
): Effect.Effect<B, E1 | E2, R1 | R2> =>
  Effect.uninterruptibleMask((restore) => Effect.flatMap(acquire, (a) => releasing(restore(use(a)), () => release(a))))

/**
 * Runs `release` once `effect` ends, however it ends, in the same step that
 * sees it end. Interruption is the caller's business: call it where
 * interruption is masked, with `effect` restored (see `usePlain`).
 */
export const releasing = <A, E, R>(effect: Effect.Effect<A, E, R>, release: () => void): Effect.Effect<A, E, R> =>
  Effect.matchCauseEffect(effect, {
    onFailure: (cause) => {
      release()
      return Effect.failCause(cause)
    },
    onSuccess: (a) => {
      release()
      return Effect.succeed(a)
    }
  })

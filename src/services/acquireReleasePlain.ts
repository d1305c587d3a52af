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

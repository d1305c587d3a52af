import { Cause, Effect, Either, Exit, Logger, LogLevel, Option, type Scope } from "effect"

/**
 * `@effect/vitest` does not run under `bun test`; these helpers run an Effect
 * with a scope and without log output, and hand back its value or its exit.
 */
const quietly = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  effect.pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None))

export const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> => Effect.runPromise(quietly(effect))

export const runExit = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<Exit.Exit<A, E>> =>
  Effect.runPromiseExit(quietly(effect))

/** The typed failure of an Exit; throws when it succeeded or died. */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

/** The Right of an Either, or a test failure that shows the Left. */
export const rightOf = <R, L>(either: Either.Either<R, L>): R => {
  if (Either.isLeft(either)) throw new Error(`expected Right, got Left: ${String(either.left)}`)
  return either.right
}

/** The Left of an Either, or a test failure that shows the Right. */
export const leftOf = <R, L>(either: Either.Either<R, L>): L => {
  if (Either.isRight(either)) throw new Error(`expected Left, got Right: ${JSON.stringify(either.right)}`)
  return either.left
}

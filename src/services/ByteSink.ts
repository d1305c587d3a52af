import type * as Either from "effect/Either"

/**
 * Where received bytes go as they arrive, from the socket's own callbacks: a
 * transfer that moves them without a fiber step per segment. `write` takes
 * every byte it is given or fails; it is synchronous, so it must only ever
 * take a moment (a write to the page cache, never a wait on a peer).
 */
export interface ByteSink<E> {
  readonly write: (bytes: Uint8Array) => Either.Either<void, E>
}

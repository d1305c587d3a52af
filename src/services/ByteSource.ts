import type * as Either from "effect/Either"

/**
 * Bytes produced on demand into one reused buffer: what a file offers to a
 * transfer that moves it chunk by chunk without a fiber step per chunk.
 * `fill` writes the next bytes into `into` (a prefix of `buffer`) and returns
 * how many; it is synchronous, so it must only ever take microseconds (a read
 * from the page cache, never a wait on a peer).
 */
export interface ByteSource<E> {
  readonly buffer: Uint8Array
  readonly fill: (into: Uint8Array) => Either.Either<number, E>
}

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
  /**
   * Steps the source back by `bytes`: the next fill gives them again. A source
   * that can is one whose `buffer` may be shared with other transfers (a
   * file's bytes, read again from the page cache): a transfer then never
   * leaves bytes in the buffer between two callbacks; what the socket did not
   * take is stepped back and read again when it has room.
   */
  readonly rewind?: ((bytes: number) => void) | undefined
}

import { createHash } from "node:crypto"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

/** MD5 of a stream of bytes, as the 16 raw bytes the protocol carries. */
export interface HasherService {
  readonly md5: <E>(bytes: Stream.Stream<Uint8Array, E>) => Effect.Effect<Uint8Array, E>
}

export class Hasher extends Context.Tag("Hasher")<Hasher, HasherService>() {}

/** Bun's native MD5. */
export const HasherLive = Layer.succeed(Hasher, {
  md5: <E>(bytes: Stream.Stream<Uint8Array, E>): Effect.Effect<Uint8Array, E> =>
    Stream.runFold(bytes, new Bun.CryptoHasher("md5"), (hasher, chunk) => hasher.update(chunk)).pipe(
      Effect.map((hasher) => new Uint8Array(hasher.digest()))
    )
})

/** An independent implementation (node:crypto), for tests that cross-check the live one. */
export const HasherTest = Layer.succeed(Hasher, {
  md5: <E>(bytes: Stream.Stream<Uint8Array, E>): Effect.Effect<Uint8Array, E> =>
    Stream.runFold(bytes, createHash("md5"), (hash, chunk) => hash.update(chunk)).pipe(
      Effect.map((hash) => new Uint8Array(hash.digest()))
    )
})

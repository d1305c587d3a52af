import { describe, expect, test } from "bun:test"
import { Effect, type Layer, Stream } from "effect"
import { Hasher, HasherLive, HasherTest } from "../../src/services/Hasher.ts"
import { concatBytes, seededBytes, unevenChunks } from "../support/bytes.ts"
import { run, runExit } from "../support/effect.ts"
import { md5Hex } from "../support/md5.ts"

/** HasherLive (Bun) and HasherTest (node:crypto) must agree with each other and with node:crypto itself. */

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const md5With = (layer: Layer.Layer<Hasher>, chunks: ReadonlyArray<Uint8Array>) =>
  run(
    Effect.gen(function* () {
      const hasher = yield* Hasher
      return yield* hasher.md5(Stream.fromIterable(chunks))
    }).pipe(Effect.provide(layer), Effect.timeout("10 seconds"))
  )

/** The MD5 of the chunks joined, hashed in one piece. */
const reference = (chunks: ReadonlyArray<Uint8Array>) => md5Hex(concatBytes(chunks))

const utf8 = (text: string) => new TextEncoder().encode(text)
const mib = seededBytes(1024 * 1024, 0x5eed)

const cases: ReadonlyArray<readonly [string, ReadonlyArray<Uint8Array>, string | undefined]> = [
  ["empty stream", [], "d41d8cd98f00b204e9800998ecf8427e"],
  ["one empty chunk", [new Uint8Array(0)], "d41d8cd98f00b204e9800998ecf8427e"],
  ["abc", [utf8("abc")], "900150983cd24fb0d6963f7d28e17f72"],
  [
    "abc split in three, with empty chunks",
    [utf8("a"), new Uint8Array(0), utf8("b"), utf8("c"), new Uint8Array(0)],
    "900150983cd24fb0d6963f7d28e17f72"
  ],
  ["1 MiB in one chunk", [mib], undefined],
  ["1 MiB in uneven chunks up to 64 KiB", unevenChunks(mib, 1, 64 * 1024, true), undefined],
  ["1 MiB in uneven chunks up to 100 bytes", unevenChunks(mib, 2, 100), undefined],
  [
    "1 MiB less 8 bytes, as subarrays of a larger buffer",
    unevenChunks(mib.subarray(3, mib.length - 5), 3, 70_000),
    undefined
  ]
]

describe("Hasher", () => {
  test.each(cases)("%s", async (_label, chunks, known) => {
    const expected = known ?? reference(chunks)
    expect(reference(chunks)).toBe(expected)
    const live = await md5With(HasherLive, chunks)
    const independent = await md5With(HasherTest, chunks)
    expect(live).toBeInstanceOf(Uint8Array)
    expect(live.length).toBe(16)
    expect(hex(live)).toBe(expected)
    expect(hex(independent)).toBe(expected)
  })

  test("the chunks of a split input hash like the whole", async () => {
    const whole = await md5With(HasherLive, [mib])
    const split = await md5With(HasherLive, unevenChunks(mib, 4, 4096))
    expect(hex(split)).toBe(hex(whole))
  })

  test("a failing stream fails the hash with the stream's error, in both", async () => {
    for (const layer of [HasherLive, HasherTest]) {
      const exit = await runExit(
        Effect.gen(function* () {
          const hasher = yield* Hasher
          return yield* hasher.md5(Stream.concat(Stream.make(utf8("abc")), Stream.fail("boom" as const)))
        }).pipe(Effect.provide(layer))
      )
      expect(exit._tag).toBe("Failure")
      expect(JSON.stringify(exit)).toContain("boom")
    }
  })

  test("each run starts a fresh hash (the same stream hashed twice gives the same digest)", async () => {
    const stream = Stream.fromIterable([utf8("abc")])
    const twice = await run(
      Effect.gen(function* () {
        const hasher = yield* Hasher
        const first = yield* hasher.md5(stream)
        const second = yield* hasher.md5(stream)
        return [hex(first), hex(second)]
      }).pipe(Effect.provide(HasherLive))
    )
    expect(twice).toEqual(["900150983cd24fb0d6963f7d28e17f72", "900150983cd24fb0d6963f7d28e17f72"])
  })
})

import { describe, expect, test } from "bun:test"
import { Effect, Either, Option, Stream } from "effect"
import { EXISTS } from "../../src/services/FileStore.ts"
import { fullDiskAfter, makeMemoryFileStore, systemFailure } from "../../src/services/FileStoreMemory.ts"
import { failureOf, run, runExit } from "../support/effect.ts"

/**
 * The in-memory FileStore the program tests run on: the live store's
 * semantics where the programs depend on them, and failure injection.
 */

const utf8 = (text: string) => new TextEncoder().encode(text)

describe("reading", () => {
  test("list: every valid name, partials included, sorted; folders are implied by names", async () => {
    const store = makeMemoryFileStore({ "b.txt": "bb", "a/c.txt": "c", "a.txt.parcial": "x", ".oculto": "h" })
    expect(await run(store.list)).toEqual([
      { name: "a.txt.parcial", size: 1 },
      { name: "a/c.txt", size: 1 },
      { name: "b.txt", size: 2 }
    ])
  })

  test("openRead: a file's bytes through read, chunks and source; a folder, a missing name and an escape fail", async () => {
    const body = Uint8Array.from({ length: 200_000 }, (_, i) => i & 0xff)
    const store = makeMemoryFileStore({ "big.bin": body, "a/c.txt": "c" }, { chunkBytes: 1000 })
    const chunks = await run(
      Effect.flatMap(store.openRead("big.bin"), (file) => Stream.runCollect(file.chunks(10, 2500)))
    )
    expect([...chunks].map((chunk) => chunk.length)).toEqual([1000, 1000, 500])
    expect(new Uint8Array(Buffer.concat([...chunks]))).toEqual(body.subarray(10, 2510))
    const filled = await run(
      Effect.flatMap(store.openRead("big.bin"), (file) =>
        Effect.map(file.source(199_500), (source) => [source.fill(source.buffer), source.fill(source.buffer)])
      )
    )
    expect(filled[0]).toEqual(Either.right(500))
    expect(Either.isLeft(filled[1]!)).toBe(true)
    expect(failureOf(await runExit(store.openRead("a")))).toMatchObject({ reason: "NotRegularFile" })
    expect(failureOf(await runExit(store.openRead("nada.txt")))).toMatchObject({ reason: "NotFound" })
    expect(failureOf(await runExit(store.openRead("../fora.txt")))).toMatchObject({ reason: "OutsideRoot" })
  })
})

describe("writing", () => {
  test("createAtomic: invisible until the commit; gone when the scope closes without it", async () => {
    const store = makeMemoryFileStore({ "old.txt": "old" })
    await run(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("new.txt")
        file.sink.write(utf8("new"))
        expect(store.files.has("new.txt")).toBe(false)
        expect(store.temporaries().length).toBe(1)
        yield* file.commit
        expect(store.text("new.txt")).toBe("new")
      })
    )
    await run(Effect.flatMap(store.createAtomic("lost.txt"), (file) => Effect.sync(() => file.sink.write(utf8("x")))))
    expect(store.files.has("lost.txt")).toBe(false)
    expect(store.temporaries()).toEqual([])
    const refused = await runExit(
      Effect.flatMap(store.createAtomic("old.txt", { replace: false }), (file) => file.commit)
    )
    expect(failureOf(refused)).toMatchObject({ reason: "PermissionDenied", detail: EXISTS })
  })

  test("openPartial: grows visibly, is cut to `keep`, and completes over the name", async () => {
    const store = makeMemoryFileStore({ "a.txt.parcial": "abcdef" })
    await run(
      Effect.gen(function* () {
        const partial = yield* store.openPartial("a.txt", 2)
        expect(partial.size).toBe(2)
        partial.sink.write(utf8("XY"))
        expect(store.text("a.txt.parcial")).toBe("abXY")
        expect(yield* store.partialSize("a.txt")).toEqual(Option.some(4))
        yield* partial.complete
      })
    )
    expect(store.text("a.txt")).toBe("abXY")
    expect(store.files.has("a.txt.parcial")).toBe(false)
  })

  test("a name under a file, or a folder's name, cannot be written", async () => {
    const store = makeMemoryFileStore({ "a.txt": "a", "d/x.txt": "x" })
    expect(failureOf(await runExit(store.checkWritable("a.txt/b")))).toMatchObject({ reason: "NotFound" })
    expect(failureOf(await runExit(store.checkWritable("d")))).toMatchObject({ reason: "IsDirectory" })
  })
})

describe("space and injected failures", () => {
  test("the free space is the capacity left; a write past it stores what fits and fails as a full disk", async () => {
    const store = makeMemoryFileStore({ "a.txt": "12345" }, { capacity: 10 })
    expect(await run(store.freeSpace)).toBe(5)
    const written = await run(
      Effect.flatMap(store.openPartial("b.txt"), (partial) => Effect.sync(() => partial.sink.write(utf8("abcdefg"))))
    )
    expect(written).toEqual(Either.left(systemFailure("b.txt", "NoSpace", "ENOSPC")))
    expect(store.text("b.txt.parcial")).toBe("abcde")
  })

  test("fullDiskAfter: the sink fails once the file would pass the size", async () => {
    const store = makeMemoryFileStore({}, { fail: fullDiskAfter(4, "up.txt") })
    const results = await run(
      Effect.flatMap(store.createAtomic("up.txt"), (file) =>
        Effect.sync(() => [file.sink.write(utf8("abc")), file.sink.write(utf8("de"))])
      )
    )
    expect(results[0]).toEqual(Either.void)
    expect(results[1]).toEqual(Either.left(systemFailure("up.txt", "NoSpace", "ENOSPC")))
    expect(store.temporaries()).toEqual([])
  })

  test("fail: any operation on any name fails with what it returns", async () => {
    const store = makeMemoryFileStore(
      { "a.txt": "a", "b.txt": "b" },
      {
        fail: (at) =>
          at.operation === "openRead" && at.name === "b.txt" ? systemFailure("b.txt", "Io", "EIO") : undefined
      }
    )
    expect((await runExit(store.openRead("a.txt")))._tag).toBe("Success")
    expect(failureOf(await runExit(store.openRead("b.txt")))).toMatchObject({ reason: "Io" })
  })
})

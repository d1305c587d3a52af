import { afterEach, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test"
import { constants } from "node:fs"
import * as fs from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Chunk, Effect, Either, type Exit, Option, type Scope, Stream } from "effect"
import { FileFailure, type FileFailureReason } from "../../src/domain/errors.ts"
import type { ByteSink } from "../../src/services/ByteSink.ts"
import type { ByteSource } from "../../src/services/ByteSource.ts"
import { FileStore, type FileStoreService, openScoped, type ReadableFile } from "../../src/services/FileStore.ts"
import { FileStoreLive, makeFileStore } from "../../src/services/FileStoreLive.ts"
import { MARKS_FOLDER, STALE_MILLIS } from "../../src/services/files/owners.ts"
import { makeReadBuffers, type ReadBuffers, SHARED_READ } from "../../src/services/files/reading.ts"
import { concatBytes, seededBytes } from "../support/bytes.ts"
import { failureOf, run, runExit } from "../support/effect.ts"
import { within } from "../support/waiting.ts"

/**
 * The live FileStore over a fresh temporary folder. Every test gets a base
 * folder holding `root/` (the store) and `outside/` (what must never be
 * reached through the store), both removed afterwards.
 */

const KIB = 1024
const CHUNK = 256 * KIB
const SIZE_LARGE = 600 * KIB + 7
/** Upper bound for any single store operation; nothing here should come close. */
const BOUND = "10 seconds"
setDefaultTimeout(30_000)

let base: string
let root: string
let outside: string
let store: FileStoreService

beforeEach(async () => {
  base = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), "filestore-")))
  root = path.join(base, "root")
  outside = path.join(base, "outside")
  await fs.mkdir(root)
  await fs.mkdir(outside)
  await fs.writeFile(path.join(outside, "secret.txt"), "secret")
  store = await run(makeFileStore(root))
})

afterEach(() => fs.rm(base, { recursive: true, force: true }))

const utf8 = (text: string) => new TextEncoder().encode(text)
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")

/** Writes a file under root, creating its folders. */
const put = async (name: string, content: string | Uint8Array) => {
  const full = path.join(root, name)
  await fs.mkdir(path.dirname(full), { recursive: true })
  await fs.writeFile(full, content)
}

const mkfifo = (full: string) => {
  const result = Bun.spawnSync(["mkfifo", full])
  if (result.exitCode !== 0) throw new Error(`mkfifo failed: ${result.stderr.toString()}`)
}

const exists = (full: string) =>
  fs.lstat(full).then(
    () => true,
    () => false
  )

/** A write through a file's sink, as an Effect that fails with its FileFailure. */
const append = (file: { readonly sink: ByteSink<FileFailure> }, bytes: Uint8Array) =>
  Either.match(file.sink.write(bytes), { onLeft: Effect.fail, onRight: () => Effect.void })

const readRange = (file: ReadableFile, from: number, length: number) =>
  Stream.runCollect(file.chunks(from, length)).pipe(Effect.map((chunks) => concatBytes(Chunk.toReadonlyArray(chunks))))

/** Opens `name`, reads it whole and closes it. */
const readName = (name: string, using: FileStoreService = store) =>
  runExit(
    Effect.gen(function* () {
      const file = yield* openScoped(using, name)
      const bytes = yield* readRange(file, 0, file.size)
      return { name: file.name, size: file.size, text: text(bytes) }
    }).pipe(Effect.timeout(BOUND))
  )

/** The reason of a FileFailure exit; fails the test on anything else. */
const reasonOf = (exit: Exit.Exit<unknown, unknown>): FileFailureReason => {
  const error = failureOf(exit)
  expect(error).toBeInstanceOf(FileFailure)
  return (error as FileFailure).reason
}

/**
 * Every entry under a folder, recursively, as relative paths (symlinks not
 * followed); the store's mark of a live writer (`.instancias/`, see
 * test/services/owners.test.ts) is left out.
 */
const tree = async (dir: string): Promise<Array<string>> => {
  const found: Array<string> = []
  const walk = async (current: string, prefix: string) => {
    for (const entry of await fs.readdir(current, { withFileTypes: true })) {
      if (prefix === "" && entry.name === MARKS_FOLDER) continue
      found.push(prefix + entry.name)
      if (entry.isDirectory()) await walk(path.join(current, entry.name), `${prefix}${entry.name}/`)
    }
  }
  await walk(dir, "")
  return found.sort()
}

const TEMP = /^\.envio-.*\.tmp$/

describe("makeFileStore", () => {
  test("the root is absolute and symlink-free, and created when missing", async () => {
    expect(store.root).toBe(root)
    const deep = path.join(base, "new", "deep")
    const created = await run(makeFileStore(deep))
    expect(created.root).toBe(deep)
    expect((await fs.stat(deep)).isDirectory()).toBe(true)
  })

  test("a root that is a regular file fails with a FileFailure", async () => {
    await fs.writeFile(path.join(base, "file"), "x")
    const exit = await runExit(makeFileStore(path.join(base, "file")))
    reasonOf(exit)
  })
})

describe("openRead: the path jail", () => {
  beforeEach(async () => {
    await put("plain.txt", "plain")
    await put("sub/deeper/nested.txt", "nested")
    await put("adir/in.txt", "in")
    await fs.mkdir(path.join(base, "root-evil"))
    await fs.writeFile(path.join(base, "root-evil", "x.txt"), "evil")
    const link = (target: string, name: string) => fs.symlink(target, path.join(root, name))
    await link("plain.txt", "link-inside")
    await link(path.join(root, "plain.txt"), "link-inside-abs")
    await link("../plain.txt", "sub/link-up-inside")
    await link("sub", "link-dir-inside")
    await link(".", "self")
    await link(path.join(outside, "secret.txt"), "link-outside-file")
    await link(outside, "link-outside-dir")
    await link("../outside", "up")
    await link("../outside/secret.txt", "up-file")
    await link("../../outside/secret.txt", "sub/up2")
    await link("..", "parent")
    await link("../root-evil/x.txt", "evil")
    await link("nowhere.txt", "dangling")
    await link(path.join(outside, "nowhere.txt"), "dangling-outside")
    await link("loop", "loop")
    mkfifo(path.join(root, "fifo"))
  })

  // [name, expected content, or the acceptable failure reasons]
  const table: ReadonlyArray<readonly [string, string | ReadonlyArray<FileFailureReason>]> = [
    ["plain.txt", "plain"],
    ["sub/deeper/nested.txt", "nested"],
    ["adir/in.txt", "in"],
    ["missing.txt", ["NotFound"]],
    ["sub/missing/x.txt", ["NotFound"]],
    ["plain.txt/x", ["NotFound"]],
    ["adir", ["NotRegularFile"]],
    ["sub", ["NotRegularFile"]],
    ["link-inside", "plain"],
    ["link-inside-abs", "plain"],
    ["sub/link-up-inside", "plain"],
    ["link-dir-inside/deeper/nested.txt", "nested"],
    ["self/plain.txt", "plain"],
    ["link-outside-file", ["OutsideRoot"]],
    ["link-outside-dir", ["OutsideRoot"]],
    ["link-outside-dir/secret.txt", ["OutsideRoot"]],
    ["up/secret.txt", ["OutsideRoot"]],
    ["up-file", ["OutsideRoot"]],
    ["sub/up2", ["OutsideRoot"]],
    ["parent/outside/secret.txt", ["OutsideRoot"]],
    ["parent/root/plain.txt", "plain"],
    ["evil", ["OutsideRoot"]],
    ["dangling", ["NotFound"]],
    ["dangling-outside", ["NotFound", "OutsideRoot"]],
    ["loop", ["NotFound", "OutsideRoot", "Io"]],
    ["fifo", ["NotRegularFile"]]
  ]

  test.each(table)("%p → %p", async (name, expected) => {
    const exit = await readName(name)
    if (typeof expected === "string") {
      expect(exit).toMatchObject({ _tag: "Success", value: { name, size: utf8(expected).length, text: expected } })
    } else {
      expect(expected).toContain(reasonOf(exit))
      expect((failureOf(exit) as FileFailure).name).toBe(name)
    }
  })

  test("source: gives the file from the start, through the store's one shared buffer", async () => {
    const content = new Uint8Array(300 * KIB).map((_, i) => (i * 7) % 251)
    await Bun.write(path.join(root, "big.bin"), content)
    const parts: Array<Uint8Array> = []
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const big = yield* openScoped(store, "big.bin")
          expect(big.size).toBe(content.length)
          const source = yield* big.source(0)
          const again = yield* big.source(0)
          expect(again.buffer).toBe(source.buffer)
          for (let left = big.size; left > 0; ) {
            const into = source.buffer.subarray(0, Math.min(left, source.buffer.length))
            const filled = source.fill(into)
            if (Either.isLeft(filled)) throw filled.left
            // A copy: the shared buffer is a Buffer, whose slice is a view.
            parts.push(Uint8Array.from(into.subarray(0, filled.right)))
            left -= filled.right
          }
        })
      )
    )
    expect(Buffer.concat(parts).equals(Buffer.from(content))).toBe(true)
  })

  test("a FIFO is refused promptly, without waiting for a writer", async () => {
    const fifo = path.join(root, "fifo")
    const pending = readName("fifo")
    const blocked = Symbol("blocked")
    const outcome = await within(pending, 3_000, () => blocked)
    if (outcome === blocked) {
      // Release the reader stuck in open(2) so the test can end, then fail.
      const writer = await fs.open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined)
      await writer?.close()
      await pending
      throw new Error("openRead blocked on a FIFO")
    }
    expect(reasonOf(outcome as Exit.Exit<unknown, unknown>)).toBe("NotRegularFile")
  })

  test("a root reached through a symlink is resolved: files stay readable, the jail still holds", async () => {
    await fs.symlink(root, path.join(base, "rootlink"))
    const viaLink = await run(makeFileStore(path.join(base, "rootlink")))
    expect(viaLink.root).toBe(root)
    expect(await readName("plain.txt", viaLink)).toMatchObject({ _tag: "Success", value: { text: "plain" } })
    expect(await readName("link-dir-inside/deeper/nested.txt", viaLink)).toMatchObject({ value: { text: "nested" } })
    expect(reasonOf(await readName("link-outside-file", viaLink))).toBe("OutsideRoot")
    expect(reasonOf(await readName("up/secret.txt", viaLink))).toBe("OutsideRoot")
  })

  test("a root whose parent is a symlink is resolved too", async () => {
    await fs.symlink(base, path.join(outside, "baselink"))
    const viaLink = await run(makeFileStore(path.join(outside, "baselink", "root")))
    expect(viaLink.root).toBe(root)
    expect(await readName("sub/deeper/nested.txt", viaLink)).toMatchObject({ value: { text: "nested" } })
  })

  test("size follows the same jail", async () => {
    expect(await run(store.size("plain.txt"))).toEqual(Option.some(5))
    expect(await run(store.size("link-inside"))).toEqual(Option.some(5))
    expect(await run(store.size("missing.txt"))).toEqual(Option.none())
    expect(await run(store.size("dangling"))).toEqual(Option.none())
    expect(reasonOf(await runExit(store.size("link-outside-file")))).toBe("OutsideRoot")
    expect(reasonOf(await runExit(store.size("up/secret.txt")))).toBe("OutsideRoot")
    expect(reasonOf(await runExit(store.size("fifo")))).toBe("NotRegularFile")
  })
})

describe("ReadableFile.chunks", () => {
  const SIZE = 600 * KIB
  const big = seededBytes(SIZE, 600)

  beforeEach(() => put("big.bin", big))

  const ranges: ReadonlyArray<readonly [number, number]> = [
    [0, SIZE],
    [0, 0],
    [SIZE, 0],
    [0, 1],
    [SIZE - 1, 1],
    [CHUNK - 1, 2],
    [CHUNK - 10, CHUNK + 20],
    [CHUNK, CHUNK],
    [CHUNK + 1, CHUNK - 1],
    [2 * CHUNK - 1, 1],
    [2 * CHUNK - 1, SIZE - 2 * CHUNK + 1],
    [1, SIZE - 1],
    [1, SIZE - 2],
    [300 * KIB, 100]
  ]

  test.each(ranges)("from %p, length %p → exactly those bytes", async (from, length) => {
    const bytes = await run(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "big.bin")
        expect(file.size).toBe(SIZE)
        return yield* readRange(file, from, length)
      }).pipe(Effect.timeout(BOUND))
    )
    expect(bytes.length).toBe(length)
    expect(Buffer.compare(bytes, big.subarray(from, from + length))).toBe(0)
  })

  test("the same stream runs twice from the start", async () => {
    const [first, second] = await run(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "big.bin")
        const stream = file.chunks(CHUNK - 5, 10)
        const collect = Stream.runCollect(stream).pipe(Effect.map((c) => concatBytes(Chunk.toReadonlyArray(c))))
        return [yield* collect, yield* collect] as const
      })
    )
    expect(Buffer.compare(first, big.subarray(CHUNK - 5, CHUNK + 5))).toBe(0)
    expect(Buffer.compare(second, first)).toBe(0)
  })

  test.each([
    [SIZE - 10, 20],
    [SIZE, 1],
    [SIZE + 100, 5]
  ])("a range past the end (from %p, length %p) fails with a FileFailure", async (from, length) => {
    const exit = await runExit(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "big.bin")
        return yield* readRange(file, from, length)
      }).pipe(Effect.timeout(BOUND))
    )
    reasonOf(exit)
  })

  test.each([0, 100 * KIB, CHUNK, 300 * KIB])(
    "a file truncated to %p bytes after opening fails the read",
    async (cut) => {
      const exit = await runExit(
        Effect.gen(function* () {
          const file = yield* openScoped(store, "big.bin")
          yield* Effect.promise(() => fs.truncate(path.join(root, "big.bin"), cut))
          return yield* readRange(file, 0, file.size)
        }).pipe(Effect.timeout(BOUND))
      )
      reasonOf(exit)
    }
  )
})

describe("list", () => {
  test("an empty folder lists nothing", async () => {
    expect(await run(store.list)).toEqual([])
  })

  test("recursive, code point order, hidden and temporary entries and symlinks left out, exact sizes", async () => {
    const visible: ReadonlyArray<readonly [string, number]> = [
      ["b.txt", SIZE_LARGE],
      ["a.txt", 0],
      ["a/b", 3],
      ["a/c/d.txt", 4],
      ["a-b", 2],
      ["a0", 5],
      ["Z.txt", 1],
      ["\u00e9.txt", 6],
      ["e\u0301.txt", 9],
      ["\uff5a", 7],
      ["\u{1f600}", 8]
    ]
    for (const [name, size] of visible) await put(name, seededBytes(size, size))
    for (const hidden of [
      ".hidden",
      ".git/config",
      "a/.secret",
      "a/.envio-abc.tmp",
      ".envio-x.tmp",
      "a/c/.envio-1.tmp"
    ]) {
      await put(hidden, "hidden")
    }
    await put("back\\slash", "invalid")
    await put("tab\tname", "invalid")
    await fs.writeFile(Buffer.concat([Buffer.from(`${root}/bad`), Buffer.from([0xff, 0xfe])]), "not utf-8")
    await fs.mkdir(path.join(root, "empty"))
    await fs.symlink("a.txt", path.join(root, "link-file"))
    await fs.symlink("a", path.join(root, "link-dir"))
    await fs.symlink(outside, path.join(root, "link-out"))
    await fs.symlink("../b.txt", path.join(root, "a", "link-up"))
    await fs.symlink("nowhere", path.join(root, "dangling"))
    mkfifo(path.join(root, "fifo"))

    const listed = await run(store.list.pipe(Effect.timeout(BOUND)))
    // Code point order: "-" (2D) < "." (2E) < "/" (2F) < "0" (30); U+FF5A before U+1F600 (UTF-16 order would swap them).
    expect(listed).toEqual([
      { name: "Z.txt", size: 1 },
      { name: "a-b", size: 2 },
      { name: "a.txt", size: 0 },
      { name: "a/b", size: 3 },
      { name: "a/c/d.txt", size: 4 },
      { name: "a0", size: 5 },
      { name: "b.txt", size: SIZE_LARGE },
      { name: "e\u0301.txt", size: 9 },
      { name: "\u00e9.txt", size: 6 },
      { name: "\uff5a", size: 7 },
      { name: "\u{1f600}", size: 8 }
    ])
  })

  test("sizes follow the files as they change", async () => {
    await put("x", "12345")
    expect(await run(store.list)).toEqual([{ name: "x", size: 5 }])
    await fs.appendFile(path.join(root, "x"), "678")
    expect(await run(store.list)).toEqual([{ name: "x", size: 8 }])
  })
})

describe("createAtomic", () => {
  test("the content is invisible under the final name until commit, and the temporary is hidden", async () => {
    await run(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("up.txt")
        yield* append(file, utf8("hello, "))
        yield* append(file, utf8("world"))
        yield* Effect.promise(async () => {
          expect(await exists(path.join(root, "up.txt"))).toBe(false)
          const entries = await tree(root)
          expect(entries.length).toBe(1)
          expect(entries[0]).toMatch(TEMP)
        })
        expect(yield* store.list).toEqual([])
        expect(yield* store.size("up.txt")).toEqual(Option.none())
        yield* file.commit
        expect(yield* store.list).toEqual([{ name: "up.txt", size: 12 }])
      }).pipe(Effect.timeout(BOUND))
    )
    expect(await fs.readFile(path.join(root, "up.txt"), "utf8")).toBe("hello, world")
    expect(await tree(root)).toEqual(["up.txt"])
  })

  test("segments of every size, small ones gathered across the growth of the write buffer, land in order", async () => {
    // Sizes chosen around the gathering limits: tiny, just under and over 64 KiB, and a run of
    // small ones that passes 1 MiB gathered (the buffer grows, then is flushed when full).
    const sizes = [
      1,
      7,
      4096,
      65_535,
      65_536,
      3,
      70_000,
      ...Array.from({ length: 40 }, (_, i) => 30_000 + i),
      2 * 1024 * 1024 + 5,
      9
    ]
    const segments = sizes.map((size, index) => seededBytes(size, index + 11))
    await run(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("mixed.bin")
        for (const segment of segments) yield* append(file, segment)
        yield* file.commit
      }).pipe(Effect.timeout(BOUND))
    )
    expect(
      Buffer.from(await fs.readFile(path.join(root, "mixed.bin"))).equals(Buffer.from(concatBytes(segments)))
    ).toBe(true)
  })

  test("closing the scope without commit leaves no file and no temporary", async () => {
    await run(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("gone.txt")
        yield* append(file, utf8("never seen"))
      })
    )
    expect(await tree(root)).toEqual([])
  })

  test("a failure after writing removes the temporary and the folders made for it", async () => {
    const exit = await runExit(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("dir/gone.txt")
        yield* append(file, utf8("never seen"))
        return yield* Effect.fail("client vanished" as const)
      })
    )
    expect(failureOf(exit)).toBe("client vanished")
    expect(await tree(root)).toEqual([])
  })

  test("an interruption after writing removes the temporary too", async () => {
    const exit = await runExit(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("gone.txt")
        yield* append(file, utf8("never seen"))
        return yield* Effect.interrupt
      })
    )
    expect(exit._tag).toBe("Failure")
    expect(await tree(root)).toEqual([])
  })

  test("commit over an existing file replaces it atomically; a reader already open keeps the old content", async () => {
    const old = seededBytes(300 * KIB, 1)
    await put("same.bin", old)
    const result = await run(
      Effect.gen(function* () {
        const before = yield* openScoped(store, "same.bin")
        const file = yield* store.createAtomic("same.bin")
        yield* append(file, utf8("new"))
        yield* file.commit
        const after = yield* openScoped(store, "same.bin")
        return {
          oldSize: before.size,
          oldBytes: yield* readRange(before, 0, before.size),
          newText: text(yield* readRange(after, 0, after.size))
        }
      }).pipe(Effect.timeout(BOUND))
    )
    expect(result.oldSize).toBe(old.length)
    expect(Buffer.compare(result.oldBytes, old)).toBe(0)
    expect(result.newText).toBe("new")
    expect(await tree(root)).toEqual(["same.bin"])
  })

  test("two writers of the same name: each commit is whole, the last one wins, nothing left over", async () => {
    const one = seededBytes(100 * KIB, 11)
    const two = seededBytes(90 * KIB, 22)
    await run(
      Effect.gen(function* () {
        const first = yield* store.createAtomic("race.bin")
        const second = yield* store.createAtomic("race.bin")
        yield* append(first, one)
        yield* append(second, two)
        yield* first.commit
        yield* second.commit
      })
    )
    expect(Buffer.compare(await fs.readFile(path.join(root, "race.bin")), two)).toBe(0)
    expect(await tree(root)).toEqual(["race.bin"])
  })

  test("writes of every size around the 1 MiB write buffer arrive whole and in order", async () => {
    const MIB = 1024 * KIB
    const sizes = [
      1,
      2,
      MIB - 3,
      5,
      MIB,
      1,
      3 * MIB + 7,
      ...Array.from({ length: 300 }, (_, i) => (i * 37) % 1000),
      MIB - 1,
      1,
      MIB + 1
    ]
    const pieces = sizes.map((size, i) => seededBytes(size, 1000 + i))
    await run(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("mixed.bin")
        for (const piece of pieces) yield* append(file, piece)
        yield* file.commit
      }).pipe(Effect.timeout(BOUND))
    )
    const written = await fs.readFile(path.join(root, "mixed.bin"))
    expect(written.length).toBe(sizes.reduce((a, b) => a + b, 0))
    expect(Buffer.compare(written, concatBytes(pieces))).toBe(0)
  })

  test("a caller may reuse its buffer as soon as write returns", async () => {
    const scratch = new Uint8Array(10)
    await run(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("reused.bin")
        for (let round = 0; round < 3; round++) {
          scratch.fill(65 + round)
          yield* append(file, scratch)
        }
        scratch.fill(0)
        yield* file.commit
      })
    )
    expect(await fs.readFile(path.join(root, "reused.bin"), "latin1")).toBe(
      "A".repeat(10) + "B".repeat(10) + "C".repeat(10)
    )
  })

  test("an empty file can be committed", async () => {
    await run(Effect.flatMap(store.createAtomic("empty.txt"), (file) => file.commit))
    expect(await run(store.list)).toEqual([{ name: "empty.txt", size: 0 }])
  })

  test("subfolders are created", async () => {
    await run(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("new/deep/er/file.txt")
        yield* append(file, utf8("deep"))
        yield* file.commit
      })
    )
    expect(await fs.readFile(path.join(root, "new/deep/er/file.txt"), "utf8")).toBe("deep")
    expect(await run(store.list)).toEqual([{ name: "new/deep/er/file.txt", size: 4 }])
  })

  test("a target that is an existing directory → IsDirectory, nothing created", async () => {
    await fs.mkdir(path.join(root, "adir"))
    expect(reasonOf(await runExit(store.createAtomic("adir")))).toBe("IsDirectory")
    expect(await tree(root)).toEqual(["adir"])
  })

  test("a folder component that is a regular file fails", async () => {
    await put("file.txt", "x")
    reasonOf(await runExit(store.createAtomic("file.txt/inner.txt")))
    expect(await tree(root)).toEqual(["file.txt"])
  })

  test.each([
    ["link/x.txt", () => fs.symlink(outside, path.join(root, "link"))],
    ["link/new/deeper/x.txt", () => fs.symlink(outside, path.join(root, "link"))],
    ["up/x.txt", () => fs.symlink("../outside", path.join(root, "up"))],
    [
      "sub/up/x.txt",
      () => fs.mkdir(path.join(root, "sub")).then(() => fs.symlink("../../outside", path.join(root, "sub/up")))
    ],
    ["parent/outside/x.txt", () => fs.symlink("..", path.join(root, "parent"))]
  ])(
    "a component that is a symlink to a folder outside (%p) → OutsideRoot, nothing created outside",
    async (name, setup) => {
      await setup()
      const before = await tree(base)
      const exit = await runExit(
        Effect.gen(function* () {
          const file = yield* store.createAtomic(name)
          yield* append(file, utf8("escaped"))
          yield* file.commit
        })
      )
      expect(reasonOf(exit)).toBe("OutsideRoot")
      expect(await tree(outside)).toEqual(["secret.txt"])
      expect(await tree(base)).toEqual(before)
    }
  )

  test("a component that is a dangling symlink to outside fails, and nothing is created outside", async () => {
    await fs.symlink(path.join(outside, "notyet"), path.join(root, "later"))
    const exit = await runExit(store.createAtomic("later/x.txt"))
    expect(["NotFound", "OutsideRoot"]).toContain(reasonOf(exit))
    expect(await tree(outside)).toEqual(["secret.txt"])
  })

  test("a target that is a symlink to a file outside: the outside file is never written", async () => {
    await fs.symlink(path.join(outside, "secret.txt"), path.join(root, "victim"))
    await runExit(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("victim")
        yield* append(file, utf8("overwritten"))
        yield* file.commit
      })
    )
    expect(await fs.readFile(path.join(outside, "secret.txt"), "utf8")).toBe("secret")
    expect(await tree(outside)).toEqual(["secret.txt"])
  })
})

describe("openPartial", () => {
  const partialPath = (name: string) => path.join(root, `${name}.parcial`)

  const writeTo = (name: string, chunks: ReadonlyArray<string>, keep?: number) =>
    run(
      Effect.gen(function* () {
        const partial = yield* store.openPartial(name, keep)
        const size = partial.size
        for (const chunk of chunks) yield* append(partial, utf8(chunk))
        return size
      }).pipe(Effect.timeout(BOUND))
    )

  test("creates <name>.parcial, then appends on each reopening", async () => {
    expect(await run(store.partialSize("f.bin"))).toEqual(Option.none())
    expect(await writeTo("f.bin", ["abc"])).toBe(0)
    expect(await fs.readFile(partialPath("f.bin"), "utf8")).toBe("abc")
    expect(await run(store.partialSize("f.bin"))).toEqual(Option.some(3))
    expect(await run(store.size("f.bin"))).toEqual(Option.none())
    expect(await writeTo("f.bin", ["de", "f"])).toBe(3)
    expect(await fs.readFile(partialPath("f.bin"), "utf8")).toBe("abcdef")
    expect(await run(store.partialSize("f.bin"))).toEqual(Option.some(6))
  })

  test.each([
    [0, "", "XY"],
    [2, "ab", "abXY"],
    [5, "abcde", "abcdeXY"],
    [6, "abcdef", "abcdefXY"],
    [100, "abcdef", "abcdefXY"]
  ])("keep=%p cuts the partial to %p before writing", async (keep, kept, after) => {
    await fs.writeFile(partialPath("f.bin"), "abcdef")
    expect(await writeTo("f.bin", [], keep)).toBe(kept.length)
    expect(await fs.readFile(partialPath("f.bin"), "utf8")).toBe(kept)
    expect(await writeTo("f.bin", ["XY"], keep)).toBe(kept.length)
    expect(await fs.readFile(partialPath("f.bin"), "utf8")).toBe(after)
  })

  test("complete renames the partial over the final name (replacing an older file)", async () => {
    await put("f.bin", "older content")
    await run(
      Effect.gen(function* () {
        const partial = yield* store.openPartial("f.bin", 0)
        yield* append(partial, utf8("fresh"))
        yield* partial.complete
      })
    )
    expect(await fs.readFile(path.join(root, "f.bin"), "utf8")).toBe("fresh")
    expect(await exists(partialPath("f.bin"))).toBe(false)
    expect(await run(store.size("f.bin"))).toEqual(Option.some(5))
    expect(await run(store.partialSize("f.bin"))).toEqual(Option.none())
  })

  test("nested names create their folders and keep the partial beside the final file", async () => {
    await run(
      Effect.gen(function* () {
        const partial = yield* store.openPartial("d/e/f.bin")
        yield* append(partial, utf8("nested"))
      })
    )
    expect(await tree(root)).toEqual(["d", "d/e", "d/e/f.bin.parcial"])
    expect(await run(store.partialSize("d/e/f.bin"))).toEqual(Option.some(6))
    await run(Effect.flatMap(store.openPartial("d/e/f.bin"), (partial) => partial.complete))
    expect(await tree(root)).toEqual(["d", "d/e", "d/e/f.bin"])
    expect(await run(store.size("d/e/f.bin"))).toEqual(Option.some(6))
  })

  test.each([undefined, 0, 3])(
    "a symlink at <name>.parcial pointing outside fails (keep=%p) and the outside file is untouched",
    async (keep) => {
      const target = path.join(outside, "secret.txt")
      await fs.symlink(target, partialPath("f.bin"))
      const exit = await runExit(
        Effect.gen(function* () {
          const partial = yield* store.openPartial("f.bin", keep)
          yield* append(partial, utf8("overwritten"))
          yield* partial.complete
        }).pipe(Effect.timeout(BOUND))
      )
      reasonOf(exit)
      expect(await fs.readFile(target, "utf8")).toBe("secret")
      expect(await exists(path.join(root, "f.bin"))).toBe(false)
      expect(reasonOf(await runExit(store.partialSize("f.bin")))).toBe("OutsideRoot")
    }
  )

  test("a partial below a symlinked folder outside → OutsideRoot, nothing created outside", async () => {
    await fs.symlink(outside, path.join(root, "link"))
    reasonOf(await runExit(store.openPartial("link/f.bin", 0)))
    expect(await tree(outside)).toEqual(["secret.txt"])
  })

  test("a final name that is a directory is refused", async () => {
    await fs.mkdir(path.join(root, "adir"))
    expect(reasonOf(await runExit(store.openPartial("adir")))).toBe("IsDirectory")
  })

  // Regression (was a bug in src/services/FileStoreLive.ts, openPartial): the partial is opened with
  // O_WRONLY | O_CREAT | O_NOFOLLOW but without O_NONBLOCK, inside an
  // uninterruptible acquireRelease. If `<name>.parcial` is a FIFO, open(2)
  // blocks until some process opens the FIFO for reading: the fiber hangs and
  // not even a timeout can interrupt it. The store promises to only ever open
  // regular files (the `stat().isFile()` check comes after the open). Expected:
  // a prompt FileFailure, as openRead gives for a FIFO (it opens with O_NONBLOCK).
  test("a FIFO at <name>.parcial is refused promptly", async () => {
    const fifo = partialPath("f.bin")
    mkfifo(fifo)
    const pending = runExit(store.openPartial("f.bin", 0))
    const blocked = Symbol("blocked")
    const outcome = await within(pending, 2_000, () => blocked)
    if (outcome === blocked) {
      // Release the writer stuck in open(2) so the test can end, then fail.
      const reader = await fs.open(fifo, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined)
      await pending
      await reader?.close()
      throw new Error("openPartial blocked on a FIFO")
    }
    // NotRegularFile when opened, or whatever a non-blocking open(2) reports (ENXIO): a FileFailure either way.
    reasonOf(outcome as Exit.Exit<unknown, unknown>)
  })

  test("what was written is on disk after a failure closes the scope (kept for resume)", async () => {
    await fs.writeFile(partialPath("f.bin"), "abc")
    const exit = await runExit(
      Effect.gen(function* () {
        const partial = yield* store.openPartial("f.bin")
        yield* append(partial, utf8("de"))
        yield* append(partial, utf8("fgh"))
        return yield* Effect.fail("connection lost" as const)
      })
    )
    expect(failureOf(exit)).toBe("connection lost")
    expect(await fs.readFile(partialPath("f.bin"), "utf8")).toBe("abcdefgh")
    expect(await run(store.partialSize("f.bin"))).toEqual(Option.some(8))
  })

  test("what was written is on disk after an interruption, and complete carries every byte", async () => {
    const MIB = 1024 * KIB
    const pieces = [seededBytes(MIB - 1, 1), seededBytes(10, 2), seededBytes(2 * MIB + 3, 3), seededBytes(7, 4)]
    await runExit(
      Effect.gen(function* () {
        const partial = yield* store.openPartial("big.bin", 0)
        for (const piece of pieces) yield* append(partial, piece)
        return yield* Effect.interrupt
      })
    )
    expect(Buffer.compare(await fs.readFile(partialPath("big.bin")), concatBytes(pieces))).toBe(0)
    const tail = seededBytes(5, 5)
    await run(
      Effect.gen(function* () {
        const partial = yield* store.openPartial("big.bin")
        expect(partial.size).toBe(concatBytes(pieces).length)
        yield* append(partial, tail)
        yield* partial.complete
      })
    )
    expect(Buffer.compare(await fs.readFile(path.join(root, "big.bin")), concatBytes([...pieces, tail]))).toBe(0)
    expect(await exists(partialPath("big.bin"))).toBe(false)
  })

  test("adoptAsPartial renames a finished file to its partial name", async () => {
    await put("d/done.bin", "12345")
    await run(store.adoptAsPartial("d/done.bin"))
    expect(await tree(root)).toEqual(["d", "d/done.bin.parcial"])
    expect(await run(store.partialSize("d/done.bin"))).toEqual(Option.some(5))
    expect(await run(store.size("d/done.bin"))).toEqual(Option.none())
  })

  test("adoptAsPartial refuses what is missing, a folder, or a symlink (the outside file untouched)", async () => {
    await fs.mkdir(path.join(root, "adir"))
    await fs.symlink(path.join(outside, "secret.txt"), path.join(root, "link"))
    await fs.symlink(outside, path.join(root, "out"))
    expect(reasonOf(await runExit(store.adoptAsPartial("missing.bin")))).toBe("NotFound")
    reasonOf(await runExit(store.adoptAsPartial("adir")))
    reasonOf(await runExit(store.adoptAsPartial("link")))
    expect(reasonOf(await runExit(store.adoptAsPartial("out/secret.txt")))).toBe("OutsideRoot")
    expect(await tree(outside)).toEqual(["secret.txt"])
    expect(await fs.readFile(path.join(outside, "secret.txt"), "utf8")).toBe("secret")
    expect((await fs.lstat(path.join(root, "link"))).isSymbolicLink()).toBe(true)
    expect(await exists(partialPath("link"))).toBe(false)
  })

  test("removePartial removes the partial, and is quiet when there is none", async () => {
    await writeTo("f.bin", ["abc"])
    await run(store.removePartial("f.bin"))
    expect(await exists(partialPath("f.bin"))).toBe(false)
    await run(store.removePartial("f.bin"))
    expect(await run(store.partialSize("f.bin"))).toEqual(Option.none())
  })

  test("partialSize and size are Options over regular files", async () => {
    await put("whole.txt", "12345")
    await fs.writeFile(partialPath("half.txt"), "12")
    expect(await run(store.size("whole.txt"))).toEqual(Option.some(5))
    expect(await run(store.partialSize("whole.txt"))).toEqual(Option.none())
    expect(await run(store.size("half.txt"))).toEqual(Option.none())
    expect(await run(store.partialSize("half.txt"))).toEqual(Option.some(2))
    expect(await run(store.size("none/at/all.txt"))).toEqual(Option.none())
    expect(await run(store.partialSize("none/at/all.txt"))).toEqual(Option.none())
  })
})

describe("sweepTemporaries", () => {
  // Temporaries of an older version carry no owner: they are swept once not written for the stale bound.
  const longAgo = new Date(Date.now() - 2 * STALE_MILLIS)

  test("removes old ownerless .envio-*.tmp files recursively, returns the count, leaves everything else alone", async () => {
    const temporaries = [
      ".envio-a.tmp",
      "sub/.envio-b.tmp",
      ".hidden/.envio-c.tmp",
      "sub/deeper/.envio-0123456789abcdef.tmp"
    ]
    const kept = [
      ".envio-notmp",
      ".envio-x.tmp.keep",
      ".other.tmp",
      "envio-x.tmp",
      "x.envio-y.tmp",
      ".hidden/keep",
      "sub/.secret",
      "sub/visible.txt",
      "f.bin.parcial"
    ]
    for (const name of [...temporaries, ...kept]) await put(name, "x")
    for (const name of [...temporaries, ...kept]) await fs.utimes(path.join(root, name), longAgo, longAgo)
    // A fresh ownerless temporary may belong to a live older server: kept.
    await put("sub/.envio-fresh.tmp", "x")
    await fs.mkdir(path.join(root, ".envio-dir.tmp"))
    await fs.writeFile(path.join(outside, ".envio-z.tmp"), "outside")
    await fs.utimes(path.join(outside, ".envio-z.tmp"), longAgo, longAgo)
    await fs.symlink(outside, path.join(root, "link"))
    await fs.symlink(path.join(outside, ".envio-z.tmp"), path.join(root, ".envio-link.tmp"))
    const before = await tree(root)

    expect(await run(store.sweepTemporaries.pipe(Effect.timeout(BOUND)))).toBe(temporaries.length)
    expect(await tree(root)).toEqual(before.filter((entry) => !temporaries.includes(entry)))
    expect(await tree(outside)).toEqual([".envio-z.tmp", "secret.txt"])
    expect(await run(store.sweepTemporaries)).toBe(0)
  })

  test("never removes a temporary this store is writing; the scope removes it when the upload is abandoned", async () => {
    const swept = await run(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("pending.txt")
        yield* append(file, utf8("abc"))
        const during = yield* store.sweepTemporaries
        const names = yield* Effect.promise(() => fs.readdir(root))
        return { during, temporaries: names.filter((name) => name.startsWith(".envio-")).length }
      })
    )
    expect(swept).toEqual({ during: 0, temporaries: 1 })
    expect(await tree(root)).toEqual([])
  })
})

describe("ReadableFile.source and long chunks (ranges over 1 MiB)", () => {
  const MIB = 1024 * KIB
  const SIZE = 3 * MIB + 7
  const long = seededBytes(SIZE, 307)
  const longPath = () => path.join(root, "long.bin")

  beforeEach(() => put("long.bin", long))

  /** What a FileFailure exit or Left says, checked to be a FileFailure about long.bin. */
  const expectShrank = (error: unknown) => {
    expect(error).toBeInstanceOf(FileFailure)
    const failure = error as FileFailure
    expect(failure.name).toBe("long.bin")
    return failure
  }

  /**
   * Reads up to `length` bytes by calling `fill` again and again, each time
   * into a prefix of the source's buffer (of the size `sizeOf` picks, capped
   * by what is left), copying every chunk before the next fill. Stops at the
   * first Left and returns it with the bytes read before it.
   */
  const drain = (
    source: ByteSource<FileFailure>,
    length: number,
    sizeOf: (call: number, buffer: number) => number = (_call, buffer) => buffer
  ) => {
    const parts: Array<Uint8Array> = []
    let got = 0
    for (let call = 0; got < length; call++) {
      const into = source.buffer.subarray(0, Math.min(sizeOf(call, source.buffer.length), length - got))
      const filled = source.fill(into)
      if (Either.isLeft(filled)) return { bytes: concatBytes(parts), error: Option.some(filled.left) }
      expect(filled.right).toBeGreaterThan(0)
      expect(filled.right).toBeLessThanOrEqual(into.length)
      // Copied: the next fill overwrites the buffer.
      parts.push(copy(into.subarray(0, filled.right)))
      got += filled.right
    }
    return { bytes: concatBytes(parts), error: Option.none<FileFailure>() }
  }

  /** Collects a stream of reused buffers, copying each chunk as it arrives. */
  const collectCopying = (stream: Stream.Stream<Uint8Array, FileFailure>) =>
    Effect.suspend(() => {
      const parts: Array<Uint8Array> = []
      return Stream.runForEach(stream, (chunk) => Effect.sync(() => parts.push(copy(chunk)))).pipe(
        Effect.map(() => concatBytes(parts))
      )
    })

  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0

  /** A copy that owns its bytes (the pool's buffers are Buffers, whose `slice` is a view, not a copy). */
  const copy = (bytes: Uint8Array) => new Uint8Array(bytes)

  const ranges: ReadonlyArray<readonly [number, number]> = [
    [0, SIZE],
    [1, SIZE - 1],
    [12_345, SIZE - 12_345],
    [MIB - 1, MIB + 2],
    [MIB, 2 * MIB],
    [7, 2 * MIB + 1],
    [SIZE - MIB - 1, MIB + 1]
  ]

  test.each(ranges)("source(%p) filled again and again gives exactly the next %p bytes", async (from, length) => {
    const result = await run(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "long.bin")
        const source = yield* file.source(from)
        return drain(source, length)
      }).pipe(Effect.timeout(BOUND))
    )
    expect(result.error).toEqual(Option.none())
    expect(result.bytes.length).toBe(length)
    expect(same(result.bytes, long.subarray(from, from + length))).toBe(true)
  })

  test("fill into prefixes of uneven sizes, 1 byte included, follows the file without gaps", async () => {
    const from = 3
    const result = await run(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "long.bin")
        const source = yield* file.source(from)
        const sizes = [1, 2, 4096, 65_535, 1, 300_001]
        return drain(source, SIZE - from, (call, buffer) => Math.min(buffer, sizes[call % sizes.length]!))
      }).pipe(Effect.timeout(BOUND))
    )
    expect(result.error).toEqual(Option.none())
    expect(same(result.bytes, long.subarray(from))).toBe(true)
  })

  test("a fill past the end of the file returns Left(FileFailure) saying the file shrank", async () => {
    const result = await run(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "long.bin")
        const past = yield* file.source(SIZE)
        const atEnd = past.fill(past.buffer)
        const nearEnd = yield* file.source(SIZE - 10)
        return { atEnd, tail: drain(nearEnd, 20) }
      }).pipe(Effect.timeout(BOUND))
    )
    expect(Either.isLeft(result.atEnd)).toBe(true)
    if (Either.isLeft(result.atEnd)) expect(expectShrank(result.atEnd.left).detail).toContain("encolheu")
    // The last 10 bytes, then the failure.
    expect(same(result.tail.bytes, long.subarray(SIZE - 10))).toBe(true)
    expect(Option.isSome(result.tail.error)).toBe(true)
    if (Option.isSome(result.tail.error)) expect(expectShrank(result.tail.error.value).reason).toBe("Io")
  })

  test.each([0, 1, MIB, MIB + 5, 2 * MIB + 1])(
    "a file truncated to %p bytes after opening: fill gives the bytes up to the cut, then Left(FileFailure)",
    async (cut) => {
      const result = await run(
        Effect.gen(function* () {
          const file = yield* openScoped(store, "long.bin")
          const source = yield* file.source(0)
          yield* Effect.promise(() => fs.truncate(longPath(), cut))
          return { size: file.size, ...drain(source, SIZE) }
        }).pipe(Effect.timeout(BOUND))
      )
      expect(result.size).toBe(SIZE)
      expect(same(result.bytes, long.subarray(0, cut))).toBe(true)
      expect(Option.isSome(result.error)).toBe(true)
      if (Option.isSome(result.error)) {
        const failure = expectShrank(result.error.value)
        expect(failure.reason).toBe("Io")
        expect(failure.detail).toContain("encolheu")
      }
    }
  )

  test("a file truncated between two fills: the first chunk is whole, the next fill fails", async () => {
    const result = await run(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "long.bin")
        const source = yield* file.source(0)
        const first = source.fill(source.buffer)
        const firstBytes = copy(
          source.buffer.subarray(
            0,
            Either.getOrElse(first, () => 0)
          )
        )
        yield* Effect.promise(() => fs.truncate(longPath(), firstBytes.length))
        return { first, firstBytes, next: source.fill(source.buffer) }
      }).pipe(Effect.timeout(BOUND))
    )
    expect(Either.isRight(result.first)).toBe(true)
    expect(result.firstBytes.length).toBeGreaterThan(0)
    expect(same(result.firstBytes, long.subarray(0, result.firstBytes.length))).toBe(true)
    expect(Either.isLeft(result.next)).toBe(true)
    if (Either.isLeft(result.next)) expect(expectShrank(result.next.left).detail).toContain("encolheu")
  })

  test("the buffer goes back when the scope closes (success, failure or interruption): the next source is lent the same one", async () => {
    const lent = async (end: "succeed" | "fail" | "interrupt") => {
      let buffer: Uint8Array | undefined
      await runExit(
        Effect.gen(function* () {
          const file = yield* openScoped(store, "long.bin")
          buffer = (yield* file.source(0)).buffer
          if (end === "fail") return yield* Effect.fail("gave up" as const)
          if (end === "interrupt") return yield* Effect.interrupt
        })
      )
      return buffer!
    }
    const first = await lent("succeed")
    expect(first.length).toBeGreaterThan(0)
    expect(first.length).toBeLessThanOrEqual(MIB)
    expect(await lent("fail")).toBe(first)
    expect(await lent("interrupt")).toBe(first)
    expect(await lent("succeed")).toBe(first)
  })

  test("many sources open at once share the store's one buffer; each fill, used before the next, reads its own bytes", async () => {
    const COUNT = 30
    const result = await run(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "long.bin")
        const sources = []
        for (let i = 0; i < COUNT; i++) sources.push(yield* file.source(i * 1_001))
        // Interleaved: one fill each, round after round, each copied out before the next fill (as the pump writes it).
        const read = sources.map(() => [] as Array<Uint8Array>)
        const got = sources.map(() => 0)
        const want = 2 * MIB + 3
        while (got.some((n) => n < want)) {
          sources.forEach((source, i) => {
            if (got[i]! >= want) return
            const into = source.buffer.subarray(0, Math.min(source.buffer.length, want - got[i]!))
            const filled = Either.getOrThrow(source.fill(into))
            read[i]!.push(copy(into.subarray(0, filled)))
            got[i]! += filled
          })
        }
        return { buffers: sources.map((source) => source.buffer), bytes: read.map(concatBytes), want }
      }).pipe(Effect.timeout(BOUND))
    )
    expect(new Set(result.buffers).size).toBe(1)
    result.bytes.forEach((bytes, i) => {
      expect(same(bytes, long.subarray(i * 1_001, i * 1_001 + result.want))).toBe(true)
    })
  })

  test.each(ranges)(
    "chunks(%p, %p), each chunk copied as it arrives, equals the file's bytes",
    async (from, length) => {
      const bytes = await run(
        Effect.gen(function* () {
          const file = yield* openScoped(store, "long.bin")
          return yield* collectCopying(file.chunks(from, length))
        }).pipe(Effect.timeout(BOUND))
      )
      expect(bytes.length).toBe(length)
      expect(same(bytes, long.subarray(from, from + length))).toBe(true)
    }
  )

  test("a long chunks stream runs twice from its start", async () => {
    const [first, second] = await run(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "long.bin")
        const stream = file.chunks(5, 2 * MIB)
        return [yield* collectCopying(stream), yield* collectCopying(stream)] as const
      }).pipe(Effect.timeout(BOUND))
    )
    expect(same(first, long.subarray(5, 5 + 2 * MIB))).toBe(true)
    expect(same(second, first)).toBe(true)
  })

  test.each([0, MIB, 2 * MIB + 1])(
    "long chunks over a file truncated to %p bytes after opening fail with a FileFailure",
    async (cut) => {
      const exit = await runExit(
        Effect.gen(function* () {
          const file = yield* openScoped(store, "long.bin")
          yield* Effect.promise(() => fs.truncate(longPath(), cut))
          return yield* collectCopying(file.chunks(0, file.size))
        }).pipe(Effect.timeout(BOUND))
      )
      expect(reasonOf(exit)).toBe("Io")
      expectShrank(failureOf(exit))
    }
  )

  test.each([
    [SIZE - MIB, MIB + 1],
    [SIZE + 1, 2 * MIB]
  ])("long chunks past the end (from %p, length %p) fail with a FileFailure", async (from, length) => {
    const exit = await runExit(
      Effect.gen(function* () {
        const file = yield* openScoped(store, "long.bin")
        return yield* collectCopying(file.chunks(from, length))
      }).pipe(Effect.timeout(BOUND))
    )
    reasonOf(exit)
  })
})

describe("the read buffers belong to the store", () => {
  const MIB = 1024 * KIB
  const long = seededBytes(2 * MIB + 3, 41)

  beforeEach(() => put("long.bin", long))

  /** Pulls the first chunk of a long stream of long.bin, and says what the pool held idle while it was open. */
  const idleDuringStream = (reader: FileStoreService, buffers: ReadBuffers) =>
    Effect.scoped(
      Effect.gen(function* () {
        const file = yield* openScoped(reader, "long.bin")
        const idle = yield* Stream.runHead(
          Stream.mapEffect(file.chunks(0, long.length), () => Effect.sync(() => buffers.pool.idle))
        )
        return Option.getOrThrow(idle)
      })
    )

  test("a stream of chunks borrows from the pool the store was given and gives the buffer back when it ends", async () => {
    const buffers = makeReadBuffers()
    const owned = await run(makeFileStore(root, { readBuffers: buffers }))
    expect(buffers.pool.idle).toEqual({ large: 0, small: 0 })
    expect(await run(idleDuringStream(owned, buffers))).toEqual({ large: 0, small: 0 })
    expect(buffers.pool.idle).toEqual({ large: 1, small: 0 })
  })

  test("each store has buffers of its own: another store's reads never touch them", async () => {
    const buffers = makeReadBuffers()
    const owned = await run(makeFileStore(root, { readBuffers: buffers }))
    const other = await run(makeFileStore(root))
    await run(idleDuringStream(other, buffers))
    expect(buffers.pool.idle).toEqual({ large: 0, small: 0 })
    await run(idleDuringStream(owned, buffers))
    expect(buffers.pool.idle).toEqual({ large: 1, small: 0 })
  })

  test("every send source of a store fills its one shared buffer, and can step back; each build of the layer has its own", async () => {
    const layer = FileStoreLive(root)
    const sourceOf = (store: FileStoreService) =>
      Effect.scoped(Effect.flatMap(store.openRead("long.bin"), (file) => file.source(0)))
    const twice = Effect.flatMap(FileStore, (store) => Effect.zip(sourceOf(store), sourceOf(store)))
    const [first, again] = await run(Effect.provide(twice, layer))
    const [otherBuild] = await run(Effect.provide(twice, layer))
    expect(first.buffer.length).toBe(SHARED_READ)
    expect(again.buffer).toBe(first.buffer)
    expect(otherBuild.buffer).not.toBe(first.buffer)
    // A fill, a step back of part of it, and the next fill gives those bytes again.
    const stepped = await run(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* makeFileStore(root)
          const source = yield* Effect.flatMap(store.openRead("long.bin"), (file) => file.source(0))
          const filled = source.fill(source.buffer.subarray(0, 1000))
          source.rewind!(300)
          const again = source.fill(source.buffer.subarray(0, 300))
          return { filled, again, bytes: Buffer.from(source.buffer.subarray(0, 300)) }
        })
      )
    )
    expect(stepped).toEqual({
      filled: Either.right(1000),
      again: Either.right(300),
      bytes: Buffer.from(long.subarray(700, 1000))
    })
  })
})

describe("sink: the synchronous writes of createAtomic and openPartial", () => {
  const MIB = 1024 * KIB
  /** Around the gathering limits: tiny, just under and over 64 KiB, a run of small ones past 1 MiB, and large ones. */
  const SIZES = [
    1,
    7,
    4096,
    65_535,
    65_536,
    3,
    70_000,
    ...Array.from({ length: 40 }, (_, i) => 30_000 + i),
    2 * MIB + 5,
    9,
    MIB - 3,
    5,
    MIB,
    1,
    65_535,
    2,
    ...Array.from({ length: 300 }, (_, i) => (i * 37) % 1000),
    MIB - 1,
    1,
    MIB + 1,
    0,
    64 * KIB - 1,
    64 * KIB - 1
  ]

  interface Target {
    readonly sink: { readonly write: (bytes: Uint8Array) => Either.Either<void, FileFailure> }
    readonly finish: Effect.Effect<void, FileFailure>
    /** Where the content is once finished. */
    readonly final: string
  }

  /** Opens `name` one way or the other, as a target the test writes to and finishes. */
  const openers: ReadonlyArray<readonly [string, (name: string) => Effect.Effect<Target, FileFailure, Scope.Scope>]> = [
    [
      "createAtomic",
      (name) =>
        Effect.map(store.createAtomic(name), (file) => ({
          sink: file.sink,
          finish: file.commit,
          final: path.join(root, name)
        }))
    ],
    [
      "openPartial",
      (name) =>
        Effect.map(store.openPartial(name, 0), (file) => ({
          sink: file.sink,
          finish: file.complete,
          final: path.join(root, name)
        }))
    ]
  ]

  /** A sink write that must succeed. */
  const sinkWrite = (target: Pick<Target, "sink">, bytes: Uint8Array) => {
    const written = target.sink.write(bytes)
    if (Either.isLeft(written)) throw new Error(`sink.write failed: ${written.left.reason} ${written.left.detail}`)
  }

  const expectFile = async (full: string, want: Uint8Array) => {
    const got = await fs.readFile(full)
    expect(got.length).toBe(want.length)
    expect(Buffer.compare(got, want)).toBe(0)
  }

  describe.each(openers)("%s", (_label, open) => {
    test("segments of every size through sink.write, small ones gathered, land in order after finishing", async () => {
      const segments = SIZES.map((size, index) => seededBytes(size, index + 101))
      await run(
        Effect.gen(function* () {
          const target = yield* open("sunk.bin")
          for (const segment of segments) sinkWrite(target, segment)
          yield* target.finish
        }).pipe(Effect.timeout(BOUND))
      )
      await expectFile(path.join(root, "sunk.bin"), concatBytes(segments))
      expect(await tree(root)).toEqual(["sunk.bin"])
    })

    test("write and sink.write taking turns keep one position and one gathering buffer", async () => {
      const segments = SIZES.map((size, index) => seededBytes(size, index + 501))
      await run(
        Effect.gen(function* () {
          const target = yield* open("mixed.bin")
          for (const [index, segment] of segments.entries()) {
            // Alternate, and now and then twice in a row the same way.
            if ((index + (index >> 3)) % 2 === 0) sinkWrite(target, segment)
            else yield* append(target, segment)
          }
          yield* target.finish
        }).pipe(Effect.timeout(BOUND))
      )
      await expectFile(path.join(root, "mixed.bin"), concatBytes(segments))
    })

    test("a caller may reuse its buffer as soon as sink.write returns", async () => {
      const scratch = new Uint8Array(10)
      const big = new Uint8Array(70_000)
      await run(
        Effect.gen(function* () {
          const target = yield* open("reused.bin")
          for (let round = 0; round < 3; round++) {
            scratch.fill(65 + round)
            sinkWrite(target, scratch)
          }
          big.fill(0x44)
          sinkWrite(target, big)
          scratch.fill(0x45)
          sinkWrite(target, scratch)
          scratch.fill(0)
          big.fill(0)
          yield* target.finish
        })
      )
      expect(await fs.readFile(path.join(root, "reused.bin"), "latin1")).toBe(
        "A".repeat(10) + "B".repeat(10) + "C".repeat(10) + "D".repeat(70_000) + "E".repeat(10)
      )
    })

    test("sink writes after the file is closed return Left(FileFailure) instead of throwing", async () => {
      const leaked = await run(
        Effect.gen(function* () {
          const target = yield* open("closed.bin")
          sinkWrite(target, utf8("before"))
          yield* target.finish
          return target
        })
      )
      // The scope closed the descriptor: a write that goes straight to the file fails as a value.
      let written: Either.Either<void, FileFailure> | undefined
      expect(() => {
        written = leaked.sink.write(seededBytes(128 * KIB, 3))
      }).not.toThrow()
      if (written === undefined || Either.isRight(written)) throw new Error("expected Left(FileFailure)")
      expect(written.left).toBeInstanceOf(FileFailure)
      expect(await fs.readFile(path.join(root, "closed.bin"), "utf8")).toBe("before")
    })
  })

  test("openPartial: the sink appends after what the partial held", async () => {
    const held = seededBytes(3 * KIB + 1, 7)
    await fs.writeFile(path.join(root, "f.bin.parcial"), held)
    const more = [seededBytes(5, 8), seededBytes(100 * KIB, 9), seededBytes(17, 10)]
    await run(
      Effect.gen(function* () {
        const partial = yield* store.openPartial("f.bin")
        expect(partial.size).toBe(held.length)
        sinkWrite(partial, more[0]!)
        yield* append(partial, more[1]!)
        sinkWrite(partial, more[2]!)
        yield* partial.complete
      }).pipe(Effect.timeout(BOUND))
    )
    await expectFile(path.join(root, "f.bin"), concatBytes([held, ...more]))
  })

  test("openPartial: small sink writes still gathered when the scope fails are on disk (kept for resume)", async () => {
    await fs.writeFile(path.join(root, "f.bin.parcial"), "abc")
    const exit = await runExit(
      Effect.gen(function* () {
        const partial = yield* store.openPartial("f.bin")
        for (const piece of ["de", "fgh", "i"]) {
          expect(Either.isRight(partial.sink.write(utf8(piece)))).toBe(true)
        }
        return yield* Effect.fail("connection lost" as const)
      })
    )
    expect(failureOf(exit)).toBe("connection lost")
    expect(await fs.readFile(path.join(root, "f.bin.parcial"), "utf8")).toBe("abcdefghi")
    expect(await run(store.partialSize("f.bin"))).toEqual(Option.some(9))
  })

  test("createAtomic: sink writes into a folder removed meanwhile succeed (the descriptor holds), commit fails", async () => {
    const exit = await runExit(
      Effect.gen(function* () {
        const file = yield* store.createAtomic("sub/gone.bin")
        expect(Either.isRight(file.sink.write(utf8("small")))).toBe(true)
        yield* Effect.promise(() => fs.rm(path.join(root, "sub"), { recursive: true, force: true }))
        expect(Either.isRight(file.sink.write(seededBytes(128 * KIB, 4)))).toBe(true)
        yield* file.commit
      }).pipe(Effect.timeout(BOUND))
    )
    expect(reasonOf(exit)).toBe("NotFound")
    expect(await tree(root)).toEqual([])
  })
})

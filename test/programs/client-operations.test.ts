import { describe, expect, test } from "bun:test"
import { Effect, Exit, Fiber } from "effect"
import { ConnectionFailure, HashMismatch } from "../../src/domain/errors.ts"
import type { ProgressSink } from "../../src/programs/client/config.ts"
import { download } from "../../src/programs/client/download.ts"
import { downloadMany } from "../../src/programs/client/downloadMany.ts"
import { ServerRefused, TooManyMatches } from "../../src/programs/client/errors.ts"
import { list } from "../../src/programs/client/list.ts"
import { resume } from "../../src/programs/client/resume.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { fullDiskAfter, systemFailure } from "../../src/services/FileStoreMemory.ts"
import { failureOf } from "../support/effect.ts"
import { be32, bytesOf, hexOf, named, seededBytes } from "../support/hostile.ts"
import { elapse, inMemory, receive, send, settle, type World, type WorldOptions } from "../support/memory.ts"

/**
 * Every client operation, in process: the real client programs against the
 * real server (or a scripted peer standing in for it) over the in-memory
 * transport, both folders in memory. Each case checks the result, both
 * folders afterwards and, against the real server, its log line.
 */

const texts = (files: Map<string, Uint8Array>) =>
  Object.fromEntries([...files].map(([name, bytes]) => [name, new TextDecoder().decode(bytes)]))

/** Runs `body` against the real server with these options. */
const withWorld = <A>(options: WorldOptions, body: (world: World) => Effect.Effect<A, unknown>) =>
  inMemory(options, (world) => body(world))

/** A progress sink that records what it is told. */
const recorder = () => {
  const events: Array<string> = []
  const sink: ProgressSink = {
    batch: (count, total) => events.push(`batch ${count} ${total}`),
    skip: (name) => events.push(`skip ${name}`),
    start: (name, total, from) => events.push(`start ${name} ${total} ${from}`),
    advance: (bytes) => {
      const last = events.at(-1)
      if (last?.startsWith("advance ")) events[events.length - 1] = `advance ${Number(last.slice(8)) + bytes}`
      else events.push(`advance ${bytes}`)
    },
    completed: () => events.push("completed")
  }
  return { events, sink }
}

describe("download (op 10)", () => {
  test("a file arrives under its name (in its subfolder), no partial left; the progress adds up", () =>
    withWorld({ serverFiles: { "a.txt": "hello", "sub/b.txt": "bee", "vazio.txt": "" } }, (world) =>
      Effect.gen(function* () {
        const progress = recorder()
        expect(yield* world.client(download("a.txt", progress.sink))).toEqual(Exit.succeed({ name: "a.txt", size: 5 }))
        expect(progress.events).toEqual(["start a.txt 5 0", "advance 5", "completed"])
        expect(yield* world.client(download("sub/b.txt"))).toEqual(Exit.succeed({ name: "sub/b.txt", size: 3 }))
        expect(yield* world.client(download("vazio.txt"))).toEqual(Exit.succeed({ name: "vazio.txt", size: 0 }))
        expect(texts(world.local.files)).toEqual({ "a.txt": "hello", "sub/b.txt": "bee", "vazio.txt": "" })
        expect(world.logged(" ok ").length).toBe(3)
      })
    ))

  test("a large file through small segments and a small pipe arrives whole", () => {
    const body = seededBytes(2 * 1024 * 1024 + 7, 11)
    return withWorld(
      { serverFiles: { "grande.bin": body }, links: { toClient: { segments: 1000, capacity: 8000 } } },
      (world) =>
        Effect.gen(function* () {
          expect(yield* world.client(download("grande.bin"))).toEqual(
            Exit.succeed({ name: "grande.bin", size: body.length })
          )
          expect(world.local.files.get("grande.bin")).toEqual(body)
        })
    )
  })

  test("a missing file: ServerRefused, nothing written", () =>
    withWorld({}, (world) =>
      Effect.gen(function* () {
        expect(failureOf(yield* world.client(download("nada.txt")))).toEqual(
          new ServerRefused({ request: "Download", name: "nada.txt", reason: "Refused" })
        )
        expect(world.local.files.size).toBe(0)
        expect(world.logged("baixar nada.txt falha: nada.txt: não existe").length).toBe(1)
      })
    ))

  test("the local disk fills up mid-file: FileFailure NoSpace, the partial keeps what fit, no final file", () =>
    withWorld(
      { serverFiles: { "a.bin": seededBytes(300_000, 2) }, clientStore: { fail: fullDiskAfter(100_000) } },
      (world) =>
        Effect.gen(function* () {
          expect(failureOf(yield* world.client(download("a.bin")))).toMatchObject({
            _tag: "FileFailure",
            reason: "NoSpace"
          })
          expect([...world.local.files.keys()]).toEqual(["a.bin.parcial"])
        })
    ))

  test("no server on the port: ConnectionFailure Refused", () =>
    withWorld({}, (world) =>
      Effect.gen(function* () {
        const failure = failureOf(yield* world.client(download("a.txt"), { port: world.port + 1 }))
        expect(failure).toBeInstanceOf(ConnectionFailure)
        expect(failure).toMatchObject({ reason: "Refused" })
      })
    ))
})

describe("list (op 20)", () => {
  test("the entries and the JSON as the server sent it", () =>
    withWorld({ serverFiles: { "b.txt": "bb", "a/c.txt": "c" } }, (world) =>
      Effect.gen(function* () {
        const json = '[{"nome":"a/c.txt","tamanho":"1"},{"nome":"b.txt","tamanho":"2"}]'
        expect(yield* world.client(list)).toEqual(
          Exit.succeed({
            entries: [
              { nome: "a/c.txt", tamanho: "1" },
              { nome: "b.txt", tamanho: "2" }
            ],
            json
          })
        )
      })
    ))

  test("a folder the server cannot read: ServerRefused", () =>
    withWorld(
      { serverStore: { fail: (at) => (at.operation === "list" ? systemFailure(".", "Io", "EIO") : undefined) } },
      (world) =>
        Effect.gen(function* () {
          expect(failureOf(yield* world.client(list))).toEqual(
            new ServerRefused({ request: "List", name: "", reason: "Refused" })
          )
        })
    ))
})

describe("upload (op 30)", () => {
  test("stored under its name; the progress completes only after the server's final 00", () => {
    const body = seededBytes(700_000, 5)
    return withWorld(
      { clientFiles: { "up.bin": body, "sub/x.txt": "x" }, links: { toServer: { segments: 5000, capacity: 20_000 } } },
      (world) =>
        Effect.gen(function* () {
          const progress = recorder()
          expect(yield* world.client(upload("up.bin", progress.sink))).toEqual(
            Exit.succeed({ name: "up.bin", size: body.length })
          )
          expect(progress.events).toEqual([`start up.bin ${body.length} 0`, `advance ${body.length}`, "completed"])
          expect(world.server.files.get("up.bin")).toEqual(body)
          expect(yield* world.client(upload("sub/x.txt"))).toEqual(Exit.succeed({ name: "sub/x.txt", size: 1 }))
          expect(world.server.text("sub/x.txt")).toBe("x")
          expect(world.logged(`enviar up.bin ok ${body.length} bytes`).length).toBe(1)
        })
    )
  })

  test("the progress counts what the server acknowledged, not what the client's system took", () => {
    const body = seededBytes(1_000_000, 9)
    return withWorld(
      { clientFiles: { "up.bin": body }, links: { toServer: { capacity: 300_000, held: true } } },
      (world) =>
        Effect.gen(function* () {
          const progress = recorder()
          const shown = () => Number(progress.events.find((event) => event.startsWith("advance "))?.slice(8) ?? 0)
          const fiber = yield* Effect.fork(world.client(upload("up.bin", progress.sink)))
          yield* settle
          const link = world.lastLink().toServer
          // The request goes through; the server accepts; the client fills the held path.
          link.pass(5 + "up.bin".length)
          yield* settle
          yield* elapse(1_000)
          expect(link.written()).toBeGreaterThan(250_000)
          expect(shown()).toBe(0)
          // 100 kB reach the server: the bar shows them at the next look, not more.
          link.pass(100_000)
          yield* settle
          yield* elapse(300)
          expect(shown()).toBeGreaterThan(90_000)
          expect(shown()).toBeLessThanOrEqual(100_000)
          link.release()
          expect(yield* Fiber.join(fiber)).toEqual(Exit.succeed({ name: "up.bin", size: body.length }))
          expect(progress.events).toEqual([`start up.bin ${body.length} 0`, `advance ${body.length}`, "completed"])
        })
    )
  })

  test("a local file that does not exist: FileFailure NotFound, and no connection is made", () =>
    withWorld({}, (world) =>
      Effect.gen(function* () {
        expect(failureOf(yield* world.client(upload("nada.txt")))).toMatchObject({
          _tag: "FileFailure",
          reason: "NotFound",
          name: "nada.txt"
        })
        expect(world.network.links).toEqual([])
      })
    ))

  test("the server's disk fills up while the data goes out: ServerRefused, nothing stored there", () =>
    withWorld(
      {
        clientFiles: { "up.bin": seededBytes(2 * 1024 * 1024, 6) },
        serverStore: { fail: fullDiskAfter(256 * 1024) }
      },
      (world) =>
        Effect.gen(function* () {
          expect(failureOf(yield* world.client(upload("up.bin")))).toEqual(
            new ServerRefused({ request: "Upload", name: "up.bin", reason: "Refused" })
          )
          expect(world.server.files.size).toBe(0)
          expect(world.server.temporaries()).toEqual([])
          expect(world.logged("enviar up.bin falha: up.bin: sem espaço em disco").length).toBe(1)
          // The refusal stopped the upload: far from all of it went out.
          expect(world.lastLink().toServer.written()).toBeLessThan(2 * 1024 * 1024)
        })
    ))

  test("a read-only server, or a size over its limit: ServerRefused", () =>
    Promise.all([
      withWorld({ clientFiles: { "a.txt": "abc" }, settings: { readOnly: true } }, (world) =>
        Effect.map(world.client(upload("a.txt")), (exit) =>
          expect(failureOf(exit)).toEqual(new ServerRefused({ request: "Upload", name: "a.txt", reason: "Refused" }))
        )
      ),
      withWorld({ clientFiles: { "a.txt": "abc" }, settings: { maxUploadBytes: 2 } }, (world) =>
        Effect.map(world.client(upload("a.txt")), (exit) =>
          expect(failureOf(exit)).toEqual(new ServerRefused({ request: "Upload", name: "a.txt", reason: "Refused" }))
        )
      )
    ]))
})

describe("resume (op 40)", () => {
  const content = seededBytes(100 * 1024, 7)

  test("completes a partial after the server confirms its MD5; the partial is gone", () =>
    withWorld(
      { serverFiles: { "r.bin": content }, clientFiles: { "r.bin.parcial": content.subarray(0, 40_000) } },
      (world) =>
        Effect.gen(function* () {
          const progress = recorder()
          expect(yield* world.client(resume("r.bin", undefined, progress.sink))).toEqual(
            Exit.succeed({ name: "r.bin", from: 40_000, size: content.length, alreadyComplete: false })
          )
          expect([...world.local.files.keys()]).toEqual(["r.bin"])
          expect(world.local.files.get("r.bin")).toEqual(content)
          expect(progress.events).toEqual([
            `start r.bin ${content.length} 40000`,
            `advance ${content.length - 40_000}`,
            "completed"
          ])
          expect(world.logged(`retomar r.bin ok (a partir de 40000) ${content.length - 40_000} bytes`).length).toBe(1)
        })
    ))

  test("an explicit position cuts the partial there; a partial already whole completes with nothing sent", () =>
    withWorld(
      {
        serverFiles: { "p.txt": "0123456789", "w.txt": "whole" },
        clientFiles: { "p.txt.parcial": "012XXXX", "w.txt.parcial": "whole" }
      },
      (world) =>
        Effect.gen(function* () {
          expect(yield* world.client(resume("p.txt", 3))).toEqual(
            Exit.succeed({ name: "p.txt", from: 3, size: 10, alreadyComplete: false })
          )
          expect(yield* world.client(resume("w.txt"))).toEqual(
            Exit.succeed({ name: "w.txt", from: 5, size: 5, alreadyComplete: false })
          )
          expect(texts(world.local.files)).toEqual({ "p.txt": "0123456789", "w.txt": "whole" })
        })
    ))

  test("a finished local file: alreadyComplete when equal, continued when a prefix, HashMismatch otherwise", () =>
    withWorld(
      {
        serverFiles: { "done.txt": "finished", "log.txt": "line 1\nline 2\n", "other.txt": "server side" },
        clientFiles: { "done.txt": "finished", "log.txt": "line 1\n", "other.txt": "client" }
      },
      (world) =>
        Effect.gen(function* () {
          expect(yield* world.client(resume("done.txt"))).toEqual(
            Exit.succeed({ name: "done.txt", from: 8, size: 8, alreadyComplete: true })
          )
          expect(yield* world.client(resume("log.txt"))).toEqual(
            Exit.succeed({ name: "log.txt", from: 7, size: 14, alreadyComplete: false })
          )
          expect(failureOf(yield* world.client(resume("other.txt")))).toEqual(
            new HashMismatch({ name: "other.txt", position: 6 })
          )
          expect(texts(world.local.files)).toEqual({
            "done.txt": "finished",
            "log.txt": "line 1\nline 2\n",
            "other.txt": "client"
          })
        })
    ))

  test("a partial past the server's end, or with other bytes: HashMismatch, the partial unchanged", () =>
    withWorld(
      {
        serverFiles: { "s.txt": "hello", "w.txt": "hello world" },
        clientFiles: { "s.txt.parcial": "hello world!", "w.txt.parcial": "HELLO" }
      },
      (world) =>
        Effect.gen(function* () {
          expect(failureOf(yield* world.client(resume("s.txt")))).toEqual(
            new HashMismatch({ name: "s.txt", position: 12 })
          )
          expect(failureOf(yield* world.client(resume("w.txt")))).toEqual(
            new HashMismatch({ name: "w.txt", position: 5 })
          )
          expect(texts(world.local.files)).toEqual({ "s.txt.parcial": "hello world!", "w.txt.parcial": "HELLO" })
        })
    ))

  test("a file missing on the server: ServerRefused NotFound, the partial kept", () =>
    withWorld({ clientFiles: { "gone.txt.parcial": "abc" } }, (world) =>
      Effect.gen(function* () {
        expect(failureOf(yield* world.client(resume("gone.txt")))).toEqual(
          new ServerRefused({ request: "Resume", name: "gone.txt", reason: "NotFound" })
        )
        expect(world.local.text("gone.txt.parcial")).toBe("abc")
      })
    ))

  test("nothing held, or a position past what is held: a local FileFailure, and no connection", () =>
    withWorld({ serverFiles: { "q.txt": "0123456789" }, clientFiles: { "q.txt.parcial": "0123" } }, (world) =>
      Effect.gen(function* () {
        expect(failureOf(yield* world.client(resume("n.txt")))).toMatchObject({ reason: "NotFound", name: "n.txt" })
        expect(failureOf(yield* world.client(resume("q.txt", 5)))).toMatchObject({ reason: "TooLarge", name: "q.txt" })
        expect(world.network.links).toEqual([])
      })
    ))
})

describe("downloadMany (op 50)", () => {
  const serverFiles = { "a.txt": "A", "b.txt": "BB", "c.bin": "CCC", "sub/d.txt": "DDDD", "sub/e.bin": "EEEEE" }

  test("the matching files are saved, in their subfolder too; the progress adds up", () =>
    withWorld({ serverFiles }, (world) =>
      Effect.gen(function* () {
        const progress = recorder()
        expect(yield* world.client(downloadMany("*.txt", progress.sink))).toEqual(
          Exit.succeed({
            entries: [
              { name: "a.txt", size: 1 },
              { name: "b.txt", size: 2 }
            ],
            results: [
              { _tag: "Saved", name: "a.txt", size: 1 },
              { _tag: "Saved", name: "b.txt", size: 2 }
            ]
          })
        )
        expect(progress.events).toEqual([
          "batch 2 3",
          "start a.txt 1 0",
          "advance 1",
          "completed",
          "start b.txt 2 0",
          "advance 2",
          "completed"
        ])
        expect(Exit.isSuccess(yield* world.client(downloadMany("sub/*.bin")))).toBe(true)
        expect(texts(world.local.files)).toEqual({ "a.txt": "A", "b.txt": "BB", "sub/e.bin": "EEEEE" })
        const none = yield* world.client(downloadMany("*.zip"))
        expect(none).toEqual(Exit.succeed({ entries: [], results: [] }))
      })
    ))

  test("too many matches: TooManyMatches with the count and the cap", () =>
    withWorld({ serverFiles, settings: { maxMatches: 1 } }, (world) =>
      Effect.map(world.client(downloadMany("*.txt")), (exit) =>
        expect(failureOf(exit)).toEqual(new TooManyMatches({ mask: "*.txt", matches: 2, cap: 1 }))
      )
    ))

  test("a file the server cannot open is Skipped; the next one is saved", () =>
    withWorld(
      {
        serverFiles,
        serverStore: {
          fail: (at) =>
            at.operation === "openRead" && at.name === "a.txt" ? systemFailure("a.txt", "Io", "EIO") : undefined
        }
      },
      (world) =>
        Effect.gen(function* () {
          const exit = yield* world.client(downloadMany("*.txt"))
          expect(Exit.isSuccess(exit) && exit.value.results).toEqual([
            { _tag: "Skipped", name: "a.txt" },
            { _tag: "Saved", name: "b.txt", size: 2 }
          ])
          expect(texts(world.local.files)).toEqual({ "b.txt": "BB" })
        })
    ))

  test("a file that cannot be saved, or whose disk fills mid-file, is a LocalFailure; the files after it arrive whole", () => {
    const big = seededBytes(3 * 1024 * 1024 + 11, 7)
    return withWorld(
      {
        serverFiles: { "a.bin": big, "b.bin": "depois", "c.bin": "C" },
        clientStore: {
          fail: (at) =>
            at.operation === "openPartial" && at.name === "c.bin"
              ? systemFailure("c.bin", "PermissionDenied", "EACCES")
              : fullDiskAfter(1024 * 1024, "a.bin")(at)
        }
      },
      (world) =>
        Effect.gen(function* () {
          const exit = yield* world.client(downloadMany("*.bin"))
          expect(Exit.isSuccess(exit) && exit.value.results).toEqual([
            { _tag: "LocalFailure", name: "a.bin", failure: expect.objectContaining({ reason: "NoSpace" }) },
            { _tag: "Saved", name: "b.bin", size: 6 },
            { _tag: "LocalFailure", name: "c.bin", failure: expect.objectContaining({ reason: "PermissionDenied" }) }
          ])
          expect(world.local.text("b.bin")).toBe("depois")
          expect(world.local.files.has("a.bin")).toBe(false)
        })
    )
  })

  test("an invalid mask is refused by the server", () =>
    withWorld({ serverFiles }, (world) =>
      Effect.map(world.client(downloadMany("**/*.txt")), (exit) =>
        expect(failureOf(exit)).toEqual(
          new ServerRefused({ request: "DownloadMany", name: "**/*.txt", reason: "Refused" })
        )
      )
    ))
})

describe("against a scripted peer that breaks the protocol", () => {
  const violation = (reason: string) => expect.objectContaining({ _tag: "ProtocolViolation", reason })

  test("a download cut short: Truncated; the partial holds what came, no final file", () =>
    withWorld({ script: { reply: [send(0, be32(10), "hel"), send("lo")], then: "close" } }, (world) =>
      Effect.gen(function* () {
        expect(failureOf(yield* world.client(download("a.txt")))).toEqual(violation("Truncated"))
        expect(hexOf(world.received[0]!)).toBe(hexOf(bytesOf(10, named("a.txt"))))
        expect(texts(world.local.files)).toEqual({ "a.txt.parcial": "hello" })
      })
    ))

  test("a reset in the middle of a download: ConnectionFailure Reset, the partial kept", () =>
    withWorld({ script: { reply: [send(0, be32(10), "hel")], then: "reset" } }, (world) =>
      Effect.gen(function* () {
        expect(failureOf(yield* world.client(download("a.txt")))).toMatchObject({
          _tag: "ConnectionFailure",
          reason: "Reset"
        })
        expect([...world.local.files.keys()]).toEqual(["a.txt.parcial"])
      })
    ))

  test("an unexpected status byte: UnexpectedStatus, nothing written", () =>
    withWorld({ script: { reply: [send(7, be32(5), "hello")], then: "close" } }, (world) =>
      Effect.gen(function* () {
        expect(failureOf(yield* world.client(download("a.txt")))).toEqual(violation("UnexpectedStatus"))
        expect(world.local.files.size).toBe(0)
      })
    ))

  test("a listing length of 0xFFFFFFFF: LengthTooLarge at once, without waiting for it", () =>
    withWorld({ script: { reply: [send(0, be32(0xffffffff))], then: "stall" } }, (world) =>
      Effect.map(world.client(list), (exit) => expect(failureOf(exit)).toEqual(violation("LengthTooLarge")))
    ))

  test("a manifest naming a file outside the folder: InvalidName before anything is written", () =>
    withWorld(
      {
        script: {
          reply: [send(0, be32(1), named("../fora.txt"), be32(5), 0, be32(5), "EVIL!")],
          then: "close"
        }
      },
      (world) =>
        Effect.gen(function* () {
          expect(failureOf(yield* world.client(downloadMany("*.txt")))).toEqual(violation("InvalidName"))
          expect(world.local.files.size).toBe(0)
        })
    ))

  test("an upload confirmed before all its data arrived: UnexpectedStatus", () =>
    withWorld(
      { clientFiles: { "up.bin": seededBytes(1024 * 1024, 1) }, script: { reply: [send(0), send(0)], then: "stall" } },
      (world) =>
        Effect.map(world.client(upload("up.bin")), (exit) =>
          expect(failureOf(exit)).toEqual(violation("UnexpectedStatus"))
        )
    ))

  test("an upload refused after its data: ServerRefused, and the peer got every byte", () =>
    withWorld(
      { clientFiles: { "up.txt": "data" }, script: { reply: [send(0), receive(19), send(1)], then: "close" } },
      (world) =>
        Effect.gen(function* () {
          expect(failureOf(yield* world.client(upload("up.txt")))).toEqual(
            new ServerRefused({ request: "Upload", name: "up.txt", reason: "Refused" })
          )
          expect(hexOf(world.received[0]!)).toBe(hexOf(bytesOf(30, named("up.txt"), be32(4), "data")))
        })
    ))

  test("a resume whose second status is not 00, 0a or 14: UnexpectedStatus, the partial unchanged", () =>
    withWorld({ clientFiles: { "r.txt.parcial": "he" }, script: { reply: [send(0, 1)], then: "close" } }, (world) =>
      Effect.gen(function* () {
        expect(failureOf(yield* world.client(resume("r.txt")))).toEqual(violation("UnexpectedStatus"))
        expect(texts(world.local.files)).toEqual({ "r.txt.parcial": "he" })
      })
    ))
})

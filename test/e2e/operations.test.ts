import { describe, expect, test } from "bun:test"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { Effect, Either, Exit, Layer } from "effect"
import { FileFailure, HashMismatch } from "../../src/domain/errors.ts"
import { ClientLive } from "../../src/programs/client/ClientLive.ts"
import { download } from "../../src/programs/client/download.ts"
import { downloadMany } from "../../src/programs/client/downloadMany.ts"
import { ServerRefused, TooManyMatches } from "../../src/programs/client/errors.ts"
import { list } from "../../src/programs/client/list.ts"
import { resume } from "../../src/programs/client/resume.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { FileStore, type FileStoreService } from "../../src/services/FileStore.ts"
import { makeFileStore } from "../../src/services/FileStoreLive.ts"
import { failureOf } from "../support/effect.ts"
import type { TestServer } from "../support/harness.ts"
import { seededBytes, tree, withServer } from "../support/hostile.ts"

/**
 * Every operation through the client programs against the real server, over
 * loopback: each success and each failure status, with the files on both
 * sides checked afterwards. Each test gets its own server and folders.
 */

const put = async (dir: string, name: string, content: string | Uint8Array) => {
  await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
  await writeFile(path.join(dir, name), content)
}

const bytesAt = async (dir: string, name: string) => new Uint8Array(await readFile(path.join(dir, name)))
const textAt = (dir: string, name: string) => readFile(path.join(dir, name), "utf8")

const inServer = (server: TestServer) => ({
  put: (name: string, content: string | Uint8Array) => put(server.serverDir, name, content),
  text: (name: string) => textAt(server.serverDir, name)
})
const inClient = (server: TestServer) => ({
  put: (name: string, content: string | Uint8Array) => put(server.clientDir, name, content),
  text: (name: string) => textAt(server.clientDir, name)
})

describe("download (op 10)", () => {
  test("a top-level file arrives under its name, with no partial left", () =>
    withServer(async (server) => {
      await inServer(server).put("a.txt", "hello")
      expect(await server.client(download("a.txt"))).toEqual(Exit.succeed({ name: "a.txt", size: 5 }))
      expect(await inClient(server).text("a.txt")).toBe("hello")
      expect(await tree(server.clientDir)).toEqual(["a.txt"])
    }))

  test("an empty file arrives as an empty file", () =>
    withServer(async (server) => {
      await inServer(server).put("empty.txt", "")
      expect(await server.client(download("empty.txt"))).toEqual(Exit.succeed({ name: "empty.txt", size: 0 }))
      expect(await inClient(server).text("empty.txt")).toBe("")
    }))

  test("a file in a subfolder is saved in the same subfolder on the client", () =>
    withServer(async (server) => {
      await inServer(server).put("sub/deep/b.bin", "inside")
      expect(await server.client(download("sub/deep/b.bin"))).toEqual(Exit.succeed({ name: "sub/deep/b.bin", size: 6 }))
      expect(await inClient(server).text("sub/deep/b.bin")).toBe("inside")
      expect(await tree(server.clientDir)).toEqual(["sub", "sub/deep", "sub/deep/b.bin"])
    }))

  test("a missing file is refused and nothing is created", () =>
    withServer(async (server) => {
      const exit = await server.client(download("nope.txt"))
      expect(failureOf(exit)).toEqual(new ServerRefused({ request: "Download", name: "nope.txt", reason: "Refused" }))
      expect(await tree(server.clientDir)).toEqual([])
    }))

  test("a directory, a hidden file and an escaping name are all refused", () =>
    withServer(async (server) => {
      await inServer(server).put("folder/x.txt", "x")
      await inServer(server).put(".hidden", "secret")
      for (const name of ["folder", ".hidden", "../x", "/etc/passwd"]) {
        const exit = await server.client(download(name))
        expect(failureOf(exit)).toEqual(new ServerRefused({ request: "Download", name, reason: "Refused" }))
      }
      expect(await tree(server.clientDir)).toEqual([])
    }))
})

describe("list (op 20)", () => {
  test("recursive, sorted by UTF-8 bytes, hidden files and temporaries left out, sizes as decimal strings", () =>
    withServer(async (server) => {
      const files = inServer(server)
      await files.put("b.txt", "bbb")
      await files.put("a.txt", "hello")
      await files.put("Z.txt", "")
      await files.put("sub-x.txt", seededBytes(12345, 1))
      await files.put("sub/c.bin", "c")
      await files.put("sub/a/x.txt", "xx")
      await files.put("ção.txt", "ç")
      // Never listed: hidden files, hidden folders, upload temporaries, empty folders.
      await files.put(".hidden", "h")
      await files.put(".git/config", "g")
      await files.put("sub/.secret", "s")
      await files.put(".envio-0123456789abcdef.tmp", "temporary")
      await files.put("sub/.envio-fedcba9876543210.tmp", "temporary")
      await mkdir(path.join(server.serverDir, "empty"))

      const expected = [
        { nome: "Z.txt", tamanho: "0" },
        { nome: "a.txt", tamanho: "5" },
        { nome: "b.txt", tamanho: "3" },
        { nome: "sub-x.txt", tamanho: "12345" },
        { nome: "sub/a/x.txt", tamanho: "2" },
        { nome: "sub/c.bin", tamanho: "1" },
        { nome: "ção.txt", tamanho: "2" }
      ]
      expect(await server.client(list)).toEqual(Exit.succeed({ entries: expected, json: JSON.stringify(expected) }))
    }))

  test("an empty folder lists as []", () =>
    withServer(async (server) => {
      expect(await server.client(list)).toEqual(Exit.succeed({ entries: [], json: "[]" }))
    }))
})

describe("upload (op 30)", () => {
  test("a new file is stored under its name", () =>
    withServer(async (server) => {
      await inClient(server).put("up.txt", "uploaded")
      expect(await server.client(upload("up.txt"))).toEqual(Exit.succeed({ name: "up.txt", size: 8 }))
      expect(await inServer(server).text("up.txt")).toBe("uploaded")
      expect(await tree(server.serverDir)).toEqual(["up.txt"])
    }))

  test("an existing file is overwritten", () =>
    withServer(async (server) => {
      await inServer(server).put("up.txt", "an older and longer content")
      await inClient(server).put("up.txt", "new")
      expect(await server.client(upload("up.txt"))).toEqual(Exit.succeed({ name: "up.txt", size: 3 }))
      expect(await inServer(server).text("up.txt")).toBe("new")
      expect(await tree(server.serverDir)).toEqual(["up.txt"])
    }))

  test("a file in a new subfolder creates the subfolder", () =>
    withServer(async (server) => {
      await inClient(server).put("novo/pasta/up.bin", "deep")
      expect(await server.client(upload("novo/pasta/up.bin"))).toEqual(
        Exit.succeed({ name: "novo/pasta/up.bin", size: 4 })
      )
      expect(await inServer(server).text("novo/pasta/up.bin")).toBe("deep")
      expect(await tree(server.serverDir)).toEqual(["novo", "novo/pasta", "novo/pasta/up.bin"])
    }))

  test("an empty file is stored as an empty file", () =>
    withServer(async (server) => {
      await inClient(server).put("zero.txt", "")
      expect(await server.client(upload("zero.txt"))).toEqual(Exit.succeed({ name: "zero.txt", size: 0 }))
      expect(await inServer(server).text("zero.txt")).toBe("")
    }))

  test("a target that is a directory on the server is refused and nothing changes", () =>
    withServer(async (server) => {
      await inServer(server).put("dir.txt/inner.txt", "inner")
      await inClient(server).put("dir.txt", "would replace a folder")
      const before = await tree(server.serverDir)
      const exit = await server.client(upload("dir.txt"))
      expect(failureOf(exit)).toEqual(new ServerRefused({ request: "Upload", name: "dir.txt", reason: "Refused" }))
      expect(await tree(server.serverDir)).toEqual(before)
      expect(await inServer(server).text("dir.txt/inner.txt")).toBe("inner")
    }))

  test("a local file that does not exist fails locally with NotFound, before any request", () =>
    withServer(async (server) => {
      const failure = failureOf(await server.client(upload("absent.txt")))
      expect(failure).toBeInstanceOf(FileFailure)
      expect(failure).toMatchObject({ _tag: "FileFailure", reason: "NotFound", name: "absent.txt" })
      expect(server.logs).toEqual([])
    }))
})

describe("resume (op 40)", () => {
  const content = seededBytes(100 * 1024, 7)

  test("completes a partial: the final file equals the server file and the partial is gone", () =>
    withServer(async (server) => {
      await inServer(server).put("r.bin", content)
      await inClient(server).put("r.bin.parcial", content.subarray(0, 40_000))
      const exit = await server.client(resume("r.bin"))
      expect(exit).toEqual(Exit.succeed({ name: "r.bin", from: 40_000, size: content.length, alreadyComplete: false }))
      // The server only sent the rest after the MD5 of the first 40 000 bytes matched.
      expect(await bytesAt(server.clientDir, "r.bin")).toEqual(content)
      expect(await tree(server.clientDir)).toEqual(["r.bin"])
    }))

  test("an explicit position cuts the partial there and continues from it", () =>
    withServer(async (server) => {
      await inServer(server).put("p.txt", "0123456789")
      await inClient(server).put("p.txt.parcial", "012XXXX")
      expect(await server.client(resume("p.txt", 3))).toEqual(
        Exit.succeed({ name: "p.txt", from: 3, size: 10, alreadyComplete: false })
      )
      expect(await inClient(server).text("p.txt")).toBe("0123456789")
      expect(await tree(server.clientDir)).toEqual(["p.txt"])
    }))

  test("a partial that already holds the whole file completes with nothing more to send", () =>
    withServer(async (server) => {
      await inServer(server).put("whole.txt", "complete")
      await inClient(server).put("whole.txt.parcial", "complete")
      expect(await server.client(resume("whole.txt"))).toEqual(
        Exit.succeed({ name: "whole.txt", from: 8, size: 8, alreadyComplete: false })
      )
      expect(await inClient(server).text("whole.txt")).toBe("complete")
      expect(await tree(server.clientDir)).toEqual(["whole.txt"])
    }))

  test("a finished local file equal to the server's is reported alreadyComplete and left alone", () =>
    withServer(async (server) => {
      await inServer(server).put("done.txt", "finished")
      await inClient(server).put("done.txt", "finished")
      expect(await server.client(resume("done.txt"))).toEqual(
        Exit.succeed({ name: "done.txt", from: 8, size: 8, alreadyComplete: true })
      )
      expect(await inClient(server).text("done.txt")).toBe("finished")
      expect(await tree(server.clientDir)).toEqual(["done.txt"])
    }))

  test("a finished local file that is a prefix of the server's (it grew) is continued", () =>
    withServer(async (server) => {
      await inServer(server).put("log.txt", "line 1\nline 2\n")
      await inClient(server).put("log.txt", "line 1\n")
      expect(await server.client(resume("log.txt"))).toEqual(
        Exit.succeed({ name: "log.txt", from: 7, size: 14, alreadyComplete: false })
      )
      expect(await inClient(server).text("log.txt")).toBe("line 1\nline 2\n")
      expect(await tree(server.clientDir)).toEqual(["log.txt"])
    }))

  test("a finished local file with other content is a HashMismatch and is left alone", () =>
    withServer(async (server) => {
      await inServer(server).put("other.txt", "server side")
      await inClient(server).put("other.txt", "client")
      expect(failureOf(await server.client(resume("other.txt")))).toEqual(
        new HashMismatch({ name: "other.txt", position: 6 })
      )
      expect(await inClient(server).text("other.txt")).toBe("client")
      expect(await tree(server.clientDir)).toEqual(["other.txt"])
    }))

  test("a position past the end of the server file is a HashMismatch; the partial is kept", () =>
    withServer(async (server) => {
      await inServer(server).put("short.txt", "hello")
      await inClient(server).put("short.txt.parcial", "hello world!")
      const exit = await server.client(resume("short.txt"))
      expect(failureOf(exit)).toEqual(new HashMismatch({ name: "short.txt", position: 12 }))
      expect(await inClient(server).text("short.txt.parcial")).toBe("hello world!")
      expect(await tree(server.clientDir)).toEqual(["short.txt.parcial"])
    }))

  test("a partial with different content is a HashMismatch; the partial is unchanged", () =>
    withServer(async (server) => {
      await inServer(server).put("w.txt", "hello world")
      await inClient(server).put("w.txt.parcial", "HELLO")
      const exit = await server.client(resume("w.txt"))
      expect(failureOf(exit)).toEqual(new HashMismatch({ name: "w.txt", position: 5 }))
      expect(await inClient(server).text("w.txt.parcial")).toBe("HELLO")
      expect(await tree(server.clientDir)).toEqual(["w.txt.parcial"])
    }))

  test("a file missing on the server is ServerRefused with reason NotFound; the partial is kept", () =>
    withServer(async (server) => {
      await inClient(server).put("gone.txt.parcial", "abc")
      const exit = await server.client(resume("gone.txt"))
      expect(failureOf(exit)).toEqual(new ServerRefused({ request: "Resume", name: "gone.txt", reason: "NotFound" }))
      expect(await inClient(server).text("gone.txt.parcial")).toBe("abc")
    }))

  test("an invalid name is refused by the first status (ServerRefused, reason Refused)", () =>
    withServer(async (server) => {
      // The client store only looks inside its folder: the partial "a/../x.txt.parcial" is "x.txt.parcial".
      await inClient(server).put("a/placeholder", "")
      await inClient(server).put("x.txt.parcial", "abc")
      const exit = await server.client(resume("a/../x.txt"))
      expect(failureOf(exit)).toEqual(new ServerRefused({ request: "Resume", name: "a/../x.txt", reason: "Refused" }))
    }))

  test("without a partial, resume fails locally (FileFailure NotFound) and sends nothing", () =>
    withServer(async (server) => {
      await inServer(server).put("n.txt", "data")
      const failure = failureOf(await server.client(resume("n.txt")))
      expect(failure).toMatchObject({ _tag: "FileFailure", reason: "NotFound", name: "n.txt" })
      expect(server.logs).toEqual([])
    }))

  test("a position past the partial fails locally (FileFailure TooLarge)", () =>
    withServer(async (server) => {
      await inServer(server).put("q.txt", "0123456789")
      await inClient(server).put("q.txt.parcial", "0123")
      const failure = failureOf(await server.client(resume("q.txt", 5)))
      expect(failure).toMatchObject({ _tag: "FileFailure", reason: "TooLarge", name: "q.txt" })
      expect(await inClient(server).text("q.txt.parcial")).toBe("0123")
    }))
})

describe("downloadMany (op 50)", () => {
  const seed = async (server: TestServer) => {
    const files = inServer(server)
    await files.put("a.txt", "A")
    await files.put("b.txt", "BB")
    await files.put("c.bin", "CCC")
    await files.put(".h.txt", "hidden")
    await files.put("sub/d.txt", "DDDD")
    await files.put("sub/e.bin", "EEEEE")
    await files.put("sub/f.bin", "FFFFFF")
  }

  test("*.txt matches only the top-level .txt files", () =>
    withServer(async (server) => {
      await seed(server)
      expect(await server.client(downloadMany("*.txt"))).toEqual(
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
      expect(await tree(server.clientDir)).toEqual(["a.txt", "b.txt"])
      expect(await inClient(server).text("b.txt")).toBe("BB")
    }))

  test("sub/*.bin matches inside the subfolder and saves there", () =>
    withServer(async (server) => {
      await seed(server)
      expect(await server.client(downloadMany("sub/*.bin"))).toEqual(
        Exit.succeed({
          entries: [
            { name: "sub/e.bin", size: 5 },
            { name: "sub/f.bin", size: 6 }
          ],
          results: [
            { _tag: "Saved", name: "sub/e.bin", size: 5 },
            { _tag: "Saved", name: "sub/f.bin", size: 6 }
          ]
        })
      )
      expect(await tree(server.clientDir)).toEqual(["sub", "sub/e.bin", "sub/f.bin"])
      expect(await inClient(server).text("sub/f.bin")).toBe("FFFFFF")
    }))

  test("no match is an empty manifest, not a failure", () =>
    withServer(async (server) => {
      await seed(server)
      expect(await server.client(downloadMany("*.none"))).toEqual(Exit.succeed({ entries: [], results: [] }))
      expect(await tree(server.clientDir)).toEqual([])
    }))

  test("too many matches is TooManyMatches with the count and the cap", () =>
    withServer(
      async (server) => {
        await seed(server)
        await inServer(server).put("z.txt", "Z")
        const exit = await server.client(downloadMany("*.txt"))
        expect(failureOf(exit)).toEqual(new TooManyMatches({ mask: "*.txt", matches: 3, cap: 2 }))
        expect(await tree(server.clientDir)).toEqual([])
      },
      { maxMatches: 2 }
    ))

  test("a file that cannot be saved locally is a LocalFailure and the others are still saved", () =>
    withServer(async (server) => {
      await seed(server)
      await mkdir(path.join(server.clientDir, "a.txt"))
      const exit = await server.client(downloadMany("*.txt"))
      if (!Exit.isSuccess(exit)) throw new Error("downloadMany failed")
      const [first, second] = exit.value.results
      expect(first).toMatchObject({
        _tag: "LocalFailure",
        name: "a.txt",
        failure: { _tag: "FileFailure", reason: "IsDirectory" }
      })
      expect(second).toEqual({ _tag: "Saved", name: "b.txt", size: 2 })
      expect(await inClient(server).text("b.txt")).toBe("BB")
      expect(await tree(server.clientDir)).toEqual(["a.txt", "b.txt"])
    }))

  test("a write failing in the middle of a file is a LocalFailure, and the files after it still arrive whole", () =>
    withServer(async (server) => {
      const big = seededBytes(3 * 1024 * 1024 + 11, 7)
      await writeFile(path.join(server.serverDir, "a.bin"), big)
      await writeFile(path.join(server.serverDir, "b.bin"), "depois")
      // The client's store fails the writes of a.bin once 1 MiB has gone in, as a full disk would.
      const live = await Effect.runPromise(makeFileStore(server.clientDir))
      const failing: FileStoreService = {
        ...live,
        openPartial: (name, keep) =>
          Effect.map(live.openPartial(name, keep), (partial) => {
            if (name !== "a.bin") return partial
            let written = 0
            return {
              ...partial,
              sink: {
                write: (bytes) => {
                  if (written + bytes.length > 1024 * 1024) {
                    return Either.left(
                      new FileFailure({ name, reason: "NoSpace", detail: "sem espaço em disco (ENOSPC)" })
                    )
                  }
                  written += bytes.length
                  return partial.sink.write(bytes)
                }
              }
            }
          })
      }
      // The live client with its store replaced by the failing one.
      const layer = Layer.merge(
        ClientLive({ folder: server.clientDir, host: "127.0.0.1", port: server.port, timeoutSeconds: 5 }),
        Layer.succeed(FileStore, failing)
      )
      const exit = await Effect.runPromiseExit(downloadMany("*.bin").pipe(Effect.scoped, Effect.provide(layer)))
      if (!Exit.isSuccess(exit)) throw new Error(`downloadMany failed: ${String(exit.cause)}`)
      const [first, second] = exit.value.results
      expect(first).toMatchObject({ _tag: "LocalFailure", name: "a.bin", failure: { reason: "NoSpace" } })
      expect(second).toEqual({ _tag: "Saved", name: "b.bin", size: 6 })
      expect(await inClient(server).text("b.bin")).toBe("depois")
    }))

  test("an invalid mask is refused", () =>
    withServer(async (server) => {
      await seed(server)
      for (const mask of ["../*", "**/*.txt", "{a,b}.txt"]) {
        const exit = await server.client(downloadMany(mask))
        expect(failureOf(exit)).toEqual(new ServerRefused({ request: "DownloadMany", name: mask, reason: "Refused" }))
      }
      expect(await tree(server.clientDir)).toEqual([])
    }))
})

import { describe, expect, test } from "bun:test"
import { mkdir, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import { Exit } from "effect"
import { download } from "../../src/programs/client/download.ts"
import { downloadMany } from "../../src/programs/client/downloadMany.ts"
import { list } from "../../src/programs/client/list.ts"
import { resume } from "../../src/programs/client/resume.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { tempDir } from "../support/harness.ts"
import { clientFor, openRaw, seededBytes, tree, waitFor, withServer } from "../support/hostile.ts"

/**
 * Many clients at once: each connection is served on its own, a stalled
 * client holds up nobody, racing uploads never mix, and every operation
 * leaves exactly one log line.
 */

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** The log line format: time, peer, operation, name, result, bytes, duration. */
const lineFor = (op: string, name: string, result: string, bytes: number | string = "\\d+") =>
  new RegExp(
    `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z 127\\.0\\.0\\.1:\\d+ ${escape(op)} ${escape(name)} ${result} ${bytes} bytes \\d+ ms$`
  )

describe("concurrent clients", () => {
  test("50 concurrent downloads of different files all arrive intact, one log line each", () =>
    withServer(async (server) => {
      const names = Array.from({ length: 50 }, (_, i) => `f-${String(i).padStart(2, "0")}.bin`)
      const contents = names.map((_, i) => seededBytes(32 * 1024 + i * 1000, i + 1))
      await Promise.all(names.map((name, i) => writeFile(path.join(server.serverDir, name), contents[i]!)))

      const exits = await Promise.all(names.map((name) => server.client(download(name))))
      for (const [i, exit] of exits.entries()) {
        expect(exit).toEqual(Exit.succeed({ name: names[i]!, size: contents[i]!.length }))
      }
      for (const [i, name] of names.entries()) {
        expect(new Uint8Array(await readFile(path.join(server.clientDir, name)))).toEqual(contents[i]!)
      }

      expect(await waitFor(() => server.logs.length >= 50)).toBe(true)
      expect(server.logs.length).toBe(50)
      for (const [i, name] of names.entries()) {
        expect(server.logs.filter((line) => lineFor("baixar", name, "ok", contents[i]!.length).test(line)).length).toBe(
          1
        )
      }
    }))

  test(
    "16 slow readers of different 6 MiB files at once: every transfer keeps its own bytes while its socket is full",
    () =>
      withServer(async (server) => {
        // The readers pause after every segment, so the server's sends stall with bytes still pending in
        // their read buffers while other transfers fill theirs: a buffer lent twice would mix files.
        const names = Array.from({ length: 16 }, (_, i) => `lento-${String(i).padStart(2, "0")}.bin`)
        const contents = names.map((_, i) => seededBytes(6 * 1024 * 1024 + i * 4099, 300 + i))
        await Promise.all(names.map((name, i) => writeFile(path.join(server.serverDir, name), contents[i]!)))
        const slowDownload = (name: string) =>
          new Promise<Buffer>((resolve, reject) => {
            const parts: Array<Buffer> = []
            const socket = net.connect({ host: "127.0.0.1", port: server.port }, () => {
              const encoded = Buffer.from(name)
              const request = Buffer.alloc(5 + encoded.length)
              request[0] = 10
              request.writeUInt32BE(encoded.length, 1)
              encoded.copy(request, 5)
              socket.write(request)
            })
            socket.on("data", (chunk: Buffer) => {
              parts.push(chunk)
              // A reader that takes one chunk per turn of the event loop: slower than the server sends.
              socket.pause()
              setImmediate(() => socket.resume())
            })
            socket.on("error", reject)
            socket.on("close", () => resolve(Buffer.concat(parts)))
          })
        const replies = await Promise.all(names.map(slowDownload))
        for (const [i, reply] of replies.entries()) {
          const body = contents[i]!
          expect(reply[0]).toBe(0)
          expect(reply.readUInt32BE(1)).toBe(body.length)
          expect(reply.length).toBe(5 + body.length)
          expect(Buffer.compare(reply.subarray(5), body)).toBe(0)
        }
      }),
    60_000
  )

  test("a stalled client (connected, silent) does not delay another client's download", () =>
    withServer(async (server) => {
      await writeFile(path.join(server.serverDir, "a.txt"), "hello")
      const silent = await openRaw(server.port)
      const halfway = await openRaw(server.port)
      try {
        await halfway.write(Uint8Array.of(10, 0, 0)) // an opcode and half a length, then nothing
        expect(await server.client(download("a.txt"))).toEqual(Exit.succeed({ name: "a.txt", size: 5 }))
        expect(await readFile(path.join(server.clientDir, "a.txt"), "utf8")).toBe("hello")
        // Both stalled connections are still open, waiting for their request deadline (5 s).
        expect(silent.isClosed()).toBe(false)
        expect(halfway.isClosed()).toBe(false)
        expect(silent.buffered() + halfway.buffered()).toBe(0)
      } finally {
        silent.destroy()
        halfway.destroy()
      }
    }))

  test("two concurrent uploads of one name with different 2 MiB contents: the file is exactly one of them", () =>
    withServer(async (server) => {
      const first = seededBytes(2 * 1024 * 1024, 11)
      const second = seededBytes(2 * 1024 * 1024, 22)
      const otherDir = await tempDir("cliente2")
      try {
        await writeFile(path.join(server.clientDir, "same.bin"), first)
        await writeFile(path.join(otherDir, "same.bin"), second)
        const other = await clientFor(server.port, otherDir)
        const [a, b] = await Promise.all([server.client(upload("same.bin")), other(upload("same.bin"))])
        expect(a).toEqual(Exit.succeed({ name: "same.bin", size: first.length }))
        expect(b).toEqual(Exit.succeed({ name: "same.bin", size: second.length }))
        const stored = new Uint8Array(await readFile(path.join(server.serverDir, "same.bin")))
        const equalsFirst = Buffer.compare(stored, first) === 0
        const equalsSecond = Buffer.compare(stored, second) === 0
        expect(equalsFirst !== equalsSecond).toBe(true)
        expect(await tree(server.serverDir)).toEqual(["same.bin"])
      } finally {
        await rm(otherDir, { recursive: true, force: true })
      }
    }))
})

describe("racing readers and writers", () => {
  test("a download racing an upload of the same file gets the old or the new content, whole", () =>
    withServer(async (server) => {
      const older = seededBytes(2 * 1024 * 1024, 33)
      const newer = seededBytes(2 * 1024 * 1024, 44)
      const readerDir = await tempDir("leitor")
      try {
        await writeFile(path.join(server.serverDir, "race.bin"), older)
        await writeFile(path.join(server.clientDir, "race.bin"), newer)
        const reader = await clientFor(server.port, readerDir)
        const [sent, fetched] = await Promise.all([server.client(upload("race.bin")), reader(download("race.bin"))])
        expect(Exit.isSuccess(sent)).toBe(true)
        expect(fetched).toEqual(Exit.succeed({ name: "race.bin", size: older.length }))
        const got = new Uint8Array(await readFile(path.join(readerDir, "race.bin")))
        expect(Buffer.compare(got, older) === 0 || Buffer.compare(got, newer) === 0).toBe(true)
        expect(new Uint8Array(await readFile(path.join(server.serverDir, "race.bin")))).toEqual(newer)
      } finally {
        await rm(readerDir, { recursive: true, force: true })
      }
    }))
})

describe("the log", () => {
  test("one line per operation, with the operation, the name and the result", () =>
    withServer(
      async (server) => {
        const serverFile = (name: string, content: string) => writeFile(path.join(server.serverDir, name), content)
        await serverFile("a.txt", "hello")
        await serverFile("b.txt", "bee")
        await writeFile(path.join(server.clientDir, "up.txt"), "sent")
        await writeFile(path.join(server.clientDir, "a.txt.parcial"), "he")
        await mkdir(path.join(server.clientDir, "keep"))

        // One operation at a time, so the lines come in this order.
        const steps: ReadonlyArray<readonly [() => Promise<unknown>, RegExp]> = [
          [() => server.client(download("b.txt")), lineFor("baixar", "b.txt", "ok", 3)],
          [() => server.client(download("nope.txt")), lineFor("baixar", "nope.txt", "falha: .*")],
          [() => server.client(list), lineFor("listar", "-", "ok \\(2 arquivos\\)")],
          [() => server.client(upload("up.txt")), lineFor("enviar", "up.txt", "ok", 4)],
          [() => server.client(resume("a.txt")), lineFor("retomar", "a.txt", "ok \\(a partir de 2\\)", 3)],
          [
            () => server.client(downloadMany("b.*")),
            lineFor("baixar-varios", "b.*", "ok \\(1 de 1 arquivo enviado\\)", 3)
          ],
          [
            () => server.client(downloadMany("*.txt")),
            lineFor("baixar-varios", "*.txt", "recusado \\(limite: .*\\)", 0)
          ]
        ]
        for (const [index, [run, pattern]] of steps.entries()) {
          await run()
          expect(await waitFor(() => server.logs.length > index)).toBe(true)
          expect(server.logs[index]).toMatch(pattern)
        }
        expect(server.logs.length).toBe(steps.length)
      },
      { maxMatches: 2 }
    ))
})

describe("resources", () => {
  const openUnder = async (dir: string) => {
    const found: Array<string> = []
    for (const fd of await readdir("/proc/self/fd")) {
      const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "")
      if (target.startsWith(dir + path.sep)) found.push(target)
    }
    return found
  }

  // Regression: the server's own Scope once reached every connection through
  // `Effect.provide(context)`, so each operation's finalizers (file handles,
  // temporaries) ran only at shutdown and every download leaked a descriptor.
  test("no server file stays open once its operations are over", () =>
    withServer(async (server) => {
      await writeFile(path.join(server.serverDir, "a.txt"), "hello")
      for (let i = 0; i < 5; i++) expect(Exit.isSuccess(await server.client(download("a.txt")))).toBe(true)
      expect(await waitFor(() => server.logs.length === 5)).toBe(true)
      await waitFor(async () => (await openUnder(server.serverDir)).length === 0)
      expect(await openUnder(server.serverDir)).toEqual([])
    }))
})

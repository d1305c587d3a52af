import { describe, expect, setDefaultTimeout, test } from "bun:test"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import { Deferred, Effect, Exit } from "effect"
import { download as downloadProgram } from "../../src/programs/client/download.ts"
import { resume as resumeProgram } from "../../src/programs/client/resume.ts"
import { seededBytes } from "../support/hostile.ts"
import { guard } from "../support/waiting.ts"
import {
  be32,
  bytesOf,
  download,
  downloadMany,
  hexOf,
  list,
  md5Hex,
  md5Raw,
  openFdCount,
  pool,
  prng,
  resume,
  temporaries,
  upload,
  uploadHeader,
  waitFor,
  withJail
} from "./support.ts"

/**
 * Faults on the client's side of the server: connections dropped (FIN) or
 * reset (RST) at seeded random points of every operation, uploads cut
 * half-way, downloads cut and resumed, racing uploads of one name, and
 * downloads during an overwrite. The server must stay whole: every
 * connection logged once, no temporary left, no file half-written, its
 * descriptors back to where they were, and `assertIntact` after each case.
 */

setDefaultTimeout(60_000)

const MIB = 1024 * 1024

type Kill = "fin" | "reset"

/**
 * Connects, writes the first `sendBytes` bytes of `request`, reads until
 * `readBytes` bytes of reply arrived (0: none awaited), then drops the
 * connection with `kill`. Resolves with what was received.
 */
const cutExchange = (port: number, request: Uint8Array, sendBytes: number, readBytes: number, kill: Kill) =>
  new Promise<Uint8Array>((resolve) => {
    const received: Array<Buffer> = []
    let total = 0
    let done = false
    const socket = net.connect({ host: "127.0.0.1", port })
    const finish = () => {
      if (done) return
      done = true
      if (kill === "reset") socket.resetAndDestroy()
      else socket.destroy()
    }
    const cancel = guard(5_000, finish) // the server closed early or sent less: stop anyway
    socket.on("error", () => {})
    socket.on("close", () => {
      cancel()
      resolve(new Uint8Array(Buffer.concat(received)))
    })
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk)
      total += chunk.length
      if (readBytes > 0 && total >= readBytes) finish()
    })
    socket.on("end", finish)
    socket.on("connect", () => {
      if (sendBytes === 0 && readBytes === 0) return finish()
      socket.write(request.subarray(0, sendBytes), () => {
        if (readBytes === 0) finish()
      })
    })
  })

const opLines = (logs: ReadonlyArray<string>) => logs.filter((line) => / \d+ bytes \d+ ms$/.test(line)).length

describe("clients that disconnect or reset at random points", () => {
  test("400 seeded cuts across ops 10, 20, 30, 40, 50: every connection logged once, nothing left half-done", () =>
    withJail(async (jail) => {
      const big = seededBytes(MIB, 7)
      await jail.put("big.bin", big)
      await jail.put("other.bin", seededBytes(200_000, 8))
      const payload = seededBytes(256 * 1024, 9)
      const random = prng(0xfa017)
      const fdsBefore = await openFdCount()
      const logsBefore = opLines(jail.logs)
      const runs = Array.from({ length: 400 }, (_, i) => {
        const op = [10, 20, 30, 40, 50][i % 5]!
        const position = random.int(big.length)
        const request =
          op === 10
            ? download("big.bin")
            : op === 20
              ? list()
              : op === 30
                ? upload(`up-${i}.bin`, payload)
                : op === 40
                  ? resume("big.bin", position, md5Raw(big.subarray(0, position)))
                  : downloadMany("*.bin")
        // Cut while sending the request (at any byte, the whole of it included), or while reading the reply.
        const inRequest = random.next() < 0.5
        const sendBytes = inRequest ? random.int(request.length + 1) : request.length
        const readBytes = inRequest ? 0 : 1 + random.int(op === 20 ? 60 : op === 30 ? 2 : 300_000)
        const kill: Kill = random.next() < 0.5 ? "reset" : "fin"
        return { i, op, request, sendBytes, readBytes, kill }
      })
      await pool(runs, 16, async (run) => {
        jail.record(await cutExchange(jail.port, run.request, run.sendBytes, run.readBytes, run.kill))
      })
      // Every connection was handled to its end and logged exactly once.
      expect(await waitFor(() => opLines(jail.logs) - logsBefore >= runs.length, 10_000)).toBe(true)
      expect(opLines(jail.logs) - logsBefore).toBe(runs.length)
      // No temporary is left, and every upload is either absent or whole.
      expect(await waitFor(async () => (await temporaries(jail.root)).length === 0)).toBe(true)
      for (const run of runs.filter((r) => r.op === 30)) {
        const stored = await fs.readFile(path.join(jail.root, `up-${run.i}.bin`)).catch(() => undefined)
        if (stored !== undefined) expect({ i: run.i, md5: md5Hex(stored) }).toEqual({ i: run.i, md5: md5Hex(payload) })
      }
      // The served file is unchanged, and the server's descriptors are back (some slack for the runtime).
      expect(md5Hex(await fs.readFile(path.join(jail.root, "big.bin")))).toBe(md5Hex(big))
      expect(await waitFor(async () => (await openFdCount()) <= fdsBefore + 8, 5_000)).toBe(true)
      const counts = {
        reset: runs.filter((r) => r.kill === "reset").length,
        inRequest: runs.filter((r) => r.readBytes === 0).length
      }
      console.info(
        `random cuts: ${runs.length} runs, ${counts.reset} by RST, ${counts.inRequest} while sending the request`
      )
    }))
})

describe("uploads interrupted half-way", () => {
  test.each(["fin", "reset"] as const)(
    "40 uploads of 1 MiB cut half-way by %s: no file, no temporary, older file intact",
    (kill) =>
      withJail(async (jail) => {
        const older = seededBytes(4096, 21)
        await jail.put("antigo.bin", older)
        const data = seededBytes(MIB, 22)
        await pool(
          Array.from({ length: 40 }, (_, i) => i),
          10,
          async (i) => {
            const name = i % 2 === 0 ? "antigo.bin" : `novo-${i}.bin`
            const request = bytesOf(uploadHeader(name), be32(data.length), data)
            // Everything up to and including half of the data, then the cut.
            const reply = await cutExchange(
              jail.port,
              request,
              uploadHeader(name).length + 4 + data.length / 2,
              0,
              kill
            )
            expect(["", "00"]).toContain(hexOf(reply))
          }
        )
        expect(await waitFor(async () => (await temporaries(jail.root)).length === 0)).toBe(true)
        expect((await fs.readdir(jail.root)).sort()).toEqual(["antigo.bin", "normal.txt", "sub"])
        expect(md5Hex(await fs.readFile(path.join(jail.root, "antigo.bin")))).toBe(md5Hex(older))
      })
  )
})

describe("downloads interrupted and resumed", () => {
  test("a raw download cut at 12 seeded points (FIN or RST), then resumed by the client program: whole and exact", () =>
    withJail(async (jail) => {
      const big = seededBytes(2 * MIB + 333, 31)
      await jail.put("big.bin", big)
      const random = prng(31)
      for (let round = 0; round < 12; round++) {
        const want = 5 + 1 + random.int(big.length - 1)
        const got = await cutExchange(
          jail.port,
          download("big.bin"),
          download("big.bin").length,
          want,
          round % 2 ? "reset" : "fin"
        )
        jail.record(got)
        expect(hexOf(got.subarray(0, 5))).toBe(hexOf(bytesOf(0, be32(big.length))))
        const held = got.subarray(5)
        expect(Buffer.compare(held, big.subarray(0, held.length))).toBe(0)
        await fs.writeFile(path.join(jail.clientDir, "big.bin.parcial"), held)
        const exit = await jail.client(resumeProgram("big.bin"))
        expect(exit).toEqual(
          Exit.succeed({ name: "big.bin", from: held.length, size: big.length, alreadyComplete: false })
        )
        expect(md5Hex(await fs.readFile(path.join(jail.clientDir, "big.bin")))).toBe(md5Hex(big))
        await fs.rm(path.join(jail.clientDir, "big.bin"))
      }
    }))

  test("the client's own download interrupted half-way keeps its partial, and resume completes it", () =>
    withJail(async (jail) => {
      const big = seededBytes(16 * MIB, 41)
      await jail.put("big.bin", big)
      const interrupted = Effect.gen(function* () {
        const half = yield* Deferred.make<void>()
        let received = 0
        const progress = {
          start: () => {},
          advance: (bytes: number) => {
            received += bytes
            if (received >= big.length / 4) Deferred.unsafeDone(half, Exit.void)
          }
        }
        return yield* Effect.raceFirst(
          downloadProgram("big.bin", progress).pipe(Effect.as("completed" as const)),
          Deferred.await(half).pipe(Effect.as("interrupted" as const))
        )
      })
      expect(await jail.client(interrupted)).toEqual(Exit.succeed("interrupted"))
      const partial = await fs.readFile(path.join(jail.clientDir, "big.bin.parcial"))
      expect(partial.length).toBeGreaterThan(0)
      expect(partial.length).toBeLessThan(big.length)
      expect(Buffer.compare(partial, big.subarray(0, partial.length))).toBe(0)
      expect(await fs.readdir(jail.clientDir)).toEqual(["big.bin.parcial"])
      const exit = await jail.client(resumeProgram("big.bin"))
      expect(exit).toEqual(
        Exit.succeed({ name: "big.bin", from: partial.length, size: big.length, alreadyComplete: false })
      )
      expect(md5Hex(await fs.readFile(path.join(jail.clientDir, "big.bin")))).toBe(md5Hex(big))
      expect(await fs.readdir(jail.clientDir)).toEqual(["big.bin"])
    }))
})

describe("races on one name", () => {
  test("8 simultaneous uploads of one name, 5 rounds: the file is exactly one of them, no temporary", () =>
    withJail(async (jail) => {
      for (let round = 0; round < 5; round++) {
        const contents = Array.from({ length: 8 }, (_, i) => seededBytes(256 * 1024 + i * 7, round * 100 + i + 1))
        const replies = await Promise.all(contents.map((content) => jail.exchange(upload("mesmo.bin", content))))
        for (const { reply } of replies) expect(hexOf(reply)).toBe("0000")
        const stored = md5Hex(await fs.readFile(path.join(jail.root, "mesmo.bin")))
        expect(contents.map((content) => md5Hex(content))).toContain(stored)
        expect(await waitFor(async () => (await temporaries(jail.root)).length === 0)).toBe(true)
      }
    }))

  test("60 downloads while 12 uploads overwrite the file: each download is all old or all new, never a mix", () =>
    withJail(async (jail) => {
      const versions = Array.from({ length: 4 }, (_, i) => seededBytes(MIB + i, 500 + i))
      const known = new Set(versions.map((version) => md5Hex(version)))
      await jail.put("alvo.bin", versions[0]!)
      const seen = new Map<string, number>()
      await Promise.all([
        pool(
          Array.from({ length: 12 }, (_, i) => i),
          3,
          async (i) => {
            expect(hexOf((await jail.exchange(upload("alvo.bin", versions[(i % 3) + 1]!))).reply)).toBe("0000")
          }
        ),
        pool(
          Array.from({ length: 60 }, (_, i) => i),
          12,
          async () => {
            const { reply } = await jail.exchange(download("alvo.bin"))
            expect(reply[0]).toBe(0)
            const size = new DataView(reply.buffer, reply.byteOffset + 1, 4).getUint32(0)
            expect(reply.length).toBe(5 + size)
            const digest = md5Hex(reply.subarray(5))
            expect(known.has(digest)).toBe(true)
            seen.set(digest, (seen.get(digest) ?? 0) + 1)
          }
        )
      ])
      console.info(`download during overwrite: ${seen.size} distinct whole versions seen`)
      expect(await waitFor(async () => (await temporaries(jail.root)).length === 0)).toBe(true)
    }))
})

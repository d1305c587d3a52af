import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import {
  be32,
  bytesOf,
  download,
  downloadMany,
  expectWellFormedReply,
  hexOf,
  type Jail,
  list,
  md5Raw,
  NORMAL,
  pool,
  prng,
  resume,
  settledRss,
  startJail,
  temporaries,
  upload,
  uploadHeader,
  utf8,
  waitFor
} from "./support.ts"

/**
 * Framing: unknown opcodes, absurd declared lengths (without allocating
 * them), requests cut at every byte, more data than declared, garbage. The
 * server answers 01 (or the reply of the request it did read), closes, logs
 * a failure, and goes on serving. `assertIntact` runs after every case.
 */

setDefaultTimeout(30_000)

let jail: Jail

beforeAll(async () => {
  // A request deadline far above every limit used below: an answer that comes
  // before it proves the server did not wait for bytes that were never sent.
  jail = await startJail({ timeoutSeconds: 5 })
})

afterAll(() => jail.close())

afterEach(async () => {
  await waitFor(async () => (await temporaries(jail.root)).length === 0)
  expect(await temporaries(jail.root)).toEqual([])
  await jail.assertIntact()
})

const KNOWN = new Set([10, 20, 30, 40, 50])
const UNKNOWN = Array.from({ length: 256 }, (_, op) => op).filter((op) => !KNOWN.has(op))
const NORMAL_REPLY = hexOf(bytesOf(0, be32(utf8(NORMAL).length), NORMAL))

const failuresLogged = () => jail.logs.filter((line) => / falha: /.test(line)).length

describe("unknown opcodes", () => {
  test("all 251 unused values: 01 at once, without waiting for more bytes or for the end", async () => {
    expect(UNKNOWN.length).toBe(251)
    const before = failuresLogged()
    await pool(UNKNOWN, 16, async (op) => {
      // Alone and left open: the answer must come right after the first byte.
      const alone = await jail.exchange(Uint8Array.of(op), { halfClose: false, limitMillis: 3_000 })
      expect({ op, reply: hexOf(alone.reply), timedOut: alone.timedOut }).toEqual({ op, reply: "01", timedOut: false })
      // Followed by what would be a valid name: still 01, the rest is ignored.
      const followed = await jail.exchange(bytesOf(op, be32(10), "normal.txt"))
      expect({ op, reply: hexOf(followed.reply) }).toEqual({ op, reply: "01" })
    })
    expect(await waitFor(() => failuresLogged() - before >= 2 * 251)).toBe(true)
  })
})

describe("declared lengths", () => {
  const cases: ReadonlyArray<readonly [string, Uint8Array]> = [10, 30, 40, 50].flatMap((op) =>
    [0, 4097, 0x8000_0000, 0xffff_ffff].map(
      (length) => [`op ${op}, length ${length}`, bytesOf(op, be32(length))] as const
    )
  )

  test.each(cases)("%s: 01 at once, the connection left open by the client", async (_, request) => {
    const { reply, timedOut } = await jail.exchange(request, { halfClose: false, limitMillis: 3_000 })
    expect(timedOut).toBe(false)
    expect(hexOf(reply)).toBe("01")
  })

  test("200 requests declaring 0xFFFFFFFF-byte names allocate nothing (RSS within 64 MiB)", async () => {
    const before = await settledRss()
    await pool(
      Array.from({ length: 200 }, (_, i) => i),
      20,
      async (i) => {
        const request = bytesOf([10, 30, 40, 50][i % 4]!, be32(0xffff_ffff), "x".repeat(100))
        expect(hexOf((await jail.exchange(request, { halfClose: false })).reply)).toBe("01")
      }
    )
    const after = await settledRss()
    expect(after - before).toBeLessThan(64 * 1024 * 1024)
  })

  test("50 uploads declaring 0xFFFFFFFF bytes of data, held open: nothing allocated, temporaries gone after", async () => {
    const before = await settledRss()
    const sockets = await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect({ host: "127.0.0.1", port: jail.port }, () => {
              socket.write(bytesOf(uploadHeader(`grande-${i}.bin`), be32(0xffff_ffff), "so um pouco"))
              resolve(socket)
            })
            socket.on("data", (chunk: Buffer) => jail.record(new Uint8Array(chunk)))
            socket.on("error", () => {})
          })
      )
    )
    try {
      // Every upload was accepted and is waiting for its 4 GiB.
      expect(await waitFor(async () => (await temporaries(jail.root)).length === 50, 5_000)).toBe(true)
      const during = await settledRss()
      expect(during - before).toBeLessThan(128 * 1024 * 1024)
      // A normal request is still served meanwhile.
      expect(hexOf((await jail.exchange(download("normal.txt"))).reply)).toBe(NORMAL_REPLY)
    } finally {
      for (const socket of sockets) socket.destroy()
    }
    expect(await waitFor(async () => (await temporaries(jail.root)).length === 0, 5_000)).toBe(true)
    expect((await fs.readdir(jail.root)).sort()).toEqual(["normal.txt", "sub"])
  })

  test("op 40 with position 0xFFFFFFFF: hash mismatch (00 14), nothing read past the end", async () => {
    expect(hexOf((await jail.exchange(resume("normal.txt", 0xffff_ffff, md5Raw(NORMAL)))).reply)).toBe("0014")
    expect(hexOf((await jail.exchange(resume("normal.txt", utf8(NORMAL).length + 1, md5Raw(NORMAL)))).reply)).toBe(
      "0014"
    )
  })
})

const LISTING = '[{"nome":"normal.txt","tamanho":"32"},{"nome":"sub/interno.txt","tamanho":"8"}]'

/** Every request type, complete, with the reply grammar a client would decode it with. */
const REQUESTS: ReadonlyArray<{
  readonly label: string
  readonly bytes: Uint8Array
  /** Bytes up to the end of the name: from there on an upload has been accepted. */
  readonly header: number
  readonly complete: string
}> = [
  { label: "op 10 download", bytes: download("normal.txt"), header: Infinity, complete: NORMAL_REPLY },
  {
    label: "op 20 list",
    bytes: list(),
    header: Infinity,
    complete: hexOf(bytesOf(0, be32(LISTING.length), LISTING))
  },
  {
    label: "op 30 upload",
    bytes: upload("novo.txt", "hello"),
    header: uploadHeader("novo.txt").length,
    complete: "0000"
  },
  {
    label: "op 40 resume",
    bytes: resume("normal.txt", 8, md5Raw(NORMAL.slice(0, 8))),
    header: Infinity,
    complete: hexOf(bytesOf(0, 0, be32(24), NORMAL.slice(8)))
  },
  {
    label: "op 50 download many",
    bytes: downloadMany("*.txt"),
    header: Infinity,
    complete: hexOf(bytesOf(0, be32(1), be32(10), "normal.txt", be32(32), 0, be32(32), NORMAL))
  }
]

describe("a request cut at every byte (connect, send the first k bytes, close)", () => {
  test.each(REQUESTS.map((r) => [r.label, r] as const))("%s", async (_, request) => {
    const before = failuresLogged()
    const cuts = Array.from({ length: request.bytes.length }, (_, k) => k)
    await pool(cuts, 8, async (k) => {
      const { reply, timedOut } = await jail.exchange(request.bytes.subarray(0, k))
      expect({ k, timedOut }).toEqual({ k, timedOut: false })
      // Cut inside an upload's size or data: accepted first (00), then failed (01).
      expect({ k, reply: hexOf(reply) }).toEqual({ k, reply: k >= request.header ? "0001" : "01" })
    })
    // Every cut connection left one failure line in the log.
    expect(await waitFor(() => failuresLogged() - before === cuts.length)).toBe(true)
    // Nothing was created by the cut uploads.
    expect((await fs.readdir(jail.root)).sort()).toEqual(["normal.txt", "sub"])
    // And the whole request still gets its whole reply.
    expect(hexOf((await jail.exchange(request.bytes)).reply)).toBe(request.complete)
    await fs.rm(path.join(jail.root, "novo.txt"), { force: true })
  })
})

describe("more data than declared", () => {
  const junk = bytesOf(
    download("normal.txt"),
    upload("pipelined.txt", "second request"),
    new Uint8Array(5000).fill(0x41)
  )

  test.each(REQUESTS.map((r) => [r.label, r] as const))(
    "%s followed by a second request and 5000 more bytes: only the first is answered",
    async (_, request) => {
      const { reply } = await jail.exchange(bytesOf(request.bytes, junk))
      expect(hexOf(reply)).toBe(request.complete)
      // One operation per connection: the pipelined upload never happened.
      expect(await fs.readdir(jail.root)).not.toContain("pipelined.txt")
      if (request.label.startsWith("op 30")) {
        expect(await fs.readFile(path.join(jail.root, "novo.txt"), "utf8")).toBe("hello")
        await fs.rm(path.join(jail.root, "novo.txt"))
      }
    }
  )
})

describe("garbage", () => {
  test("300 seeded random byte strings (1 to 64 bytes): each gets one well-formed reply, or 01", async () => {
    const random = prng(0x6a7b)
    const inputs = Array.from({ length: 300 }, (_, i) => {
      const bytes = random.bytes(1 + random.int(64))
      // A third start with a known opcode, so the garbage reaches the name and size fields.
      if (i % 3 === 0) bytes[0] = random.pick([10, 20, 30, 40, 50])
      return bytes
    })
    await pool(inputs, 16, async (input) => {
      const { reply, timedOut } = await jail.exchange(input)
      expect({ input: hexOf(input), timedOut }).toEqual({ input: hexOf(input), timedOut: false })
      expectWellFormedReply(input, reply)
    })
    // Whatever the garbage named, no file appeared in the folder with an invalid name or outside it.
    for (const entry of await fs.readdir(jail.root)) {
      if (!["normal.txt", "sub"].includes(entry))
        await fs.rm(path.join(jail.root, entry), { recursive: true, force: true })
    }
  })

  test("a megabyte of garbage after a valid opcode and length: 01, read no further than needed", async () => {
    const random = prng(99)
    const { reply, timedOut } = await jail.exchange(bytesOf(10, be32(4096), random.bytes(1024 * 1024)))
    expect(timedOut).toBe(false)
    expect(hexOf(reply)).toBe("01")
  })
})

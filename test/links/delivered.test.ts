import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { encodeRequest } from "../../src/domain/operations.ts"
import { seededBytes } from "../support/bytes.ts"
import { md5Hex } from "../support/md5.ts"
import { runClient, type ServerProcess, startServerProcess, stopAll } from "../support/processes.ts"
import { type FaultProxy, LARGE_BUFFERS, startProxy } from "../support/proxy.ts"
import { rawExchange } from "../support/rawExchange.ts"
import { guard } from "../support/waiting.ts"

/**
 * What the server's log says of a download (PROTOCOL.md §7): `ok` only when
 * the client closed in order after the last byte, or its system had
 * acknowledged every byte by the deadline; otherwise `cortado`, with the
 * file bytes known delivered. Through a slow path of small buffers and one
 * that takes megabytes ahead of the link, and with clients that end each
 * way after reading the whole reply.
 */

const MIB = 1024 * 1024
const SIZE = 3 * MIB
const CONTENT = seededBytes(SIZE, 9)
/** The reply to op 10 of the file: status 0, size, data. */
const REPLY_BYTES = 5 + SIZE

let root: string
let server: ServerProcess
let proxy: FaultProxy | undefined

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "arquivos-entregue-"))
  // A deadline of 1 s: a silent client is settled a second after its last byte was acknowledged.
  server = await startServerProcess(path.join(root, "servidor"), { timeoutSeconds: 1 })
  await writeFile(path.join(root, "servidor", "grande.bin"), CONTENT)
})

afterEach(async () => {
  await proxy?.stop()
  proxy = undefined
})

afterAll(async () => {
  await stopAll()
  await rm(root, { recursive: true, force: true })
})

/** The server's line for the next download of grande.bin from the client at local port `port`. */
const lineOf = async (port: number) => {
  const [line] = await server.stdout.waitFor(
    new RegExp(`^.* 127\\.0\\.0\\.1:${port} baixar grande\\.bin .*$`, "m"),
    10_000
  )
  return line!
}

/**
 * Asks for grande.bin on a raw socket, reads the whole reply, then ends as
 * `then` says: a reset at once, or nothing until the server's line is
 * written and a reset only then. Resolves with its local port and what it read.
 */
const readWholeThen = (then: "reset" | "silent") =>
  new Promise<{ readonly port: number; readonly received: number; readonly line: Promise<string> }>(
    (resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port: server.port, allowHalfOpen: true })
      const cancel = guard(10_000, () => {
        socket.destroy()
        reject(new Error("the reply did not arrive whole"))
      })
      let received = 0
      socket.on("error", () => {})
      socket.on("connect", () => socket.write(encodeRequest({ _tag: "Download", name: "grande.bin" })))
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length
        if (received < REPLY_BYTES) return
        cancel()
        const line = lineOf(socket.localPort!)
        if (then === "reset") socket.resetAndDestroy()
        else void line.finally(() => socket.resetAndDestroy())
        resolve({ port: socket.localPort!, received, line })
      })
    }
  )

describe("the log of a download", () => {
  test.each([
    ["small buffers", { rate: MIB, buffers: undefined }],
    ["buffers of megabytes ahead of the link", { rate: 2 * MIB, buffers: LARGE_BUFFERS }]
  ] as const)(
    "through a slow path with %s, our client's download is ok with every byte",
    async (_label, path_) => {
      proxy = await startProxy(server.port, { down: { rate: path_.rate } }, path_.buffers === undefined ? {} : path_)
      const folder = await mkdtemp(path.join(root, "cliente-"))
      const mark = server.stdout.text.length
      const run = await runClient([proxy.address, "--pasta", folder, "--silencioso", "baixar", "grande.bin"], 20_000)
      expect(run.code).toBe(0)
      expect(md5Hex(await readFile(path.join(folder, "grande.bin")))).toBe(md5Hex(CONTENT))
      const [line] = await server.stdout.waitFor(/^.* baixar grande\.bin .*$/m, 10_000, mark)
      expect(line).toMatch(new RegExp(` baixar grande\\.bin ok ${SIZE} bytes \\d+ ms$`))
    },
    30_000
  )

  test("a client that reads until the server closes, then closes (a third-party client), is ok", async () => {
    const mark = server.stdout.text.length
    const { reply, timedOut } = await rawExchange(server.port, encodeRequest({ _tag: "Download", name: "grande.bin" }))
    expect(timedOut).toBe(false)
    expect(reply.length).toBe(REPLY_BYTES)
    const [line] = await server.stdout.waitFor(/^.* baixar grande\.bin .*$/m, 10_000, mark)
    expect(line).toMatch(new RegExp(` baixar grande\\.bin ok ${SIZE} bytes \\d+ ms$`))
  })

  test("a client that resets right after reading every byte is not ok: its reset came before any sign of delivery", async () => {
    const { received, line } = await readWholeThen("reset")
    expect(received).toBe(REPLY_BYTES)
    const logged = await line
    expect(logged).toMatch(
      / baixar grande\.bin cortado: a conexão caiu sem o cliente confirmar que recebeu tudo \d+ bytes/
    )
    expect(Number(/ (\d+) bytes \d+ ms$/.exec(logged)?.[1])).toBeLessThanOrEqual(SIZE)
  })

  test("a client that reads every byte and stays silent is ok at the deadline: its system acknowledged them all; a reset after that changes nothing", async () => {
    const { received, line } = await readWholeThen("silent")
    expect(received).toBe(REPLY_BYTES)
    expect(await line).toMatch(new RegExp(` baixar grande\\.bin ok ${SIZE} bytes \\d+ ms$`))
  })
})

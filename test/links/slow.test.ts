import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { encodeRequest } from "../../src/domain/operations.ts"
import { seededBytes } from "../support/bytes.ts"
import { md5Hex } from "../support/md5.ts"
import { everyEntry, runClient, type ServerProcess, startServerProcess, stopAll } from "../support/processes.ts"
import { type FaultProxy, startProxy } from "../support/proxy.ts"

/**
 * Slow but steady links: a transfer in which bytes keep moving is never cut,
 * whichever side is slow, with a timeout (3 s) far shorter than the transfer.
 */

const RATE = 100 * 1024
const SIZE = 640 * 1024

let root: string
let server: ServerProcess
let proxy: FaultProxy | undefined

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "arquivos-lento-"))
  server = await startServerProcess(path.join(root, "servidor"), { timeoutSeconds: 3 })
  await writeFile(path.join(root, "servidor", "lento.bin"), seededBytes(SIZE, 1))
})

afterEach(async () => {
  await proxy?.stop()
  proxy = undefined
})

afterAll(async () => {
  await stopAll()
  await rm(root, { recursive: true, force: true })
})

const clientFolder = async (label: string) => mkdtemp(path.join(root, `cliente-${label}-`))

describe("slow links, --timeout 3 on both sides", () => {
  test("a download read at ~100 KB/s completes byte-exact", async () => {
    proxy = await startProxy(server.port, { down: { rate: RATE } })
    const folder = await clientFolder("baixar")
    const run = await runClient([
      proxy.address,
      "--pasta",
      folder,
      "--timeout",
      "3",
      "--silencioso",
      "baixar",
      "lento.bin"
    ])
    expect(run.code).toBe(0)
    expect(md5Hex(await readFile(path.join(folder, "lento.bin")))).toBe(md5Hex(seededBytes(SIZE, 1)))
    expect(everyEntry(folder)).toEqual(["lento.bin"])
  }, 40_000)

  test("an upload written at ~100 KB/s completes byte-exact", async () => {
    proxy = await startProxy(server.port, { up: { rate: RATE } })
    const folder = await clientFolder("enviar")
    await writeFile(path.join(folder, "subida.bin"), seededBytes(SIZE, 2))
    const run = await runClient([
      proxy.address,
      "--pasta",
      folder,
      "--timeout",
      "3",
      "--silencioso",
      "enviar",
      "subida.bin"
    ])
    expect(run.code).toBe(0)
    expect(md5Hex(await readFile(path.join(server.folder, "subida.bin")))).toBe(md5Hex(seededBytes(SIZE, 2)))
  }, 40_000)
})

/**
 * A reader on a raw socket straight to the server (no proxy, the kernel's
 * own buffers) that takes the reply at `rate` bytes per second by pausing
 * and resuming its socket; resolves with every byte once the server closes.
 */
const slowRawDownload = (port: number, name: string, rate: number) =>
  new Promise<Uint8Array>((resolve, reject) => {
    const parts: Array<Uint8Array> = []
    let got = 0
    const started = performance.now()
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.write(encodeRequest({ _tag: "Download", name }))
        },
        data(socket, bytes) {
          parts.push(new Uint8Array(bytes))
          got += bytes.length
          const ahead = got / rate - (performance.now() - started) / 1000
          if (ahead > 0) {
            socket.pause()
            setTimeout(() => socket.resume(), ahead * 1000)
          }
        },
        close() {
          resolve(Buffer.concat(parts))
        },
        error(_socket, error) {
          reject(error)
        }
      }
    }).catch(reject)
  })

test("a raw socket reading at ~100 KB/s straight from the server gets the whole file (--timeout 3)", async () => {
  const reply = await slowRawDownload(server.port, "lento.bin", RATE)
  expect(reply.length).toBe(5 + SIZE)
  expect(reply[0]).toBe(0)
  expect(md5Hex(reply.subarray(5))).toBe(md5Hex(seededBytes(SIZE, 1)))
}, 30_000)

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { humanSize } from "../../src/programs/client/cli/format.ts"
import { seededBytes } from "../support/bytes.ts"
import { md5Hex } from "../support/md5.ts"
import { runClient, type ServerProcess, startClient, startServerProcess, stopAll } from "../support/processes.ts"
import { type FaultProxy, LARGE_BUFFERS, startProxy } from "../support/proxy.ts"
import { eventually } from "../support/waiting.ts"

/**
 * A cancelled upload or download through a slow path, with small buffers and
 * with a path whose sockets take megabytes ahead of the link (a relay, a
 * bloated queue): the client's Ctrl+C drops what was not delivered yet, so
 * the server never stores an upload, and never logs a download `ok`; the
 * client says exactly what it kept.
 */

const MIB = 1024 * 1024

let root: string
let server: ServerProcess | undefined
let proxy: FaultProxy | undefined

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "arquivos-cancel-"))
})
afterEach(async () => {
  await proxy?.stop()
  proxy = undefined
  await stopAll()
  server = undefined
})
afterAll(() => rm(root, { recursive: true, force: true }))

interface Case {
  readonly size: number
  readonly rate: number
  readonly buffers: number | undefined
}

/**
 * Starts a transfer of `size` bytes through the proxy in `direction` (up: an
 * upload of envio.bin, down: a download of baixa.bin), and Ctrl+C once
 * `after` bytes went through; the client exits 130.
 */
const cancelThrough = async (
  direction: "up" | "down",
  { size, rate, buffers, after }: Case & { readonly after: number },
  timeoutSeconds: number
) => {
  const serverDir = await mkdtemp(path.join(root, "servidor-"))
  const clientDir = await mkdtemp(path.join(root, "cliente-"))
  const content = seededBytes(size, direction === "up" ? 3 : 5)
  const [folder, name, command] =
    direction === "up" ? [clientDir, "envio.bin", "enviar"] : [serverDir, "baixa.bin", "baixar"]
  await writeFile(path.join(folder, name), content)
  const started = await startServerProcess(serverDir, { timeoutSeconds })
  server = started
  const through = await startProxy(started.port, { [direction]: { rate } }, buffers === undefined ? {} : { buffers })
  proxy = through
  const client = startClient([through.address, "--pasta", clientDir, command, name], 30_000)
  const underWay = await eventually(async () => (await through.stats()).totals[direction] > after, {
    millis: 15_000
  })
  expect(underWay).toBe(true)
  client.process.kill("SIGINT")
  const run = await client.result
  expect(run.code).toBe(130)
  return { run, serverDir, clientDir, content, server: started, proxy: through }
}

/** Starts an upload of `size` bytes through the proxy, and Ctrl+C once some of it went through. */
const cancelMidway = async (path_: Case) => {
  const { run, serverDir, content, server, proxy } = await cancelThrough("up", { ...path_, after: 64 * 1024 }, 30)
  // The path carries on with what it holds, then passes the reset on: the upload ends on the server.
  const [line] = await server.stdout.waitFor(/^.* enviar envio\.bin .*$/m, 20_000)
  await proxy.waitClosed(1, 20_000)
  const stored = existsSync(path.join(serverDir, "envio.bin"))
  const leftovers = (await readdir(serverDir)).filter((name) => name !== "envio.bin")
  return { run, line: line!, stored, leftovers, serverDir, content }
}

describe("a cancelled upload over a slow path", () => {
  test.each([
    ["small buffers", { size: 3 * MIB, rate: 50 * 1024, buffers: undefined }],
    [
      "buffers of megabytes ahead of the link, a file larger than they hold",
      { size: 12 * MIB, rate: MIB, buffers: LARGE_BUFFERS }
    ]
  ] as const)(
    "%s: nothing is stored, and the client says so",
    async (_label, path_) => {
      const { run, line, stored, leftovers } = await cancelMidway(path_)
      expect(run.stderr).toContain("Cancelado: nada foi gravado no servidor")
      expect(line).toMatch(/ enviar envio\.bin (cancelado|falha): /)
      expect(stored).toBe(false)
      expect(leftovers).toEqual([])
    },
    60_000
  )

  test("buffers that took the whole file: the client says the server may store it, and it is whole or absent", async () => {
    const { run, stored, leftovers, serverDir, content } = await cancelMidway({
      size: MIB,
      rate: 256 * 1024,
      buffers: LARGE_BUFFERS
    })
    expect(run.stderr).toContain("o servidor pode gravar o arquivo. Confira com listar.")
    expect(leftovers).toEqual([])
    if (stored) expect(md5Hex(await readFile(path.join(serverDir, "envio.bin")))).toBe(md5Hex(content))
  }, 60_000)
})

/** Starts a download of `size` bytes through the proxy, and Ctrl+C once `after` bytes went through. */
const cancelDownload = async (path_: Case & { readonly after: number }) => {
  // A deadline of 4 s: the server looks at what a slow client acknowledged once a second.
  const { run, clientDir, content, server } = await cancelThrough("down", path_, 4)
  const [line] = await server.stdout.waitFor(/^.* baixar baixa\.bin .*$/m, 20_000)
  const kept = (await readFile(path.join(clientDir, "baixa.bin.parcial"))).length
  return { run, line: line!, kept, clientDir, content, logged: Number(/ (\d+) bytes \d+ ms$/.exec(line!)?.[1]) }
}

describe("a cancelled download over a slow path", () => {
  test.each([
    // The log counts what the path acknowledged: here at most a little more than the client kept.
    ["small buffers", { size: 3 * MIB, rate: 256 * 1024, buffers: undefined, after: 640 * 1024, ahead: 256 * 1024 }],
    [
      "buffers of megabytes ahead of the link, a file larger than they hold",
      { size: 24 * MIB, rate: 2 * MIB, buffers: LARGE_BUFFERS, after: 4 * MIB, ahead: 10 * MIB }
    ],
    // The path took (acknowledged) the whole file: the server knows no better, but still never says ok.
    [
      "buffers of megabytes ahead of the link that take the whole file",
      { size: 3 * MIB, rate: 512 * 1024, buffers: LARGE_BUFFERS, after: 640 * 1024, ahead: 3 * MIB }
    ]
  ] as const)(
    "%s: the log says cortado, never ok; the client keeps its partial and says so, and continuing finishes it",
    async (_label, path_) => {
      const { run, line, kept, clientDir, content, logged } = await cancelDownload(path_)
      expect(line).toMatch(/ baixar baixa\.bin cortado: /)
      expect(logged).toBeLessThanOrEqual(Math.min(path_.size, kept + path_.ahead))
      expect(kept).toBeGreaterThan(0)
      expect(kept).toBeLessThan(path_.size)
      expect(run.stderr).toContain(`Cancelado: "baixa.bin" ficou com ${humanSize(kept)} em "baixa.bin.parcial".`)
      // What it says to run next, run straight at the server, finishes the file byte for byte.
      const again = await runClient([`127.0.0.1:${server!.port}`, "--pasta", clientDir, "retomar", "baixa.bin"])
      expect(again.code).toBe(0)
      expect(md5Hex(await readFile(path.join(clientDir, "baixa.bin")))).toBe(md5Hex(content))
    },
    60_000
  )
})

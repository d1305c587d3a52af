import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { seededBytes } from "../support/bytes.ts"
import { md5Hex } from "../support/md5.ts"
import { type ServerProcess, startClient, startServerProcess, stopAll } from "../support/processes.ts"
import { type FaultProxy, LARGE_BUFFERS, startProxy } from "../support/proxy.ts"
import { eventually } from "../support/waiting.ts"

/**
 * A cancelled upload through a slow path, with small buffers and with a path
 * whose sockets take megabytes ahead of the link (a relay, a bloated queue):
 * the client's Ctrl+C drops what was not delivered yet, so the server never
 * stores the file, and the client says exactly that.
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

/** Starts an upload of `size` bytes through the proxy, and Ctrl+C once some of it went through. */
const cancelMidway = async ({ size, rate, buffers }: Case) => {
  const serverDir = await mkdtemp(path.join(root, "servidor-"))
  const clientDir = await mkdtemp(path.join(root, "cliente-"))
  const content = seededBytes(size, 3)
  await writeFile(path.join(clientDir, "envio.bin"), content)
  server = await startServerProcess(serverDir, { timeoutSeconds: 30 })
  proxy = await startProxy(server.port, { up: { rate } }, buffers === undefined ? {} : { buffers })
  const client = startClient([proxy.address, "--pasta", clientDir, "enviar", "envio.bin"], 30_000)
  const underWay = await eventually(async () => (await proxy!.stats()).totals.up > 64 * 1024, { millis: 10_000 })
  expect(underWay).toBe(true)
  client.process.kill("SIGINT")
  const run = await client.result
  expect(run.code).toBe(130)
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

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, statSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { seededBytes } from "../support/bytes.ts"
import { md5Hex } from "../support/md5.ts"
import {
  everyEntry,
  runClient,
  type ServerProcess,
  startClient,
  startServerProcess,
  stopAll
} from "../support/processes.ts"
import { type FaultProxy, type Faults, startProxy } from "../support/proxy.ts"
import { eventually } from "../support/waiting.ts"

/**
 * The real client and the real server, through the fault-injection proxy:
 * sliced and delayed segments, cuts with FIN and RST, blackholes, and many
 * slow clients beside a fast one. Both sides run with --timeout 3.
 */

const TIMEOUT = 3
const KIB = 1024
const MIB = 1024 * KIB

/** Files on the server: name → seed and size. */
const SERVED = {
  "pequeno.bin": { seed: 11, size: 20 * KIB },
  "fotos/a.jpg": { seed: 12, size: 3 * KIB },
  "fotos/b.jpg": { seed: 13, size: 5 * KIB },
  "medio.bin": { seed: 14, size: 2 * MIB },
  "lento.bin": { seed: 16, size: 256 * KIB },
  "retoma.bin": { seed: 17, size: 40 * KIB },
  // Larger than what both kernels' buffers take, so a sender really stalls.
  "grande.bin": { seed: 15, size: 8 * MIB }
} as const
type Served = keyof typeof SERVED
const contentOf = (name: Served) => seededBytes(SERVED[name].size, SERVED[name].seed)

let root: string
let server: ServerProcess
let proxy: FaultProxy | undefined
let folders = 0

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "arquivos-falhas-"))
  server = await startServerProcess(path.join(root, "servidor"), { timeoutSeconds: TIMEOUT })
  for (const name of Object.keys(SERVED) as Array<Served>) {
    await Bun.write(path.join(server.folder, name), contentOf(name))
  }
})

afterEach(async () => {
  await proxy?.stop()
  proxy = undefined
})

afterAll(async () => {
  await stopAll()
  await rm(root, { recursive: true, force: true })
})

const clientFolder = () => mkdtemp(path.join(root, `cliente-${++folders}-`))
const through = async (faults: Faults) => {
  proxy = await startProxy(server.port, faults)
  return proxy
}
const client = (address: string, folder: string, ...command: Array<string>) =>
  runClient([address, "--pasta", folder, "--timeout", String(TIMEOUT), "--silencioso", ...command], 60_000)

/** The server's log lines that mention `text`, so far. */
const logLinesWith = (text: string) => server.stdout.text.split("\n").filter((line) => line.includes(text))

/** Waits for the server's log line of an operation on `name` (bounded). */
const serverLogged = async (pattern: RegExp, millis: number, from: number) =>
  (await server.stdout.waitFor(pattern, millis, from))[0]

/** Every entry in the server's folder, hidden ones (temporaries) included. */
const serverEntries = () => everyEntry(server.folder)

/** Every operation, byte-exact, through `address`. */
const everyOperation = async (address: string, label: string) => {
  const folder = await clientFolder()
  const listed = await client(address, folder, "listar", "--json")
  expect(listed.code).toBe(0)
  const listing = JSON.parse(listed.stdout) as Array<{ nome: string; tamanho: string }>
  expect(listing.find((entry) => entry.nome === "pequeno.bin")?.tamanho).toBe(String(20 * KIB))

  expect((await client(address, folder, "baixar", "pequeno.bin")).code).toBe(0)
  expect(md5Hex(readFileSync(path.join(folder, "pequeno.bin")))).toBe(md5Hex(contentOf("pequeno.bin")))

  const upload = seededBytes(30 * KIB, label.length + 100)
  await writeFile(path.join(folder, `subida-${label}.bin`), upload)
  expect((await client(address, folder, "enviar", `subida-${label}.bin`)).code).toBe(0)
  expect(md5Hex(readFileSync(path.join(server.folder, `subida-${label}.bin`)))).toBe(md5Hex(upload))

  // A partial of 7,000 bytes, resumed after the server checks its MD5.
  await writeFile(path.join(folder, "retoma.bin.parcial"), contentOf("retoma.bin").subarray(0, 7_000))
  expect((await client(address, folder, "retomar", "retoma.bin")).code).toBe(0)
  expect(md5Hex(readFileSync(path.join(folder, "retoma.bin")))).toBe(md5Hex(contentOf("retoma.bin")))

  expect((await client(address, folder, "baixar-varios", "fotos/*.jpg")).code).toBe(0)
  for (const name of ["fotos/a.jpg", "fotos/b.jpg"] as const) {
    expect(md5Hex(readFileSync(path.join(folder, name)))).toBe(md5Hex(contentOf(name)))
  }
  expect(everyEntry(folder).filter((entry) => entry.endsWith(".parcial"))).toEqual([])
}

describe("segments and delays", () => {
  test("sliced into 1-7 byte segments both ways: every operation byte-exact", async () => {
    const { address } = await through({ up: { slice: true }, down: { slice: true } })
    await everyOperation(address, "fatiado")
  }, 60_000)

  test("60 ms before each chunk both ways: every operation byte-exact", async () => {
    const { address } = await through({ up: { delay_ms: 60 }, down: { delay_ms: 60 } })
    await everyOperation(address, "atrasado")
  }, 90_000)
})

describe("a download cut mid-body", () => {
  test.each(["fin", "rst"] as const)(
    "cut with %s: exit 3, no final file, the partial kept; the next baixar resumes",
    async (how) => {
      const size = SERVED["medio.bin"].size
      const cutAt = 600_000
      const { address } = await through({ down: { cut_after: cutAt, cut_with: how } })
      const folder = await clientFolder()
      const cut = await client(address, folder, "baixar", "medio.bin")
      expect(cut.code).toBe(3)
      expect(cut.stderr).toContain("medio.bin")
      // FIN or RST, it reads as a dropped connection, and says how to go on.
      expect(cut.stderr).toContain(`caiu durante "medio.bin"`)
      expect(cut.stderr).toContain("retomar medio.bin")
      expect(existsSync(path.join(folder, "medio.bin"))).toBe(false)
      const partial = readFileSync(path.join(folder, "medio.bin.parcial"))
      expect(partial.length).toBeGreaterThan(0)
      expect(partial.length).toBeLessThanOrEqual(cutAt)
      expect(md5Hex(partial)).toBe(md5Hex(contentOf("medio.bin").subarray(0, partial.length)))

      await proxy!.setFaults({})
      const resumed = await client(address, folder, "baixar", "medio.bin")
      expect(resumed.code).toBe(0)
      expect(md5Hex(readFileSync(path.join(folder, "medio.bin")))).toBe(md5Hex(contentOf("medio.bin")))
      expect(everyEntry(folder)).toEqual(["medio.bin"])
      // The second run carried only what was missing (plus a header).
      const links = await proxy!.waitClosed(2)
      expect(links[1]!.down).toBeLessThan(size - partial.length + 1_000)
    },
    40_000
  )
})

describe("a blackhole: the link stops forwarding, both sockets stay open", () => {
  test("download: the client exits 3 within its timeout and a few seconds; the server drops its side and serves others meanwhile", async () => {
    const { address } = await through({ down: { blackhole_after: 200_000 } })
    const folder = await clientFolder()
    const mark = server.stdout.text.length
    const started = Date.now()
    // The client waits longer than the server, so the server's own deadline is what drops the transfer.
    const clientTimeout = TIMEOUT * 2
    const stuck = startClient([
      address,
      "--pasta",
      folder,
      "--timeout",
      String(clientTimeout),
      "--silencioso",
      "baixar",
      "grande.bin"
    ])
    // Meanwhile another client, straight to the server, is served.
    const other = await clientFolder()
    const listed = await client(`127.0.0.1:${server.port}`, other, "baixar", "pequeno.bin")
    expect(listed.code).toBe(0)
    const result = await stuck.result
    expect(result.code).toBe(3)
    expect(Date.now() - started).toBeLessThan((clientTimeout + 5) * 1000)
    expect(result.stderr).toContain(`${clientTimeout} s`)
    // The server cut its side on its own deadline (within it and a probe): one log line, a stall,
    // counting no more than the link forwarded before it stopped.
    const line = await serverLogged(/baixar grande\.bin [^\n]*/, 1_000, mark)
    expect(line).toContain("cortado: o cliente parou de receber antes do fim")
    expect(Number(line.match(/ (\d+) bytes \d+ ms$/)?.[1])).toBeLessThanOrEqual(300_000)
    expect(Number(line.match(/ (\d+) ms$/)?.[1])).toBeLessThan((TIMEOUT + 2) * 1000)
    expect(existsSync(path.join(folder, "grande.bin"))).toBe(false)
  }, 40_000)

  test("upload: the client exits 3 within its timeout; the server drops it within its own and leaves no file and no temporary", async () => {
    const { address } = await through({ up: { blackhole_after: 200_000 } })
    const folder = await clientFolder()
    await writeFile(path.join(folder, "preso.bin"), seededBytes(8 * MIB, 21))
    const mark = server.stdout.text.length
    const started = Date.now()
    // The client's timeout is the shorter here, so it is the client that gives up
    // (with the server's the shorter, the client gets the server's status 1 first).
    const result = await runClient([
      address,
      "--pasta",
      folder,
      "--timeout",
      "2",
      "--silencioso",
      "enviar",
      "preso.bin"
    ])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain("2 s")
    expect(Date.now() - started).toBeLessThan((2 + 5) * 1000)
    await serverLogged(/enviar preso\.bin falha[^\n]*/, (TIMEOUT + 5) * 1000, mark)
    expect(serverEntries().filter((entry) => entry.includes("preso") || entry.includes(".envio-"))).toEqual([])
  }, 40_000)
})

describe("an upload cut mid-body", () => {
  test.each(["fin", "rst"] as const)(
    "cut with %s: exit 3; no file and no temporary after the server's timeout",
    async (how) => {
      const { address } = await through({ up: { cut_after: 300_000, cut_with: how } })
      const folder = await clientFolder()
      await writeFile(path.join(folder, `cortado-${how}.bin`), seededBytes(2 * MIB, 31))
      const mark = server.stdout.text.length
      const result = await client(address, folder, "enviar", `cortado-${how}.bin`)
      expect(result.code).toBe(3)
      // The server sees the client go away mid-body: a cancel, logged as such.
      await serverLogged(new RegExp(`enviar cortado-${how}\\.bin cancelado`), (TIMEOUT + 5) * 1000, mark)
      expect(serverEntries().filter((entry) => entry.includes("cortado") || entry.includes(".envio-"))).toEqual([])
    },
    30_000
  )

  test("a cut overwrite leaves the old content byte-exact", async () => {
    const old = seededBytes(100 * KIB, 41)
    await writeFile(path.join(server.folder, "antigo.bin"), old)
    const { address } = await through({ up: { cut_after: 400_000, cut_with: "rst" } })
    const folder = await clientFolder()
    await writeFile(path.join(folder, "antigo.bin"), seededBytes(2 * MIB, 42))
    const mark = server.stdout.text.length
    expect((await client(address, folder, "enviar", "antigo.bin")).code).toBe(3)
    await serverLogged(/enviar antigo\.bin cancelado/, (TIMEOUT + 5) * 1000, mark)
    expect(md5Hex(readFileSync(path.join(server.folder, "antigo.bin")))).toBe(md5Hex(old))
    expect(serverEntries().filter((entry) => entry.includes(".envio-"))).toEqual([])
  }, 30_000)
})

test("16 slow clients and a fast one at once: all complete byte-exact, and the fast one is not held back", async () => {
  // Each slow client gets its own ~32 KB/s link (the proxy limits each connection): 8 s for its file.
  const { address } = await through({ down: { rate: 32 * KIB } })
  const slowFolders = await Promise.all(Array.from({ length: 16 }, () => clientFolder()))
  const finished: Array<string> = []
  const slow = slowFolders.map((folder, i) =>
    startClient([
      address,
      "--pasta",
      folder,
      "--timeout",
      String(TIMEOUT),
      "--silencioso",
      "baixar",
      "lento.bin"
    ]).result.then((result) => {
      finished.push(`lento ${i}`)
      return result
    })
  )
  // The fast one starts once the slow ones are all connected, and goes straight to the server.
  await eventually(async () => (await proxy!.stats()).totals.connections >= 16, { millis: 10_000, every: 50 })
  const fastFolder = await clientFolder()
  const fast = await client(`127.0.0.1:${server.port}`, fastFolder, "baixar", "medio.bin")
  finished.push("rápido")
  expect(fast.code).toBe(0)
  expect(md5Hex(readFileSync(path.join(fastFolder, "medio.bin")))).toBe(md5Hex(contentOf("medio.bin")))
  const results = await Promise.all(slow)
  for (const [i, result] of results.entries()) {
    expect(result.code).toBe(0)
    expect(statSync(path.join(slowFolders[i]!, "lento.bin")).size).toBe(SERVED["lento.bin"].size)
    expect(md5Hex(readFileSync(path.join(slowFolders[i]!, "lento.bin")))).toBe(md5Hex(contentOf("lento.bin")))
  }
  // The fast download of 2 MiB ended before any of the slow ones.
  expect(finished[0]).toBe("rápido")
}, 60_000)

test("the server's log has one line per operation, and never a crash", () => {
  expect(server.process.exitCode).toBeNull()
  expect(server.stderr.text).toBe("")
  expect(logLinesWith("falha interna")).toEqual([])
})

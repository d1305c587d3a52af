import { afterAll, expect, test } from "bun:test"
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { seededBytes } from "../support/bytes.ts"
import { md5Hex } from "../support/md5.ts"
import { everyEntry, runClient, startClient, startServerProcess, stopAll } from "../support/processes.ts"
import { type FaultProxy, startProxy } from "../support/proxy.ts"
import { eventually } from "../support/waiting.ts"

/**
 * Processes killed with SIGKILL in the middle of a transfer, as a crash or a
 * power cut would: nothing half-written under a real name, no temporary once
 * the server is back, and every partial download usable for the next run.
 * A slow link (the fault proxy) keeps each transfer going long enough to be
 * killed in its middle.
 */

const MIB = 1024 * 1024
const RATE = 512 * 1024

let root: string | undefined
const proxies: Array<FaultProxy> = []

const workspace = async (label: string) => {
  root ??= await mkdtemp(path.join(tmpdir(), "arquivos-quedas-"))
  return mkdtemp(path.join(root, `${label}-`))
}
const slowLink = async (port: number, faults: Parameters<typeof startProxy>[1]) => {
  const proxy = await startProxy(port, faults)
  proxies.push(proxy)
  return proxy
}
const client = (address: string, folder: string, ...command: Array<string>) =>
  runClient([address, "--pasta", folder, "--timeout", "3", "--silencioso", ...command], 60_000)

/** Waits until `check` holds (bounded), polling. */
const until = async (check: () => boolean, millis: number, what: string) => {
  if (!(await eventually(check, { millis }))) throw new Error(`não aconteceu em ${millis} ms: ${what}`)
}

afterAll(async () => {
  for (const proxy of proxies) await proxy.stop()
  await stopAll()
  if (root) await rm(root, { recursive: true, force: true })
})

test("the server killed mid-upload, then restarted on the same folder: no visible file, no temporary", async () => {
  const served = await workspace("servidor")
  const server = await startServerProcess(served, { timeoutSeconds: 3 })
  const proxy = await slowLink(server.port, { up: { rate: RATE } })
  const folder = await workspace("cliente")
  writeFileSync(path.join(folder, "sobe.bin"), seededBytes(4 * MIB, 1))
  const uploading = startClient([
    proxy.address,
    "--pasta",
    folder,
    "--timeout",
    "3",
    "--silencioso",
    "enviar",
    "sobe.bin"
  ])
  // Killed once its temporary holds some data.
  const temporaries = () => everyEntry(served).filter((entry) => entry.startsWith(".envio-"))
  await until(
    () => temporaries().some((entry) => statSync(path.join(served, entry)).size > 256 * 1024),
    15_000,
    "o temporário do upload crescer"
  )
  await server.kill()
  expect(everyEntry(served)).not.toContain("sobe.bin")
  const result = await uploading.result
  expect(result.code).toBe(3)
  expect(result.stderr).toContain("sobe.bin")

  const restarted = await startServerProcess(served, { timeoutSeconds: 3 })
  expect(everyEntry(served)).toEqual([])
  // Its log says what it removed.
  expect(restarted.stdout.text).toMatch(
    /Z - limpeza - ok \(1 temporário de envio interrompido removido\) 0 bytes \d+ ms/
  )
  // The restarted server lists nothing, and takes the same upload whole.
  expect((await client(`127.0.0.1:${restarted.port}`, folder, "enviar", "sobe.bin")).code).toBe(0)
  expect(md5Hex(readFileSync(path.join(served, "sobe.bin")))).toBe(md5Hex(seededBytes(4 * MIB, 1)))
  await restarted.stop()
}, 40_000)

/**
 * A download of `content` over a slow link, from a server on a new folder,
 * waited on until its partial holds more than 512 KiB: what a kill then hits.
 */
const downloadUnderway = async (content: Uint8Array, rate: number) => {
  const served = await workspace("servidor")
  writeFileSync(path.join(served, "desce.bin"), content)
  const server = await startServerProcess(served, { timeoutSeconds: 3 })
  const proxy = await slowLink(server.port, { down: { rate } })
  const folder = await workspace("cliente")
  const downloading = startClient([
    proxy.address,
    "--pasta",
    folder,
    "--timeout",
    "3",
    "--silencioso",
    "baixar",
    "desce.bin"
  ])
  const partialFile = path.join(folder, "desce.bin.parcial")
  await until(() => existsSync(partialFile) && statSync(partialFile).size > 512 * 1024, 15_000, "o parcial crescer")
  return { served, server, folder, downloading, partialFile }
}

test("the server killed mid-download: the client exits 3, and the next baixar resumes byte-exact", async () => {
  // More than the server's kernel takes at once (a few MiB), which a killed
  // process's socket would still deliver whole.
  const content = seededBytes(12 * MIB, 2)
  const { served, server, folder, downloading, partialFile } = await downloadUnderway(content, 4 * RATE)
  await server.kill()
  const result = await downloading.result
  expect(result.code).toBe(3)
  expect(existsSync(path.join(folder, "desce.bin"))).toBe(false)
  const partial = readFileSync(partialFile)
  expect(md5Hex(partial)).toBe(md5Hex(content.subarray(0, partial.length)))

  const restarted = await startServerProcess(served, { timeoutSeconds: 3 })
  expect((await client(`127.0.0.1:${restarted.port}`, folder, "baixar", "desce.bin")).code).toBe(0)
  expect(md5Hex(readFileSync(path.join(folder, "desce.bin")))).toBe(md5Hex(content))
  await restarted.stdout.waitFor(new RegExp(`retomar desce\\.bin ok \\(a partir de ${partial.length}\\)`))
  await restarted.stop()
}, 40_000)

test("the client killed mid-download: its .parcial is usable by the next run", async () => {
  const content = seededBytes(4 * MIB, 3)
  const { server, folder, downloading, partialFile } = await downloadUnderway(content, RATE)
  downloading.process.kill("SIGKILL")
  await downloading.result
  const partial = readFileSync(partialFile)
  expect(md5Hex(partial)).toBe(md5Hex(content.subarray(0, partial.length)))
  expect(existsSync(path.join(folder, "desce.bin"))).toBe(false)

  expect((await client(`127.0.0.1:${server.port}`, folder, "baixar", "desce.bin")).code).toBe(0)
  expect(md5Hex(readFileSync(path.join(folder, "desce.bin")))).toBe(md5Hex(content))
  expect(everyEntry(folder)).toEqual(["desce.bin"])
  await server.stop()
}, 40_000)

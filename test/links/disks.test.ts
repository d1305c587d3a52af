import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { seededBytes } from "../support/bytes.ts"
import { md5Hex } from "../support/md5.ts"
import { everyEntry, runClient, startServerProcess, stopAll } from "../support/processes.ts"
import { startProxy } from "../support/proxy.ts"
import { mountTmpfs, type Tmpfs, tmpfsUnavailable } from "../support/tmpfs.ts"
import { eventually } from "../support/waiting.ts"

/**
 * Full and read-only disks on both sides, on small tmpfs mounts: a clear
 * refusal, nothing under a final name that is not whole, no temporary left,
 * the other files intact, and the server still serving.
 */

const KIB = 1024
const MIB = 1024 * KIB

if (tmpfsUnavailable) console.log(`testes de disco cheio e somente leitura pulados: ${tmpfsUnavailable}`)
const withTmpfs = describe.skipIf(tmpfsUnavailable !== undefined)

const mounts: Array<Tmpfs> = []
let root: string | undefined

const workspace = async () => {
  root ??= await mkdtemp(path.join(tmpdir(), "arquivos-discos-"))
  return root
}
const mounted = async (label: string, bytes: number) => {
  const mount = mountTmpfs(await workspace(), label, bytes)
  mounts.push(mount)
  return mount
}
const plainFolder = async (label: string) => mkdtemp(path.join(await workspace(), `${label}-`))

afterAll(async () => {
  await stopAll()
  for (const mount of mounts) mount.unmount()
  if (root) await rm(root, { recursive: true, force: true })
})

const client = (address: string, folder: string, ...command: Array<string>) =>
  runClient([address, "--pasta", folder, "--timeout", "5", "--silencioso", ...command], 60_000)

/** What a person reads must name no errno. */
const expectNoErrno = (text: string) => expect(text).not.toMatch(/\bE[A-Z]{3,}\b/)

withTmpfs("the server's folder is full", () => {
  test("an upload known not to fit is refused before its data: status 1, no file, no temporary, the rest intact", async () => {
    const disk = await mounted("servidor-cheio", 4 * MIB)
    const keep = seededBytes(1 * MIB, 1)
    writeFileSync(path.join(disk.dir, "fica.bin"), keep)
    const server = await startServerProcess(disk.dir, { timeoutSeconds: 5 })
    const folder = await plainFolder("cliente")
    writeFileSync(path.join(folder, "grande.bin"), seededBytes(5 * MIB, 2))
    const address = `127.0.0.1:${server.port}`
    const refused = await client(address, folder, "enviar", "grande.bin")
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("grande.bin")
    expectNoErrno(refused.stderr)
    expect(everyEntry(disk.dir)).toEqual(["fica.bin"])
    expect(md5Hex(readFileSync(path.join(disk.dir, "fica.bin")))).toBe(md5Hex(keep))
    // The refusal came before the data: the server logged it as out of space.
    await server.stdout.waitFor(/enviar grande\.bin falha[^\n]*espaço/)
    // Still serving.
    expect((await client(address, folder, "baixar", "fica.bin")).code).toBe(0)
    expect(md5Hex(readFileSync(path.join(folder, "fica.bin")))).toBe(md5Hex(keep))
    await server.stop()
  }, 30_000)

  test("a disk that fills during an upload: status 1 at the end, no file, no temporary, the rest intact, still serving", async () => {
    const disk = await mounted("servidor-enche", 4 * MIB)
    const keep = seededBytes(512 * KIB, 3)
    writeFileSync(path.join(disk.dir, "fica.bin"), keep)
    const server = await startServerProcess(disk.dir, { timeoutSeconds: 5 })
    // A slow link, so the upload is still coming when another writer fills the disk.
    const proxy = await startProxy(server.port, { up: { rate: 1 * MIB } })
    const folder = await plainFolder("cliente")
    writeFileSync(path.join(folder, "sobe.bin"), seededBytes(2 * MIB, 4))
    const uploading = client(proxy.address, folder, "enviar", "sobe.bin")
    // Once the upload was accepted and its temporary exists, fill what is left.
    await eventually(() => everyEntry(disk.dir).some((e) => e.startsWith(".envio-")), { millis: 4_000 })
    const filler = seededBytes(3 * MIB, 5)
    let filled = 0
    try {
      writeFileSync(path.join(disk.dir, "enchimento.bin"), filler)
      filled = filler.length
    } catch {
      // ENOSPC for the filler too: it took what it could, which is the point.
    }
    const result = await uploading
    if (result.code !== 1) console.log("resultado inesperado:", result, server.stdout.text)
    await proxy.stop()
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("sobe.bin")
    expectNoErrno(result.stderr)
    await server.stdout.waitFor(/enviar sobe\.bin falha/)
    const entries = everyEntry(disk.dir)
    expect(entries).not.toContain("sobe.bin")
    expect(entries.filter((e) => e.startsWith(".envio-"))).toEqual([])
    expect(md5Hex(readFileSync(path.join(disk.dir, "fica.bin")))).toBe(md5Hex(keep))
    if (filled) expect(md5Hex(readFileSync(path.join(disk.dir, "enchimento.bin")))).toBe(md5Hex(filler))
    // Still serving.
    const other = await plainFolder("outro")
    expect((await client(`127.0.0.1:${server.port}`, other, "baixar", "fica.bin")).code).toBe(0)
    await server.stop()
  }, 30_000)
})

withTmpfs("the client's folder is full", () => {
  test("a download that does not fit: exit 1, the file named and the local disk said to be full; the partial kept and later resumed", async () => {
    const served = await plainFolder("servido")
    const content = seededBytes(2 * MIB, 6)
    writeFileSync(path.join(served, "medio.bin"), content)
    const server = await startServerProcess(served, { timeoutSeconds: 5 })
    const address = `127.0.0.1:${server.port}`
    const disk = await mounted("cliente-cheio", 1 * MIB)
    const full = await client(address, disk.dir, "baixar", "medio.bin")
    expect(full.code).toBe(1)
    expect(full.stderr).toContain("medio.bin")
    expect(full.stderr).toMatch(/[Ss]em espaço/)
    expectNoErrno(full.stderr)
    expect(existsSync(path.join(disk.dir, "medio.bin"))).toBe(false)
    const partial = readFileSync(path.join(disk.dir, "medio.bin.parcial"))
    expect(partial.length).toBeGreaterThan(0)
    expect(md5Hex(partial)).toBe(md5Hex(content.subarray(0, partial.length)))
    // Room again: the next baixar carries on from the partial, byte-exact.
    disk.resize(8 * MIB)
    const again = await client(address, disk.dir, "baixar", "medio.bin")
    expect(again.code).toBe(0)
    expect(md5Hex(readFileSync(path.join(disk.dir, "medio.bin")))).toBe(md5Hex(content))
    expect(everyEntry(disk.dir)).toEqual(["medio.bin"])
    await server.stdout.waitFor(/retomar medio\.bin ok \(a partir de \d+\)/)
    await server.stop()
  }, 30_000)
})

withTmpfs("read-only folders", () => {
  test("a read-only served folder: the server starts, lists and serves; an upload gets a clear refusal", async () => {
    const disk = await mounted("servidor-ro", 1 * MIB)
    const content = seededBytes(10 * KIB, 7)
    writeFileSync(path.join(disk.dir, "le.bin"), content)
    disk.readOnly()
    const server = await startServerProcess(disk.dir, { timeoutSeconds: 5 })
    const address = `127.0.0.1:${server.port}`
    const folder = await plainFolder("cliente")
    expect((await client(address, folder, "listar")).code).toBe(0)
    expect((await client(address, folder, "baixar", "le.bin")).code).toBe(0)
    expect(md5Hex(readFileSync(path.join(folder, "le.bin")))).toBe(md5Hex(content))
    writeFileSync(path.join(folder, "novo.bin"), seededBytes(10 * KIB, 8))
    const refused = await client(address, folder, "enviar", "novo.bin")
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("novo.bin")
    await server.stdout.waitFor(/enviar novo\.bin falha[^\n]*permissão/)
    expect(everyEntry(disk.dir)).toEqual(["le.bin"])
    expect(server.process.exitCode).toBeNull()
    await server.stop()
  }, 30_000)

  test("a read-only client folder: a download is refused clearly, an upload from it works", async () => {
    const served = await plainFolder("servido")
    writeFileSync(path.join(served, "a.bin"), seededBytes(10 * KIB, 9))
    const server = await startServerProcess(served, { timeoutSeconds: 5 })
    const address = `127.0.0.1:${server.port}`
    const disk = await mounted("cliente-ro", 1 * MIB)
    const local = seededBytes(10 * KIB, 10)
    writeFileSync(path.join(disk.dir, "meu.bin"), local)
    disk.readOnly()
    const refused = await client(address, disk.dir, "baixar", "a.bin")
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("a.bin")
    expect(refused.stderr).toMatch(/permissão/)
    expectNoErrno(refused.stderr)
    expect((await client(address, disk.dir, "enviar", "meu.bin")).code).toBe(0)
    expect(md5Hex(readFileSync(path.join(served, "meu.bin")))).toBe(md5Hex(local))
    await server.stop()
  }, 30_000)
})

import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import * as path from "node:path"

/**
 * A small client of the tests' own, written the way a student would, used to
 * show that the client judge catches each planted bug (`--bug=NAME`).
 * Usage: toy-client.ts HOST:PORT FOLDER OP NAME [--bug=NAME]
 */

const words = process.argv.slice(2).filter((word) => !word.startsWith("--bug="))
const bug = process.argv.find((word) => word.startsWith("--bug="))?.slice(6) ?? ""
const [address, folder, op, name = ""] = words as [string, string, string, string?]
const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))]

const socket = net.connect({ host, port })
socket.on("error", () => process.exit(3))
if (bug !== "no-timeout") {
  socket.setTimeout(1000, () => {
    socket.destroy()
    process.exit(3)
  })
}
let buffer: Buffer = Buffer.alloc(0)
let ended = false
let wake: () => void = () => {}
socket.on("data", (data: Buffer) => {
  buffer = Buffer.concat([buffer, data])
  wake()
})
socket.on("close", () => {
  ended = true
  wake()
})

const take = async (n: number): Promise<Buffer> => {
  while (buffer.length < n) {
    if (ended) throw new Error("cortado")
    await new Promise<void>((resolve) => (wake = resolve))
  }
  const out = buffer.subarray(0, n)
  buffer = buffer.subarray(n)
  return out
}
const u8 = async () => (await take(1))[0]!
/** One read, like a single recv(n): whatever has arrived, up to n bytes. */
const once = async (n: number): Promise<Buffer> => {
  while (buffer.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve))
  const out = buffer.subarray(0, Math.min(n, buffer.length))
  buffer = buffer.subarray(out.length)
  return out
}
const u32 = async () => (await take(4)).readUInt32BE(0)
const u32b = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
const named = (code: number, text: string) => {
  const bytes = Buffer.from(text)
  return Buffer.concat([Buffer.of(code), u32b(bug === "length-chars" ? text.length : bytes.length), bytes])
}
const finish = (code: number) => {
  socket.destroy()
  process.exit(bug === "exit0-on-refusal" ? 0 : code)
}

/** Reads a sized body into `target` (through a partial file unless the bug writes straight to it). */
const receive = async (target: string, size: number) => {
  const partial = bug === "keep-final-on-fail" ? target : `${target}.parcial`
  mkdirSync(path.dirname(partial), { recursive: true })
  if (bug === "read-to-close") {
    while (!ended) await new Promise<void>((resolve) => (wake = resolve))
    writeFileSync(partial, buffer)
  } else {
    writeFileSync(partial, Buffer.alloc(0))
    let left = size
    while (left > 0) {
      const piece = await take(Math.min(left, Math.max(1, Math.min(buffer.length, 65536))))
      writeFileSync(partial, piece, { flag: "a" })
      left -= piece.length
    }
  }
  if (partial !== target) renameSync(partial, target)
}

const safe = (text: string) => !text.startsWith("/") && !text.split("/").some((part) => part === ".." || part === "")

try {
  if (op === "baixar") {
    socket.write(named(10, name))
    if ((await u8()) !== 0) finish(1)
    await receive(path.join(folder, name), await u32())
  } else if (op === "listar") {
    socket.write(Buffer.of(20))
    if ((await u8()) !== 0) finish(1)
    const listing = JSON.parse((await take(await u32())).toString()) as Array<{ nome: string; tamanho: string }>
    for (const entry of listing) console.log(`${entry.nome}\t${entry.tamanho}`)
  } else if (op === "enviar") {
    const local = path.join(folder, name)
    if (!existsSync(local)) finish(1)
    const data = readFileSync(local)
    socket.write(named(30, name))
    if (bug === "early-size") socket.write(Buffer.concat([u32b(data.length), data]))
    if ((await u8()) !== 0) finish(1)
    if (bug !== "early-size") socket.write(Buffer.concat([u32b(data.length), data]))
    if ((await u8()) !== 0) finish(1)
  } else if (op === "retomar") {
    const partial = path.join(folder, `${name}.parcial`)
    const held = existsSync(partial) ? readFileSync(partial) : Buffer.alloc(0)
    const digest = createHash("md5")
      .update(bug === "md5-empty" ? Buffer.alloc(0) : held)
      .digest()
    socket.write(Buffer.concat([named(40, name), u32b(held.length), digest]))
    if (bug === "recv-once") {
      const statuses = await once(2)
      if (statuses.length < 2 || statuses[0] !== 0 || statuses[1] !== 0) finish(1)
    } else if ((await u8()) !== 0 || (await u8()) !== 0) finish(1)
    const rest = await take(await u32())
    writeFileSync(partial, Buffer.concat([held, rest]))
    renameSync(partial, path.join(folder, name))
  } else if (op === "baixar-varios") {
    socket.write(named(50, name))
    if ((await u8()) !== 0) finish(1)
    const count = await u32()
    if (count > 10_000 && bug !== "trust-names") finish(1)
    const entries: Array<string> = []
    for (let i = 0; i < count; i++) {
      const entry = (await take(await u32())).toString()
      await u32()
      const matches = new Bun.Glob(name).match(entry) && !entry.includes("/")
      if (bug !== "trust-names" && (!safe(entry) || !matches || entries.includes(entry))) finish(1)
      entries.push(entry)
    }
    for (const entry of entries) {
      if ((await u8()) !== 0) continue
      await receive(bug === "trust-names" ? path.resolve(folder, entry) : path.join(folder, entry), await u32())
    }
  }
  finish(0)
} catch {
  if (bug === "keep-final-on-fail") finish(3)
  rmSync(path.join(folder, `${name}.parcial`), { force: true })
  finish(3)
}

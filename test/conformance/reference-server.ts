import { constants } from "node:fs"
import { lstat, mkdir, open, readdir, realpath, rename, rm } from "node:fs/promises"
import * as path from "node:path"
import * as Either from "effect/Either"
import { maskMatcher } from "../../src/domain/mask.ts"
import { checkName, parseMask, parseName } from "../../src/domain/names.ts"
import { MUTANTS, type Mutant } from "./mutants.ts"

/**
 * A small, independent reference server of PROTOCOL.md on Bun.listen, used
 * to prove the conformance checker right: run plainly it must pass every
 * check; run with `--mutante NAME` it breaks exactly one rule, and the
 * checker must report it. Each mutant is a line or two marked `mutant(...)`.
 *
 *   bun test/conformance/reference-server.ts --pasta DIR --timeout S [--mutante NAME]
 *
 * Listens on 127.0.0.1 only, on a free port, and prints "PRONTO <porta>".
 */

const option = (name: string) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const base = await realpath(option("--pasta") ?? ".")
const timeoutMillis = Number(option("--timeout") ?? "5") * 1000
const active = option("--mutante") as Mutant | undefined
if (active !== undefined && !MUTANTS.includes(active)) throw new Error(`unknown mutant ${active}`)
const mutant = (name: Mutant) => active === name

const MAX_NAME = 4096
const MAX_MANY = 10_000

class Closed extends Error {}
class Refused extends Error {}

const u32 = (value: number) => {
  const out = Buffer.alloc(4)
  if (mutant("little-endian")) out.writeUInt32LE(value)
  else out.writeUInt32BE(value)
  return out
}

/** One connection: bytes in as they arrive, reads with deadlines, writes that respect backpressure. */
class Connection {
  private chunks: Array<Buffer> = []
  private buffered = 0
  closed = false
  private wake: (() => void) | undefined
  private drained: (() => void) | undefined

  constructor(readonly socket: Bun.Socket<Connection>) {}

  push(data: Uint8Array) {
    this.chunks.push(Buffer.from(data))
    this.buffered += data.length
    this.wake?.()
  }

  end() {
    this.closed = true
    this.wake?.()
    this.drained?.()
  }

  drain() {
    this.drained?.()
  }

  /** Exactly n bytes before `deadline` (ms since epoch); Closed if the peer goes or time runs out. */
  async need(n: number, deadline: number): Promise<Buffer> {
    while (this.buffered < n) {
      if (this.closed) throw new Closed()
      const left = mutant("sem-timeout") ? 2 ** 31 - 1 : deadline - Date.now()
      if (left <= 0) throw new Closed()
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    const parts: Array<Buffer> = []
    for (let left = n; left > 0; ) {
      const head = this.chunks[0]!
      if (head.length <= left) {
        parts.push(head)
        this.chunks.shift()
        left -= head.length
      } else {
        parts.push(head.subarray(0, left))
        this.chunks[0] = head.subarray(left)
        left = 0
      }
    }
    this.buffered -= n
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }

  /** Reads with the stall deadline: the server's timeout for each wait. */
  stall = (n: number) => this.need(n, Date.now() + timeoutMillis)

  /** Whatever is buffered, between 1 and `max` bytes, under the stall deadline. */
  some = (max: number) => this.stall(Math.max(1, Math.min(max, this.buffered)))

  async send(bytes: Uint8Array) {
    let offset = 0
    while (offset < bytes.length) {
      if (this.closed) throw new Closed()
      const wrote = this.socket.write(bytes.subarray(offset))
      offset += Math.max(0, wrote)
      if (offset < bytes.length) {
        const moved = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), mutant("sem-timeout") ? 2 ** 31 - 1 : timeoutMillis)
          this.drained = () => {
            clearTimeout(timer)
            resolve(true)
          }
        })
        if (!moved) throw new Closed()
      }
    }
  }
}

const inside = (real: string) => real === base || real.startsWith(base + path.sep)

/** The real path of a name that must stay in the folder, or undefined. */
const resolve = async (name: string): Promise<string | undefined> => {
  const joined = path.join(base, ...name.split("/"))
  if (mutant("travessia")) return path.join(base, name)
  const real = await realpath(joined).catch(() => undefined)
  if (real === undefined) return undefined
  return mutant("link-fora") || inside(real) ? real : undefined
}

/** Opens a regular file, never blocking on FIFOs or devices; undefined when it cannot be served. */
const openRegular = async (name: string) => {
  const real = await resolve(name)
  if (real === undefined) return undefined
  const flags = mutant("fifo-bloqueia") ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NONBLOCK
  const file = await open(real, flags).catch(() => undefined)
  if (file === undefined) return undefined
  const info = await file.stat()
  if (!info.isFile() || info.size > 0xffff_ffff) {
    await file.close()
    return undefined
  }
  return { file, size: info.size }
}

const sendFile = async (connection: Connection, file: Awaited<ReturnType<typeof open>>, from: number, size: number) => {
  const buffer = Buffer.alloc(64 * 1024)
  let sent = 0
  const total = mutant("dados-truncados") ? Math.max(0, size - 100) : size
  while (sent < total) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, total - sent), from + sent)
    if (bytesRead === 0) throw new Closed()
    await connection.send(buffer.subarray(0, bytesRead))
    sent += bytesRead
  }
}

const readName = async (connection: Connection, deadline: number, mask = false): Promise<string> => {
  const length = (await connection.need(4, deadline)).readUInt32BE(0)
  // Trusts the declared length and waits for all of it before checking it (a
  // real blind allocation of 4 GiB would also zero 4 GiB of a shared machine).
  const early = mutant("alocacao-cega") ? await connection.need(length, deadline) : undefined
  if (length === 0 || length > MAX_NAME) throw new Refused()
  const raw = early ?? (await connection.need(length, deadline))
  if (mutant("travessia")) return raw.toString("utf8")
  const parsed = mask ? parseMask(raw) : parseName(raw)
  if (Either.isLeft(parsed)) throw new Refused()
  return parsed.right
}

/** Regular files, recursively, without hidden entries, links or invalid names; sorted by bytes. */
const listing = async (): Promise<Array<{ name: string; size: number }>> => {
  const out: Array<{ name: string; size: number }> = []
  const walk = async (relative: string) => {
    const entries = await readdir(path.join(base, relative), { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const name = relative === "" ? entry.name : `${relative}/${entry.name}`
      if (entry.name.startsWith(".") || Either.isLeft(checkName(name))) continue
      if (entry.isDirectory()) await walk(name)
      else if (entry.isFile()) {
        const info = await lstat(path.join(base, name)).catch(() => undefined)
        if (info?.isFile()) out.push({ name, size: info.size })
      }
    }
  }
  await walk("")
  return out.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
}

const download = async (connection: Connection, deadline: number) => {
  const name = await readName(connection, deadline)
  const opened = await openRegular(name)
  if (opened === undefined) {
    if (mutant("inexistente-vazio")) return connection.send(Buffer.concat([Buffer.of(0), u32(0)]))
    throw new Refused()
  }
  try {
    await connection.send(Buffer.concat([Buffer.of(0), u32(opened.size)]))
    await sendFile(connection, opened.file, 0, opened.size)
  } finally {
    await opened.file.close()
  }
}

const list = async (connection: Connection) => {
  const entries = (await listing()).map(({ name, size }) => ({
    nome: name,
    tamanho: mutant("tamanho-numero") ? size : String(size)
  }))
  let json = JSON.stringify(entries)
  if (mutant("json-aspas-simples")) json = json.replace(/"/g, "'")
  const body = Buffer.from(json)
  // The length counted in characters instead of bytes, or just one short.
  const declared = mutant("listagem-comprimento-curto") ? body.length - 1 : body.length
  await connection.send(Buffer.concat([Buffer.of(0), u32(declared), body]))
}

const upload = async (connection: Connection, deadline: number) => {
  const name = await readName(connection, deadline)
  const parts = name.split("/")
  let dir = base
  for (const part of parts.slice(0, -1)) {
    dir = path.join(dir, part)
    await mkdir(dir).catch(() => undefined)
    const real = await realpath(dir).catch(() => undefined)
    if (real === undefined || !inside(real) || !(await lstat(real)).isDirectory()) throw new Refused()
  }
  const target = path.join(dir, parts.at(-1)!)
  if ((await lstat(target).catch(() => undefined))?.isDirectory()) throw new Refused()
  await connection.send(Buffer.of(0))
  const temporary = mutant("upload-nao-atomico") ? target : path.join(dir, `.envio-${crypto.randomUUID()}.tmp`)
  let stored = false
  try {
    const size = (await connection.stall(4)).readUInt32BE(0)
    const file = await open(temporary, "w")
    try {
      for (let left = size; left > 0; ) {
        const piece = await connection.some(Math.min(left, 64 * 1024))
        await file.write(piece)
        left -= piece.length
      }
    } finally {
      await file.close()
    }
    if (temporary !== target) await rename(temporary, target)
    stored = true
  } finally {
    if (!stored) await rm(temporary, { force: true })
  }
  if (!mutant("sem-status-final")) await connection.send(Buffer.of(0))
}

const resume = async (connection: Connection, deadline: number) => {
  const name = await readName(connection, deadline)
  const position = (await connection.need(4, deadline)).readUInt32BE(0)
  const digest = await connection.need(16, deadline)
  const accept = mutant("um-status-op40") ? Buffer.alloc(0) : Buffer.of(0)
  const opened = await openRegular(name)
  if (opened === undefined) return connection.send(Buffer.concat([accept, Buffer.of(10)]))
  try {
    if (position > opened.size) return await connection.send(Buffer.concat([accept, Buffer.of(20)]))
    const head = Buffer.alloc(position)
    if (position > 0) await opened.file.read(head, 0, position, 0)
    const held = new Bun.CryptoHasher("md5").update(head).digest()
    if (!mutant("sem-md5") && !held.equals(digest)) return await connection.send(Buffer.concat([accept, Buffer.of(20)]))
    await connection.send(Buffer.concat([accept, Buffer.of(0), u32(opened.size - position)]))
    await sendFile(connection, opened.file, position, opened.size - position)
  } finally {
    await opened.file.close()
  }
}

const downloadMany = async (connection: Connection, deadline: number) => {
  const mask = await readName(connection, deadline, true)
  const matches = maskMatcher(mask)
  const found = (await listing()).filter((entry) => matches(entry.name))
  if (found.length > MAX_MANY) return connection.send(Buffer.concat([Buffer.of(2), u32(found.length), u32(MAX_MANY)]))
  await connection.send(
    Buffer.concat([
      Buffer.of(0),
      u32(found.length),
      ...found.flatMap((entry) => [u32(Buffer.byteLength(entry.name)), Buffer.from(entry.name), u32(entry.size)])
    ])
  )
  for (const entry of found) {
    const opened = await openRegular(entry.name)
    if (opened === undefined) {
      await connection.send(Buffer.of(1))
      continue
    }
    try {
      await connection.send(Buffer.concat([Buffer.of(0), u32(opened.size)]))
      await sendFile(connection, opened.file, 0, opened.size)
    } finally {
      await opened.file.close()
    }
  }
}

const serveOne = async (connection: Connection) => {
  const deadline = Date.now() + timeoutMillis
  const op = (await connection.need(1, deadline))[0]
  switch (op) {
    case 10:
      return download(connection, deadline)
    case 20:
      return list(connection)
    case 30:
      return upload(connection, deadline)
    case 40:
      return resume(connection, deadline)
    case 50:
      return downloadMany(connection, deadline)
    default:
      throw new Refused()
  }
}

const serve = async (connection: Connection) => {
  try {
    do {
      try {
        await serveOne(connection)
      } catch (error) {
        // A refusal, an incomplete request or a stalled upload: 0x01, then close.
        if (!connection.closed && (error instanceof Refused || error instanceof Closed)) {
          await connection.send(Buffer.of(1)).catch(() => undefined)
        }
        return
      }
    } while (mutant("segunda-operacao") && !connection.closed)
  } finally {
    connection.socket.end()
    setTimeout(() => connection.socket.terminate(), 2000).unref()
  }
}

let serial: Promise<void> = Promise.resolve()

const listener = Bun.listen<Connection>({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open(socket) {
      socket.data = new Connection(socket)
      if (mutant("um-cliente-por-vez")) serial = serial.then(() => serve(socket.data))
      else void serve(socket.data)
    },
    data(socket, data) {
      socket.data.push(data)
    },
    drain(socket) {
      socket.data.drain()
    },
    close(socket) {
      socket.data.end()
    },
    error(socket) {
      socket.data.end()
    }
  }
})

console.log(`PRONTO ${listener.port}`)

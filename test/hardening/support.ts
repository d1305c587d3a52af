import { expect } from "bun:test"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Exit, Scope } from "effect"
import { Decoder, type Grammar } from "../../src/domain/decoder.ts"
import { downloadManyReply, downloadReply, listReply, resumeReply, uploadReply } from "../../src/domain/grammars.ts"
import type { ServerEvent } from "../../src/domain/messages.ts"
import { type ServerSettings, serverSettings } from "../../src/programs/server/config.ts"
import { ServerLive } from "../../src/programs/server/ServerLive.ts"
import { serveFolder } from "../../src/programs/server/server.ts"
import { makeRandom } from "../support/bytes.ts"
import { logInto } from "../support/harness.ts"
import { be32, bytesOf, type ClientRunner, clientFor, hexOf, named, waitFor } from "../support/hostile.ts"
import { type RawExchangeOptions, type RawReply, rawExchange } from "../support/rawExchange.ts"

/**
 * The hardening fixture. Every case runs against a "jail":
 *
 *   <base>/                 a fresh temporary folder (mkdtemp)
 *     servidor/             the served folder (normal.txt, sub/interno.txt)
 *     cliente/              the client folder
 *     fora/                 OUTSIDE: segredo.txt (the sentinel), pasta/outro.txt
 *     segredo-base.txt      OUTSIDE too, next to the served folder
 *
 * The sentinels hold a marker that appears nowhere else, have a fixed old
 * mtime and atime (with `relatime`, an old atime is updated by any read, so a
 * read that never reached a reply is caught too), and `assertIntact` checks,
 * after every case: the sentinels' content, mtime and atime; that `fora/`
 * and `<base>` hold exactly what they held; that no entry carrying the
 * case's escape token appeared in the temp dir or in `/`; that no reply the
 * case recorded, and no file in the served or client folder, holds the
 * marker; and that a normal download still gets its exact bytes.
 */

// ---------------------------------------------------------------------------
// Constants and small utilities

/** 23 bytes that appear in the outside files and nowhere else. */
export const MARKER = "#SEGREDO-FORA-7f3a9c1e#"
/** Any leaked run of 2 × 23 − 1 = 45 bytes or more of a sentinel contains the marker whole. */
export const SECRET = MARKER.repeat(40)
export const NORMAL = "arquivo normal, dentro da pasta\n"
export const INTERNAL = "interno\n"
/** Fixed times of the outside files (2001-09-09). */
const OLD_TIME = new Date(1_000_000_000_000)

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
export { md5 as md5Raw, md5Hex } from "../support/md5.ts"
export { be32, bytesOf, hexOf, named, waitFor }

/** Seeded PRNG (mulberry32): every random choice of the battery is reproducible. */
export const prng = (seed: number) => {
  const word = makeRandom(seed)
  const next = () => word() / 4294967296
  return {
    next,
    /** Integer in [0, n). */
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: ReadonlyArray<T>): T => items[Math.floor(next() * items.length)]!,
    bytes: (n: number) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256))
  }
}

export const containsMarker = (bytes: Uint8Array): boolean => Buffer.from(bytes).indexOf(MARKER) >= 0

/** Runs `task` over `items` with at most `limit` in flight. */
export const pool = async <T, R>(
  items: ReadonlyArray<T>,
  limit: number,
  task: (item: T, index: number) => Promise<R>
) => {
  const results: Array<R> = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await task(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

export const openFdCount = async () => (await fs.readdir("/proc/self/fd")).length

/** Collects garbage a few times and returns the resident set size. */
export const settledRss = async () => {
  for (let i = 0; i < 3; i++) {
    Bun.gc(true)
    // A turn of the event loop between collections, for what the collection released.
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().rss
}

export const pathExists = (full: string) =>
  fs.lstat(full).then(
    () => true,
    () => false
  )

/** Every entry under `dir`, recursively, without following links, with its kind, size and mtime. */
export const snapshot = async (dir: string): Promise<Record<string, string>> => {
  const found: Record<string, string> = {}
  const walk = async (current: string, prefix: string) => {
    const entries = await fs.readdir(current, { withFileTypes: true }).catch(() => [])
    for (const entry of entries) {
      const full = path.join(current, entry.name)
      // An entry may vanish while it is walked (a temporary being removed): skip it.
      const stats = await fs.lstat(full).catch(() => undefined)
      if (stats === undefined) continue
      const kind = stats.isFile() ? "file" : stats.isDirectory() ? "dir" : stats.isSymbolicLink() ? "link" : "other"
      found[prefix + entry.name] = kind === "dir" ? "dir" : `${kind} ${stats.size} ${stats.mtimeMs}`
      if (stats.isDirectory()) await walk(full, `${prefix}${entry.name}/`)
    }
  }
  await walk(dir, "")
  return found
}

/** Relative paths of every entry under `dir` (links not followed), sorted. */
export const listTree = async (dir: string) => Object.keys(await snapshot(dir)).sort()

/** Hidden upload temporaries under `dir`. */
export const temporaries = async (dir: string) =>
  (await listTree(dir)).filter((entry) => /(^|\/)\.envio-[0-9a-f]+\.tmp$/.test(entry))

// ---------------------------------------------------------------------------
// Raw exchanges

/** Sends raw bytes and collects the whole reply, half-closing after the request unless told not to; 5 s bound. */
export const exchange = (port: number, request: Uint8Array, options: RawExchangeOptions = {}): Promise<RawReply> =>
  rawExchange(port, request, { halfClose: true, limitMillis: 5_000, ...options })

// ---------------------------------------------------------------------------
// The jail

export interface JailOptions {
  readonly timeoutSeconds?: number
  readonly settings?: Partial<ServerSettings>
  readonly graceMillis?: number
}

export interface Jail {
  readonly base: string
  readonly root: string
  readonly clientDir: string
  readonly outside: string
  readonly sentinel: string
  readonly baseSentinel: string
  /** A token unique to this jail: escape attempts name `pwned-<token>` so a stray file is found. */
  readonly token: string
  readonly port: number
  readonly logs: Array<string>
  /** A raw exchange whose reply is kept for the marker scan of `assertIntact`. */
  readonly exchange: (request: Uint8Array, options?: RawExchangeOptions) => Promise<RawReply>
  /** Records bytes received some other way (a raw socket, a hostile server's log). */
  readonly record: (bytes: Uint8Array) => void
  /** Client programs over `cliente/` (or another folder) against this server. */
  readonly client: ClientRunner
  readonly clientIn: (folder: string, timeoutSeconds?: number) => Promise<ClientRunner>
  /** Writes a file inside the served folder, creating its folders. */
  readonly put: (name: string, content: Uint8Array | string) => Promise<void>
  /** Entries of `<base>` that a case is allowed to add (e.g. extra client folders). */
  readonly allowInBase: (name: string) => void
  readonly assertIntact: () => Promise<void>
  readonly close: () => Promise<void>
}

/** Whether reading a file with an old atime updates it here (relatime/strictatime), checked once. */
let atimeWorks: boolean | undefined
const probeAtime = async (dir: string) => {
  if (atimeWorks !== undefined) return atimeWorks
  const probe = path.join(dir, "probe")
  await fs.writeFile(probe, "probe")
  await fs.utimes(probe, OLD_TIME, OLD_TIME)
  await fs.readFile(probe)
  atimeWorks = (await fs.stat(probe)).atimeMs !== OLD_TIME.getTime()
  await fs.rm(probe)
  return atimeWorks
}

export const startJail = async (options: JailOptions = {}): Promise<Jail> => {
  const base = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), "hardening-")))
  const root = path.join(base, "servidor")
  const clientDir = path.join(base, "cliente")
  const outside = path.join(base, "fora")
  const sentinel = path.join(outside, "segredo.txt")
  const baseSentinel = path.join(base, "segredo-base.txt")
  const token = randomBytes(6).toString("hex")
  await fs.mkdir(path.join(root, "sub"), { recursive: true })
  await fs.mkdir(clientDir)
  await fs.mkdir(path.join(outside, "pasta"), { recursive: true })
  await fs.writeFile(path.join(root, "normal.txt"), NORMAL)
  await fs.writeFile(path.join(root, "sub", "interno.txt"), INTERNAL)
  const checkAtime = await probeAtime(base)
  for (const file of [sentinel, baseSentinel, path.join(outside, "pasta", "outro.txt")]) {
    await fs.writeFile(file, SECRET)
    await fs.utimes(file, OLD_TIME, OLD_TIME)
  }
  const outsideBefore = await snapshot(outside)
  const baseEntries = new Set(["cliente", "fora", "servidor", "segredo-base.txt"])

  const logs: Array<string> = []
  const scope = Effect.runSync(Scope.make())
  const timeoutSeconds = options.timeoutSeconds ?? 5
  const listener = await Effect.runPromise(
    serveFolder({ hostname: "127.0.0.1", port: 0, graceMillis: options.graceMillis ?? 300 }).pipe(
      Scope.extend(scope),
      Effect.provide(
        ServerLive({ folder: root, settings: serverSettings(timeoutSeconds, options.settings), logger: logInto(logs) })
      )
    )
  ).catch(async (error: unknown) => {
    // The server did not start: leave nothing behind in the temp dir.
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await fs.rm(base, { recursive: true, force: true })
    throw error
  })
  const port = listener.port
  let recorded: Array<Uint8Array> = []
  const record = (bytes: Uint8Array) => void recorded.push(bytes)
  const clientIn = (folder: string, seconds = timeoutSeconds) => clientFor(port, folder, seconds)
  const client = await clientIn(clientDir)

  /** Regular files under `dir` (links and special files are not opened). */
  const regularFiles = async (dir: string) => {
    const found: Array<string> = []
    for (const [entry, kind] of Object.entries(await snapshot(dir)))
      if (kind.startsWith("file")) found.push(path.join(dir, entry))
    return found
  }

  const assertIntact = async () => {
    // 1. The sentinels: never read (atime), never changed (content, mtime).
    for (const file of [sentinel, baseSentinel]) {
      const stats = await fs.lstat(file)
      expect(stats.isFile()).toBe(true)
      expect(stats.mtimeMs).toBe(OLD_TIME.getTime())
      if (checkAtime) expect(stats.atimeMs).toBe(OLD_TIME.getTime())
      expect(await fs.readFile(file, "utf8")).toBe(SECRET)
      await fs.utimes(file, OLD_TIME, OLD_TIME) // the read above touched atime: put it back
    }
    // 2. Nothing created, removed or changed outside the folders.
    expect(await snapshot(outside)).toEqual(outsideBefore)
    expect((await fs.readdir(base)).filter((entry) => !baseEntries.has(entry))).toEqual([])
    for (const dir of [tmpdir(), "/", path.dirname(base)]) {
      expect((await fs.readdir(dir)).filter((entry) => entry.includes(token))).toEqual([])
    }
    // 3. No reply, and no file in the served or client folder, carries the outside content.
    for (const reply of recorded) expect(containsMarker(reply)).toBe(false)
    recorded = []
    for (const file of [...(await regularFiles(root)), ...(await regularFiles(clientDir))]) {
      expect({ file, leaked: containsMarker(new Uint8Array(await fs.readFile(file))) }).toEqual({ file, leaked: false })
    }
    // 4. The server still answers a normal request with its exact bytes.
    const normal = await exchange(port, bytesOf(10, named("normal.txt")))
    expect(hexOf(normal.reply)).toBe(hexOf(bytesOf(0, be32(utf8(NORMAL).length), NORMAL)))
  }

  return {
    base,
    root,
    clientDir,
    outside,
    sentinel,
    baseSentinel,
    token,
    port,
    logs,
    exchange: async (request, exchangeOptions) => {
      const result = await exchange(port, request, exchangeOptions)
      record(result.reply)
      return result
    },
    record,
    client,
    clientIn,
    put: async (name, content) => {
      const full = path.join(root, name)
      await fs.mkdir(path.dirname(full), { recursive: true })
      await fs.writeFile(full, content)
    },
    allowInBase: (name) => void baseEntries.add(name),
    assertIntact,
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await fs.rm(base, { recursive: true, force: true })
    }
  }
}

/** Starts a jail, runs `body`, checks the jail is intact, and always closes it. */
export const withJail = async (body: (jail: Jail) => Promise<void>, options?: JailOptions) => {
  const jail = await startJail(options)
  try {
    await body(jail)
    await jail.assertIntact()
  } finally {
    await jail.close()
  }
}

// ---------------------------------------------------------------------------
// Requests

export const download = (name: Uint8Array | string) => bytesOf(10, rawName(name))
export const list = () => Uint8Array.of(20)
export const uploadHeader = (name: Uint8Array | string) => bytesOf(30, rawName(name))
export const upload = (name: Uint8Array | string, data: Uint8Array | string) =>
  bytesOf(30, rawName(name), be32(typeof data === "string" ? utf8(data).length : data.length), data)
export const resume = (name: Uint8Array | string, position: number, md5: Uint8Array) =>
  bytesOf(40, rawName(name), be32(position), md5)
export const downloadMany = (mask: Uint8Array | string) => bytesOf(50, rawName(mask))

/** A name field from text (UTF-8) or from raw bytes (for invalid encodings). */
export const rawName = (name: Uint8Array | string) => {
  const bytes = typeof name === "string" ? utf8(name) : name
  return bytesOf(be32(bytes.length), bytes)
}

// ---------------------------------------------------------------------------
// Reply oracle

/** The reply grammar for the request a (possibly mangled) byte string starts with, if its opcode is known. */
export const replyGrammarFor = (request: Uint8Array): Grammar<ServerEvent> | undefined => {
  switch (request[0]) {
    case 10:
      return downloadReply()
    case 20:
      return listReply()
    case 30:
      return uploadReply()
    case 40:
      return resumeReply()
    case 50: {
      // The mask the server read, if there is a whole one; otherwise any mask (the reply is then 01).
      const length = request.length >= 5 ? new DataView(request.buffer, request.byteOffset + 1, 4).getUint32(0) : 0
      const mask =
        length > 0 && request.length >= 5 + length ? Buffer.from(request.subarray(5, 5 + length)).toString("utf8") : "*"
      return downloadManyReply(mask)
    }
    default:
      return undefined
  }
}

/** The reply is exactly one complete, well-formed reply (or 01 for an unknown opcode). */
export const expectWellFormedReply = (request: Uint8Array, reply: Uint8Array) => {
  const grammar = replyGrammarFor(request)
  if (grammar === undefined) {
    expect({ request: hexOf(request), reply: hexOf(reply) }).toEqual({ request: hexOf(request), reply: "01" })
    return
  }
  const decoder = new Decoder(grammar)
  const events = decoder.feed(reply)
  expect({
    request: hexOf(request),
    reply: hexOf(reply).slice(0, 200),
    decoded: events._tag,
    done: decoder.isDone
  }).toEqual({
    request: hexOf(request),
    reply: hexOf(reply).slice(0, 200),
    decoded: "Right",
    done: true
  })
  expect(decoder.bufferedBytes).toBe(0)
}

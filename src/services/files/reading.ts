import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, realpathSync } from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { FileFailure } from "../../domain/errors.ts"
import { isInside } from "../../domain/jail.ts"
import type { ByteSource } from "../ByteSource.ts"
import type { ReadableFile } from "../FileStore.ts"
import { BufferPool, type BufferPoolOptions } from "./bufferPool.ts"
import { attemptSync, failure, failureOf } from "./failures.ts"

/** Chunk size for reads: large enough that the per-chunk overhead vanishes (bench/historico.md). */
export const CHUNK = 1024 * 1024

/** Ranges up to this size are read in one piece into a fresh buffer. */
const SINGLE_READ = CHUNK

export interface OpenedFile {
  readonly fd: number
  readonly size: number
}

const openedPath = (fd: number): string | undefined => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`)
  } catch {
    return undefined // no /proc: the realpath check before the open stands alone
  }
}

/** What the open must never do: follow a last link, or block on a FIFO. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW

/** The file behind `fd` if it is a regular file; otherwise it is closed and the error thrown. */
const regularFile = (fd: number, name: string, check?: (fd: number) => void): OpenedFile => {
  try {
    const stats = fstatSync(fd)
    if (!stats.isFile()) throw failure(name, "NotRegularFile", "não é um arquivo comum")
    check?.(fd)
    return { fd, size: stats.size }
  } catch (error) {
    closeSync(fd)
    throw error
  }
}

/**
 * Opens an existing regular file inside `root`: the path is resolved
 * (realpath) and must stay inside; the open never follows a last link and
 * never blocks on a FIFO; the handle must be a regular file; and the path
 * the kernel actually opened is checked again (a link swapped in between).
 * These are metadata calls: synchronous, they cost microseconds.
 *
 * A name directly in the root (no folder in it, as the name rules make
 * sure it is not "." or "..") has no component to resolve or to swap: the
 * root was resolved when the store started, so one open that does not
 * follow a last link is the whole jail. A name that is a link there fails
 * that open (ELOOP) and takes the full path, which follows it if it stays
 * inside.
 */
export const openInside = (root: string, name: string, relative: string): OpenedFile => {
  if (!relative.includes("/")) {
    let fd: number | undefined
    try {
      fd = openSync(path.join(root, relative), OPEN_FLAGS)
    } catch (error) {
      if ((error as { code?: string }).code !== "ELOOP") throw error
    }
    if (fd !== undefined) return regularFile(fd, name)
  }
  const real = realpathSync(path.join(root, relative))
  if (!isInside(root, real)) throw failure(name, "OutsideRoot", "o caminho sai da pasta")
  return regularFile(openSync(real, OPEN_FLAGS), name, (fd) => {
    const opened = openedPath(fd)
    if (opened !== undefined && !isInside(root, opened)) throw failure(name, "OutsideRoot", "o caminho sai da pasta")
  })
}

export const closeQuietly = (fd: number) =>
  Effect.sync(() => {
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
  })

/**
 * What a store reads through, created with it (`makeFileStore`).
 *
 * `shared` is the one buffer every send pump of the store fills: a fill is
 * written to the socket in the same callback, and what the socket does not
 * take is stepped back and read again from the page cache when it has room
 * (`ByteSource.rewind`), so no transfer keeps bytes in it between callbacks.
 * The memory of many downloads at once then does not grow with their number.
 *
 * `pool` lends a buffer of its own to each stream of chunks (`chunks`), whose
 * consumer may wait between two chunks: large ones for the first few in
 * flight, small ones beyond (READ_BUFFERS), reused from stream to stream.
 */
export interface ReadBuffers {
  readonly shared: Uint8Array
  readonly pool: BufferPool
}

export const SHARED_READ = 256 * 1024

export const READ_BUFFERS: BufferPoolOptions = { largeSize: CHUNK, largeCount: 2, smallSize: 64 * 1024, smallKept: 64 }

export const makeReadBuffers = (): ReadBuffers => ({
  shared: Buffer.allocUnsafe(SHARED_READ),
  pool: new BufferPool(READ_BUFFERS)
})

const shrank = (name: string) => failure(name, "Io", "o arquivo encolheu durante a leitura")

/**
 * Reads the file behind `fd` onwards from `from`, each call into the buffer
 * it is given. It runs once per chunk inside the send pump, so it allocates
 * nothing in the common case: no closure, and the same `Right` for the same
 * count (a full buffer, almost always).
 */
const cursor = (fd: number, name: string, from: number) => {
  let offset = from
  let lastCount = 0
  let last: Either.Either<number, FileFailure> = Either.right(0)
  const fill = (into: Uint8Array): Either.Either<number, FileFailure> => {
    let bytesRead: number
    try {
      bytesRead = readSync(fd, into, 0, into.length, offset)
    } catch (error) {
      return Either.left(failureOf(name, error))
    }
    if (bytesRead === 0) return Either.left(shrank(name))
    offset += bytesRead
    if (bytesRead !== lastCount) {
      lastCount = bytesRead
      last = Either.right(bytesRead)
    }
    return last
  }
  return { fill, rewind: (bytes: number) => void (offset -= bytes) }
}

/**
 * The file's bytes in [from, from + length), in chunks that must be consumed
 * before the next one is pulled (they are one reused buffer, not copies). A
 * small range is a single read. A long one reads through one buffer lent by
 * `pool` (the store's) for the whole transfer, so memory stays flat in the
 * file size and bounded in the number of clients.
 *
 * Reads are synchronous, as nginx's are by default: from the page cache they
 * take far less than a trip to the I/O thread pool, whose round trip would
 * dominate the cost of a small file. For the same reason there is no
 * read-ahead: a forked producer costs more per chunk than the read it
 * overlaps (both measured: bench/historico.md).
 */
export const readable = (name: string, file: OpenedFile, buffers: ReadBuffers): ReadableFile =>
  new OpenFile(name, file.fd, file.size, buffers)

/**
 * A file open for reading. A class, not an object of closures: a small
 * download opens one per request, and its methods are then shared.
 */
class OpenFile implements ReadableFile {
  // Once only: a descriptor number closed twice may by then be another file's.
  private open = true

  constructor(
    readonly name: string,
    private readonly fd: number,
    readonly size: number,
    private readonly buffers: ReadBuffers
  ) {}

  close(): void {
    if (!this.open) return
    this.open = false
    try {
      closeSync(this.fd)
    } catch {
      // already closed
    }
  }

  read(from: number, length: number, before?: Uint8Array): Effect.Effect<Uint8Array, FileFailure> {
    const ahead = before?.length ?? 0
    if (length === 0) return Effect.succeed(before === undefined ? new Uint8Array(0) : before.slice())
    return attemptSync(this.name, () => {
      // Not zero-filled: every byte handed out is `before`'s or overwritten by the read.
      const buffer = Buffer.allocUnsafe(ahead + length)
      if (before !== undefined) buffer.set(before)
      let filled = 0
      while (filled < length) {
        const bytesRead = readSync(this.fd, buffer, ahead + filled, length - filled, from + filled)
        // The file got shorter since it was opened: what was promised cannot be sent.
        if (bytesRead === 0) throw shrank(this.name)
        filled += bytesRead
      }
      return buffer
    })
  }

  /** The send pump's source: the store's shared buffer, stepped back for what the socket did not take. */
  source(from: number): Effect.Effect<ByteSource<FileFailure>> {
    return Effect.sync(() => ({ buffer: this.buffers.shared, ...cursor(this.fd, this.name, from) }))
  }

  chunks(from: number, length: number): Stream.Stream<Uint8Array, FileFailure> {
    if (length === 0) return Stream.empty
    return length <= SINGLE_READ ? Stream.fromEffect(this.read(from, length)) : this.long(from, length)
  }

  /** A stream's source: a buffer of its own, lent by the pool for the stream's scope. */
  private lent(from: number) {
    const pool = this.buffers.pool
    return Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => pool.borrow()),
        (buffer) => Effect.sync(() => pool.giveBack(buffer))
      ),
      (buffer) => ({ buffer, fill: cursor(this.fd, this.name, from).fill })
    )
  }

  private long(from: number, length: number): Stream.Stream<Uint8Array, FileFailure> {
    return Stream.unwrapScoped(
      Effect.map(this.lent(from), ({ buffer, fill }) => {
        let left = length
        return Stream.repeatEffectOption(
          Effect.suspend(() => {
            if (left === 0) return Effect.fail(Option.none())
            const into = left >= buffer.length ? buffer : buffer.subarray(0, left)
            return Either.match(fill(into), {
              onLeft: (failure) => Effect.fail(Option.some(failure)),
              onRight: (bytesRead) => {
                left -= bytesRead
                return Effect.succeed(bytesRead === into.length ? into : into.subarray(0, bytesRead))
              }
            })
          })
        )
      })
    )
  }
}

import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { concat } from "../domain/encode.ts"
import { FileFailure, type FileFailureReason } from "../domain/errors.ts"
import { byName } from "../domain/listing.ts"
import { isValidName, partialNameOf } from "../domain/names.ts"
import type { ByteSink } from "./ByteSink.ts"
import type { ByteSource } from "./ByteSource.ts"
import {
  type AtomicFile,
  EXISTS,
  FileStore,
  type FileStoreService,
  type PartialFile,
  type ReadableFile,
  type StoredFile
} from "./FileStore.ts"
import { detailOf } from "./files/failures.ts"

/**
 * An in-memory `FileStore` for tests: a map from name to bytes, with the live
 * store's semantics where they matter to the programs (a folder is what some
 * name lies under; a name that would leave the folder is refused; an atomic
 * file is invisible until its commit and gone if its scope closes without
 * one; a partial is visible as it grows; the space is finite) and failure
 * injection: every operation asks `fail` first, and a write that would pass
 * the capacity fails as a full disk does, after storing what fit. There are
 * no other processes sharing the folder: `sweepTemporaries` and
 * `sweepIfAnyGone` find nothing.
 */

/** The operations `fail` is asked about; "write" is each write of a sink, "read" each read of an open file. */
export type MemoryFileOperation =
  | "list"
  | "openRead"
  | "read"
  | "createAtomic"
  | "commit"
  | "checkWritable"
  | "openPartial"
  | "complete"
  | "partialSize"
  | "size"
  | "removePartial"
  | "adoptAsPartial"
  | "freeSpace"
  | "write"

export interface MemoryFailAt {
  readonly operation: MemoryFileOperation
  /** The name the operation is about (the root's name for `list` and `freeSpace`). */
  readonly name: string
  /** For "write" and "read": where in the file it starts, and how many bytes. */
  readonly offset?: number
  readonly length?: number
}

export interface MemoryFileStoreOptions {
  /** Bytes the store can hold in all; what is not used is the free space. Default: 1 TiB. */
  readonly capacity?: number
  /** Asked before each operation: a FileFailure makes it fail with it. */
  readonly fail?: (at: MemoryFailAt) => FileFailure | undefined
  /** Largest chunk a reader hands out (default 64 KiB), so files span several. */
  readonly chunkBytes?: number
}

export interface MemoryFileStore extends FileStoreService {
  /** Every stored file, partials included (as `name.parcial`), temporaries not. */
  readonly files: Map<string, Uint8Array>
  /** Names of the temporaries now being written (not yet committed, scope open). */
  readonly temporaries: () => ReadonlyArray<string>
  /** Stored bytes, temporaries included. */
  readonly used: () => number
  /** A file's text, or undefined: for assertions. */
  readonly text: (name: string) => string | undefined
}

/** A failure as the live store words it for a system error `code` (ENOSPC, EIO, EACCES...). */
export const systemFailure = (name: string, reason: FileFailureReason, code: string) =>
  new FileFailure({ name, reason, detail: detailOf({ code }) })

/** For `fail`: writes to `name` (any name when undefined) fail as a full disk once `bytes` were stored. */
export const fullDiskAfter =
  (bytes: number, name?: string) =>
  (at: MemoryFailAt): FileFailure | undefined =>
    at.operation === "write" && (name === undefined || at.name === name) && (at.offset ?? 0) + (at.length ?? 0) > bytes
      ? systemFailure(at.name, "NoSpace", "ENOSPC")
      : undefined

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const failure = (name: string, reason: FileFailureReason, detail: string) => new FileFailure({ name, reason, detail })

export const makeMemoryFileStore = (
  initial: Record<string, Uint8Array | string> = {},
  options: MemoryFileStoreOptions = {}
): MemoryFileStore => {
  const files = new Map<string, Uint8Array>()
  for (const [name, content] of Object.entries(initial))
    files.set(name, typeof content === "string" ? encoder.encode(content) : content)
  const temps = new Map<string, { readonly name: string; bytes: Uint8Array; length: number }>()
  const capacity = options.capacity ?? 2 ** 40
  const chunkBytes = options.chunkBytes ?? 64 * 1024
  let nextTemp = 1

  const used = () => {
    let total = 0
    for (const bytes of files.values()) total += bytes.length
    for (const temp of temps.values()) total += temp.length
    return total
  }

  const injected = (at: MemoryFailAt) => options.fail?.(at)
  const check = (operation: MemoryFileOperation, name: string) =>
    Effect.suspend(() => {
      const failed = injected({ operation, name })
      return failed === undefined ? Effect.void : Effect.fail(failed)
    })

  /** The path of `name` inside the folder, or the failure the live store would give. */
  const resolve = (name: string): Either.Either<string, FileFailure> => {
    const normal = path.posix.normalize(`/${name}`).slice(1).replace(/\/$/, "")
    if (path.posix.normalize(name).startsWith("..")) {
      return Either.left(failure(name, "OutsideRoot", "o caminho sai da pasta"))
    }
    if (normal === "") return Either.left(failure(name, "IsDirectory", "é uma pasta"))
    return Either.right(normal)
  }

  const isFolder = (at: string) => {
    const prefix = `${at}/`
    for (const name of files.keys()) if (name.startsWith(prefix)) return true
    return false
  }

  /** A file lies where a folder of `at` should be. */
  const blockedParent = (at: string) => {
    const parts = at.split("/")
    for (let i = 1; i < parts.length; i++) if (files.has(parts.slice(0, i).join("/"))) return true
    return false
  }

  /** Where `name` may be written: not a folder, under no file. */
  const writable = (name: string) =>
    Effect.flatMap(resolve(name), (at) => {
      if (blockedParent(at)) return Effect.fail(failure(name, "NotFound", detailOf({ code: "ENOTDIR" })))
      if (isFolder(at)) return Effect.fail(failure(name, "IsDirectory", "é uma pasta"))
      return Effect.succeed(at)
    })

  /** The bytes of an existing regular file. */
  const existing = (name: string, at: string): Either.Either<Uint8Array, FileFailure> => {
    const bytes = files.get(at)
    if (bytes !== undefined) return Either.right(bytes)
    if (isFolder(at)) return Either.left(failure(name, "NotRegularFile", "não é um arquivo comum"))
    return Either.left(failure(name, "NotFound", detailOf({ code: "ENOENT" })))
  }

  /** Appends to `name` through `grow`, asking `fail` and honouring the capacity on every write. */
  const sinkFor = (name: string, length: () => number, grow: (bytes: Uint8Array) => void): ByteSink<FileFailure> => ({
    write: (bytes) => {
      const offset = length()
      const failed = injected({ operation: "write", name, offset, length: bytes.length })
      const room = capacity - used()
      if (failed === undefined && room >= bytes.length) {
        grow(bytes)
        return Either.void
      }
      // What fits is stored, as on a disk that fills up mid-write.
      const fits = Math.max(0, Math.min(room, bytes.length))
      if (fits > 0 && failed?.reason !== "Io") grow(bytes.subarray(0, fits))
      return Either.left(failed ?? systemFailure(name, "NoSpace", "ENOSPC"))
    }
  })

  const appendTo = (target: Uint8Array, length: number, bytes: Uint8Array): Uint8Array<ArrayBufferLike> => {
    if (length + bytes.length <= target.length) {
      target.set(bytes, length)
      return target
    }
    const grown = new Uint8Array(Math.max(2 * target.length, length + bytes.length, 1024))
    grown.set(target.subarray(0, length))
    grown.set(bytes, length)
    return grown
  }

  const readable = (name: string, bytes: Uint8Array): ReadableFile => {
    const readAt = (from: number, length: number): Either.Either<Uint8Array, FileFailure> => {
      const failed = injected({ operation: "read", name, offset: from, length })
      if (failed !== undefined) return Either.left(failed)
      if (from + length > bytes.length) return Either.left(failure(name, "Io", "o arquivo encolheu durante a leitura"))
      return Either.right(bytes.slice(from, from + length))
    }
    const source = (from: number): ByteSource<FileFailure> => {
      const buffer = new Uint8Array(chunkBytes)
      let offset = from
      return {
        buffer,
        fill: (into) => {
          const length = Math.min(into.length, bytes.length - offset)
          if (length <= 0) return Either.left(failure(name, "Io", "o arquivo encolheu durante a leitura"))
          return Either.map(readAt(offset, length), (read) => {
            into.set(read)
            offset += length
            return length
          })
        }
      }
    }
    return {
      name,
      size: bytes.length,
      close: () => {},
      read: (from, length, before) =>
        Either.map(readAt(from, length), (read) => (before === undefined ? read : concat([before, read]))),
      source: (from) => Effect.sync(() => source(from)),
      chunks: (from, length) =>
        Stream.unfoldEffect(0, (done) =>
          done >= length
            ? Effect.succeedNone
            : Effect.map(readAt(from + done, Math.min(chunkBytes, length - done)), (bytes) =>
                Option.some([bytes, done + bytes.length] as const)
              )
        )
    }
  }

  const list = Effect.zipRight(
    check("list", "."),
    Effect.sync(() => {
      const found: Array<StoredFile> = []
      for (const [name, bytes] of files) if (isValidName(name)) found.push({ name, size: bytes.length })
      return found.sort((a, b) => byName({ nome: a.name }, { nome: b.name }))
    })
  )

  const openRead = (name: string) =>
    Effect.zipRight(
      check("openRead", name),
      Effect.flatMap(resolve(name), (at) => Effect.map(existing(name, at), (bytes) => readable(name, bytes)))
    )

  const createAtomic = (name: string, createOptions?: { readonly replace: boolean }) =>
    Effect.gen(function* () {
      yield* check("createAtomic", name)
      const at = yield* writable(name)
      const id = `.envio-${nextTemp++}.tmp`
      const temp: { name: string; bytes: Uint8Array<ArrayBufferLike>; length: number } = {
        name: at,
        bytes: new Uint8Array(0),
        length: 0
      }
      let committed = false
      yield* Effect.acquireRelease(
        Effect.sync(() => temps.set(id, temp)),
        () => Effect.sync(() => temps.delete(id))
      )
      const file: AtomicFile = {
        sink: sinkFor(
          name,
          () => temp.length,
          (bytes) => {
            temp.bytes = appendTo(temp.bytes, temp.length, bytes)
            temp.length += bytes.length
          }
        ),
        commit: Effect.zipRight(
          check("commit", name),
          Effect.suspend(() => {
            if (committed) return Effect.void
            if (!(createOptions?.replace ?? true) && files.has(at)) {
              return Effect.fail(failure(name, "PermissionDenied", EXISTS))
            }
            if (isFolder(at)) return Effect.fail(failure(name, "IsDirectory", "é uma pasta"))
            committed = true
            temps.delete(id)
            files.set(at, temp.bytes.slice(0, temp.length))
            return Effect.void
          })
        )
      }
      return file
    })

  const openPartial = (name: string, keep?: number) =>
    Effect.gen(function* () {
      yield* check("openPartial", name)
      const at = yield* writable(name)
      const partial = partialNameOf(at)
      if (isFolder(partial)) return yield* failure(name, "NotRegularFile", "o arquivo parcial não é um arquivo comum")
      const held = files.get(partial) ?? new Uint8Array(0)
      let length = keep !== undefined && keep < held.length ? keep : held.length
      let bytes: Uint8Array<ArrayBufferLike> = held.slice(0, length)
      files.set(partial, bytes)
      const publish = () => files.set(partial, bytes.subarray(0, length))
      const file: PartialFile = {
        size: length,
        sink: sinkFor(
          name,
          () => length,
          (more) => {
            bytes = appendTo(bytes, length, more)
            length += more.length
            publish()
          }
        ),
        complete: Effect.zipRight(
          check("complete", name),
          Effect.sync(() => {
            files.delete(partial)
            files.set(at, bytes.slice(0, length))
          })
        )
      }
      return file
    })

  const sizeOf = (operation: MemoryFileOperation, name: string, partial: boolean) =>
    Effect.zipRight(
      check(operation, name),
      Effect.map(resolve(name), (at) => {
        const bytes = files.get(partial ? partialNameOf(at) : at)
        return bytes === undefined ? Option.none<number>() : Option.some(bytes.length)
      })
    )

  return {
    root: "/memória",
    files,
    temporaries: () => [...temps.keys()],
    used,
    text: (name) => {
      const bytes = files.get(name)
      return bytes === undefined ? undefined : decoder.decode(bytes)
    },
    list,
    openRead,
    createAtomic,
    checkWritable: (name) => Effect.zipRight(check("checkWritable", name), Effect.asVoid(writable(name))),
    openPartial,
    partialSize: (name) => sizeOf("partialSize", name, true),
    size: (name) => sizeOf("size", name, false),
    removePartial: (name) =>
      Effect.zipRight(
        check("removePartial", name),
        Effect.map(resolve(name), (at) => void files.delete(partialNameOf(at)))
      ),
    adoptAsPartial: (name) =>
      Effect.zipRight(
        check("adoptAsPartial", name),
        Effect.flatMap(resolve(name), (at) =>
          Effect.map(existing(name, at), (bytes) => {
            files.delete(at)
            files.set(partialNameOf(at), bytes)
          })
        )
      ),
    freeSpace: Effect.zipRight(
      check("freeSpace", "."),
      Effect.sync(() => Math.max(0, capacity - used()))
    ),
    sweepTemporaries: Effect.succeed(0),
    sweepIfAnyGone: Effect.succeed(0)
  }
}

/** The in-memory store as the `FileStore` layer. */
export const FileStoreMemory = (store: MemoryFileStore) => Layer.succeed(FileStore, store)

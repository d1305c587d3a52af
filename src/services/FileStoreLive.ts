import { randomBytes } from "node:crypto"
import { closeSync, constants } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Layer, Option } from "effect"
import { FileFailure } from "../domain/errors.ts"
import { isInside } from "../domain/jail.ts"
import { partialNameOf } from "../domain/names.ts"
import { type AtomicFile, FileStore, type FileStoreService, type PartialFile } from "./FileStore.ts"
import { attempt, attemptSync, failure, reasonOf } from "./files/failures.ts"
import { closeQuietly, openInside, readable } from "./files/reading.ts"
import { listFiles, sweepTemporaries, TEMP_PREFIX, TEMP_SUFFIX } from "./files/walking.ts"
import { appender } from "./files/writing.ts"

/** The live store: a folder on disk, with the path jail of `files/reading.ts` on every read. */
export const makeFileStore = (folder: string): Effect.Effect<FileStoreService, FileFailure> =>
  Effect.gen(function* () {
    const root = yield* attempt(folder, async () => {
      await fs.mkdir(folder, { recursive: true })
      return fs.realpath(folder)
    })

    /** Creates the folders of `name` inside the root; returns the real folder and the target path. */
    const prepareParent = async (name: string) => {
      const parts = name.split("/")
      const base = parts.pop()!
      let dir = root
      for (const part of parts) {
        const next = path.join(dir, part)
        await fs.mkdir(next).catch((error: { code?: string }) => {
          if (error.code !== "EEXIST") throw error
        })
        const real = await fs.realpath(next)
        if (!isInside(root, real)) throw failure(name, "OutsideRoot", "o caminho sai da pasta")
        if (!(await fs.stat(real)).isDirectory()) throw failure(name, "NotFound", `"${part}" não é uma pasta`)
        dir = real
      }
      const target = path.join(dir, base)
      const existing = await fs.lstat(target).catch(() => undefined)
      if (existing?.isDirectory()) throw failure(name, "IsDirectory", "já existe uma pasta com esse nome")
      return { dir, target }
    }

    const partialPaths = async (name: string) => {
      const { dir, target } = await prepareParent(name)
      return { target, partial: path.join(dir, path.basename(partialNameOf(name))) }
    }

    const closeHandle = (handle: fs.FileHandle) => Effect.promise(() => handle.close().catch(() => undefined))

    const openRead = (name: string) =>
      Effect.acquireRelease(
        attemptSync(name, () => openInside(root, name, name)),
        (file) => closeQuietly(file.fd)
      ).pipe(Effect.map((file) => readable(name, file)))

    const createAtomic = (name: string) =>
      Effect.gen(function* () {
        const { dir, target } = yield* attempt(name, () => prepareParent(name))
        const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}${TEMP_SUFFIX}`)
        let committed = false
        const handle = yield* Effect.acquireRelease(
          attempt(name, () =>
            fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644)
          ),
          (handle) =>
            closeHandle(handle).pipe(
              Effect.zipRight(committed ? Effect.void : Effect.promise(() => fs.rm(temp, { force: true })))
            )
        )
        const output = appender(name, handle, 0)
        const file: AtomicFile = {
          write: output.write,
          commit: Effect.zipRight(
            output.flush,
            attempt(name, async () => {
              await handle.datasync()
              await fs.rename(temp, target)
              committed = true
            })
          )
        }
        return file
      })

    const openPartial = (name: string, keep?: number) =>
      Effect.gen(function* () {
        const { target, partial } = yield* attempt(name, () => partialPaths(name))
        const handle = yield* Effect.acquireRelease(
          attempt(name, () =>
            // O_NONBLOCK: a FIFO planted under the partial name must not hang the open.
            fs.open(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644)
          ),
          closeHandle
        )
        const stats = yield* attempt(name, () => handle.stat())
        if (!stats.isFile()) return yield* failure(name, "NotRegularFile", "o arquivo parcial não é um arquivo comum")
        let size = stats.size
        if (keep !== undefined && keep < stats.size) {
          yield* attempt(name, () => handle.truncate(keep))
          size = keep
        }
        const output = appender(name, handle, size)
        // Whatever arrived is kept for resume, even when the download is interrupted.
        yield* Effect.addFinalizer(() => Effect.ignore(output.flush))
        const file: PartialFile = {
          size,
          write: output.write,
          complete: Effect.zipRight(
            output.flush,
            attempt(name, async () => {
              await handle.datasync()
              await fs.rename(partial, target)
            })
          )
        }
        return file
      })

    const sizeOf = (name: string, relative: string) =>
      attemptSync(name, () => {
        try {
          const file = openInside(root, name, relative)
          closeSync(file.fd)
          return Option.some(file.size)
        } catch (error) {
          if (reasonOf(error) === "NotFound" && !(error instanceof FileFailure)) return Option.none<number>()
          throw error
        }
      })

    return {
      root,
      list: attempt(root, () => listFiles(root)),
      openRead,
      createAtomic,
      openPartial,
      partialSize: (name) => sizeOf(name, partialNameOf(name)),
      size: (name) => sizeOf(name, name),
      removePartial: (name) =>
        attempt(name, async () => {
          const { partial } = await partialPaths(name)
          await fs.rm(partial, { force: true })
        }),
      freeSpace: attempt(root, async () => {
        const stats = await fs.statfs(root)
        return stats.bavail * stats.bsize
      }),
      adoptAsPartial: (name) =>
        attempt(name, async () => {
          const { target, partial } = await partialPaths(name)
          const stats = await fs.lstat(target)
          if (!stats.isFile()) throw failure(name, "NotRegularFile", "não é um arquivo comum")
          await fs.rename(target, partial)
        }),
      sweepTemporaries: attempt(root, () => sweepTemporaries(root))
    } satisfies FileStoreService
  })

/** The live store over a folder on disk (created when missing). */
export const FileStoreLive = (folder: string) => Layer.effect(FileStore, makeFileStore(folder))

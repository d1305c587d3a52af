import { closeSync, constants, linkSync, lstatSync, renameSync, rmSync, unlinkSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { FileFailure } from "../domain/errors.ts"
import { partialNameOf } from "../domain/names.ts"
import { type AtomicFile, EXISTS, FileStore, type FileStoreService, type PartialFile } from "./FileStore.ts"
import { attempt, attemptSync, failure, reasonOf } from "./files/failures.ts"
import { checkLengths, type Folder, openParent, refuseDirectory, removeCreated } from "./files/folders.ts"
import { makeInstance, sweepAbandoned, sweepIfAnyGone } from "./files/owners.ts"
import { closeQuietly, makeReadBuffers, openInside, type ReadBuffers, readable } from "./files/reading.ts"
import { listFiles } from "./files/walking.ts"
import { appender } from "./files/writing.ts"

export interface FileStoreOptions {
  /** The buffers reads go through; by default the store's own (`makeReadBuffers`). */
  readonly readBuffers?: ReadBuffers
}

/** The live store: a folder on disk, with the path jail of `files/reading.ts` on every read. */
export const makeFileStore = (
  folder: string,
  options: FileStoreOptions = {}
): Effect.Effect<FileStoreService, FileFailure> =>
  Effect.gen(function* () {
    const root = yield* attempt(folder, async () => {
      await fs.mkdir(folder, { recursive: true })
      return fs.realpath(folder)
    })

    const baseOf = (name: string) => path.basename(name)

    // Created with the store (when its layer is built), so its buffers live and die with it.
    const readBuffers = options.readBuffers ?? makeReadBuffers()

    // Names this store's temporaries and, while any is open, marks them as
    // live for other server processes sharing the folder (files/owners.ts).
    const owner = makeInstance(root)

    /** The parent folder of `name`, opened and verified, held for the scope. */
    const parentFor = (name: string, create: boolean) =>
      Effect.acquireRelease(
        attemptSync(name, () => {
          checkLengths(root, name)
          const parent = openParent(root, name, create)
          if (parent === undefined) throw failure(name, "NotFound", "a pasta não existe")
          refuseDirectory(parent, name, baseOf(name))
          return parent
        }),
        (parent) => closeQuietly(parent.fd)
      )

    const closeHandle = (handle: fs.FileHandle) => Effect.promise(() => handle.close().catch(() => undefined))

    /**
     * The moment a written file becomes visible: flush, sync, rename `from`
     * over `name` in its folder. Without `replace`, a hard link instead of the
     * rename: link(2) fails with EEXIST if the name exists, in the same step
     * that would publish it; the temporary name is then unlinked.
     */
    const publish = (
      name: string,
      output: ReturnType<typeof appender>,
      handle: fs.FileHandle,
      parent: Folder,
      from: string,
      replace: boolean
    ) =>
      Effect.zipRight(
        output.flush,
        attempt(name, async () => {
          await handle.datasync()
          if (replace) return renameSync(parent.at(from), parent.at(baseOf(name)))
          try {
            linkSync(parent.at(from), parent.at(baseOf(name)))
          } catch (error) {
            if ((error as { code?: string }).code === "EEXIST") throw failure(name, "PermissionDenied", EXISTS)
            throw error
          }
          unlinkSync(parent.at(from))
        })
      )

    const openRead = (name: string) =>
      attemptSync(name, () => readable(name, openInside(root, name, name), readBuffers))

    const createAtomic = (name: string, options?: { readonly replace: boolean }) =>
      Effect.gen(function* () {
        const parent = yield* parentFor(name, true)
        let temp = ""
        let committed = false
        // Released after the temporary is closed and removed or renamed (finalizers run in reverse).
        yield* Effect.acquireRelease(
          attemptSync(name, () => owner.hold()),
          (release) => Effect.sync(release)
        )
        const handle = yield* Effect.acquireRelease(
          attempt(name, async () => {
            // O_EXCL: a temporary is never shared, even if two names ever collided (then a new one is drawn).
            for (let tries = 1; ; tries++) {
              temp = owner.temporaryName()
              try {
                return await fs.open(
                  parent.at(temp),
                  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
                  0o644
                )
              } catch (error) {
                if ((error as { code?: string }).code !== "EEXIST" || tries >= 3) throw error
              }
            }
          }),
          (handle) =>
            closeHandle(handle).pipe(
              Effect.zipRight(
                committed
                  ? Effect.void
                  : Effect.sync(() => {
                      rmSync(parent.at(temp), { force: true })
                      removeCreated(parent.created)
                    })
              )
            )
        )
        const output = appender(name, handle, 0)
        const file: AtomicFile = {
          sink: output.sink,
          commit: Effect.tap(
            publish(name, output, handle, parent, temp, options?.replace ?? true),
            () => (committed = true)
          )
        }
        return file
      })

    const checkWritable = (name: string) =>
      attemptSync(name, () => {
        checkLengths(root, name)
        const parent = openParent(root, name, false)
        if (parent === undefined) return // its folders will be created
        try {
          refuseDirectory(parent, name, baseOf(name))
        } finally {
          closeSync(parent.fd)
        }
      })

    const openPartial = (name: string, keep?: number) =>
      Effect.gen(function* () {
        const parent = yield* parentFor(name, true)
        const partial = baseOf(partialNameOf(name))
        const handle = yield* Effect.acquireRelease(
          attempt(name, () =>
            // O_NONBLOCK: a FIFO planted under the partial name must not hang the open.
            fs.open(
              parent.at(partial),
              constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
              0o644
            )
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
          sink: output.sink,
          complete: publish(name, output, handle, parent, partial, true)
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
      checkWritable,
      removePartial: (name) =>
        Effect.scoped(
          Effect.flatMap(parentFor(name, false), (parent) =>
            attemptSync(name, () => rmSync(parent.at(baseOf(partialNameOf(name))), { force: true }))
          )
        ).pipe(
          Effect.catchIf(
            (error) => error.reason === "NotFound",
            () => Effect.void
          )
        ),
      freeSpace: attempt(root, async () => {
        const stats = await fs.statfs(root)
        return stats.bavail * stats.bsize
      }),
      adoptAsPartial: (name) =>
        Effect.scoped(
          Effect.flatMap(parentFor(name, false), (parent) =>
            attemptSync(name, () => {
              if (!lstatSync(parent.at(baseOf(name))).isFile()) {
                throw failure(name, "NotRegularFile", "não é um arquivo comum")
              }
              renameSync(parent.at(baseOf(name)), parent.at(baseOf(partialNameOf(name))))
            })
          )
        ),
      sweepTemporaries: attempt(root, () => sweepAbandoned(root, owner)),
      sweepIfAnyGone: attempt(root, () => sweepIfAnyGone(root, owner))
    } satisfies FileStoreService
  })

/** The live store over a folder on disk (created when missing). */
export const FileStoreLive = (folder: string) => Layer.effect(FileStore, makeFileStore(folder))

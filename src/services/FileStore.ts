import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { FileFailure } from "../domain/errors.ts"
import type { ByteSink } from "./ByteSink.ts"
import type { ByteSource } from "./ByteSource.ts"
import { acquireReleasePlain } from "./plainResources.ts"

/**
 * A folder that nothing escapes. Every name passes the name rules before it
 * gets here; the store resolves symlinks and keeps every read and write
 * inside its root, and only ever opens regular files.
 */

export interface StoredFile {
  readonly name: string
  readonly size: number
}

export interface ReadableFile {
  readonly name: string
  readonly size: number
  /**
   * The bytes in [from, from + length), in chunks; fails if the file ends
   * early. Chunks are reused buffers, lent to another transfer once the
   * stream ends: consume each one before pulling the next or ending the stream.
   */
  readonly chunks: (from: number, length: number) => Stream.Stream<Uint8Array, FileFailure>
  /**
   * The bytes from `from` onwards, read on demand into the store's one shared
   * buffer, which no transfer keeps between two callbacks (so there is
   * nothing to give back): what a transfer sends without a fiber step per
   * chunk. A read past the end fails with a FileFailure.
   */
  readonly source: (from: number) => Effect.Effect<ByteSource<FileFailure>>
  /**
   * The bytes in [from, from + length) in one fresh buffer, for small ranges;
   * after the bytes of `before` when given (a header that goes out in the
   * same write as them, without a second copy).
   */
  readonly read: (from: number, length: number, before?: Uint8Array) => Effect.Effect<Uint8Array, FileFailure>
  /** Closes the file; once, whatever happened (see `openRead`). */
  readonly close: () => void
}

/** A file being written under a hidden temporary name, visible only after `commit`. */
export interface AtomicFile {
  /** Takes the bytes in order; synchronous, so a receive can run in the socket's callbacks. */
  readonly sink: ByteSink<FileFailure>
  /** Flushes and renames over the final name. Closing the scope without it removes the temporary. */
  readonly commit: Effect.Effect<void, FileFailure>
}

/** A download in progress, kept under its partial name until `complete`. */
export interface PartialFile {
  /** Bytes the partial held when it was opened (after any truncation). */
  readonly size: number
  /** Takes the bytes in order after what the partial held; synchronous, as for AtomicFile. */
  readonly sink: ByteSink<FileFailure>
  /** Flushes, syncs and renames the partial over the final name. */
  readonly complete: Effect.Effect<void, FileFailure>
}

export interface FileStoreService {
  /** Absolute, symlink-free path of the folder. */
  readonly root: string
  /** Every regular file, recursively, hidden ones and invalid names left out, sorted by name. */
  readonly list: Effect.Effect<ReadonlyArray<StoredFile>, FileFailure>
  /**
   * Opens a regular file in the folder for reading. The caller closes it:
   * `usePlain(store.openRead(name), use, (file) => file.close())`
   * where nothing else needs a scope (a small download, the most frequent
   * request, then costs no scope), or `openScoped` inside one.
   */
  readonly openRead: (name: string) => Effect.Effect<ReadableFile, FileFailure>
  /**
   * With `replace: false`, the commit fails (PermissionDenied) instead of
   * replacing a file that exists under the name by then: the check and the
   * publishing are one step, so two uploads cannot both think they were first.
   */
  readonly createAtomic: (
    name: string,
    options?: { readonly replace: boolean }
  ) => Effect.Effect<AtomicFile, FileFailure, Scope.Scope>
  /** Whether `name` could be stored (inside the folder, not a folder itself), creating nothing. */
  readonly checkWritable: (name: string) => Effect.Effect<void, FileFailure>
  /** Opens (or creates) the partial of `name`, cut to `keep` bytes when given. */
  readonly openPartial: (name: string, keep?: number) => Effect.Effect<PartialFile, FileFailure, Scope.Scope>
  /** Size of the partial of `name`, if there is one. */
  readonly partialSize: (name: string) => Effect.Effect<Option.Option<number>, FileFailure>
  /** Size of `name` itself, if it is a regular file in the folder. */
  readonly size: (name: string) => Effect.Effect<Option.Option<number>, FileFailure>
  readonly removePartial: (name: string) => Effect.Effect<void, FileFailure>
  /** Renames `name` to its partial name, so a finished file can be continued. */
  readonly adoptAsPartial: (name: string) => Effect.Effect<void, FileFailure>
  /** Bytes an unprivileged writer can still store in the folder's file system. */
  readonly freeSpace: Effect.Effect<number, FileFailure>
  /**
   * Removes the temporaries whose writer is gone (a run that was killed, here
   * or on another machine sharing the folder), never one a live process is
   * writing (see files/owners.ts); returns how many.
   */
  readonly sweepTemporaries: Effect.Effect<number, FileFailure>
  /**
   * The cheap form of `sweepTemporaries` that a running server repeats: it
   * walks the folder only when another writer sharing it is known gone (a
   * crash here or elsewhere), and otherwise touches nothing; returns how many
   * temporaries it removed.
   */
  readonly sweepIfAnyGone: Effect.Effect<number, FileFailure>
}

/** Why an upload that may not replace a file was refused. */
export const EXISTS = "já existe, e o servidor não sobrescreve arquivos"

export class FileStore extends Context.Tag("FileStore")<FileStore, FileStoreService>() {}

/** `store.openRead(name)` for the rest of the scope: the file is closed when the scope closes. */
export const openScoped = (
  store: FileStoreService,
  name: string
): Effect.Effect<ReadableFile, FileFailure, Scope.Scope> =>
  acquireReleasePlain(store.openRead(name), (file) => Effect.sync(() => file.close()))

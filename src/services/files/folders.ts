import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readlinkSync, rmdirSync } from "node:fs"
import * as path from "node:path"
import { isInside } from "../../domain/jail.ts"
import { failure } from "./failures.ts"

/**
 * Folders by descriptor. A path checked and then used again by name can be
 * swapped by a local process in between (a folder replaced by a link out).
 * So the folder that will hold a file is opened, the kernel is asked which
 * folder it really is (/proc/self/fd), and from then on names are resolved
 * relative to that descriptor (`/proc/self/fd/N/name`): what was checked is
 * what is used. Without /proc, plain paths are used after the same checks.
 */

const PROC = existsSync("/proc/self/fd")

/** Longest component and longest path Linux accepts (NAME_MAX, PATH_MAX). */
const NAME_MAX = 255
const PATH_MAX = 4095

export interface Folder {
  /** Descriptor of the folder, verified to be inside the root. */
  readonly fd: number
  /** Its real path, for messages and for systems without /proc. */
  readonly real: string
  /** A name inside this folder, resolved through the descriptor. */
  readonly at: (base: string) => string
  /** Folders created on the way, innermost last (to undo on failure). */
  readonly created: ReadonlyArray<string>
}

/** Whether there is an entry by that name at all (a dangling or looping link counts). */
const entryExists = (where: string): boolean => {
  try {
    lstatSync(where)
    return true
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return false
    throw error
  }
}

const realOf = (fd: number, fallback: string): string => {
  if (!PROC) return fallback
  return readlinkSync(`/proc/self/fd/${fd}`)
}

const openFolder = (root: string, name: string, where: string, fallback: string): { fd: number; real: string } => {
  const fd = openSync(where, constants.O_RDONLY | constants.O_DIRECTORY)
  const real = realOf(fd, fallback)
  if (!isInside(root, real)) {
    closeSync(fd)
    throw failure(name, "OutsideRoot", "o caminho sai da pasta")
  }
  return { fd, real }
}

const folder = (fd: number, real: string, created: ReadonlyArray<string>): Folder => ({
  fd,
  real,
  at: (base) => (PROC ? `/proc/self/fd/${fd}/${base}` : path.join(real, base)),
  created
})

/** Refuses names the file system cannot hold, before anything is created. */
export const checkLengths = (root: string, name: string): void => {
  if (name.split("/").some((part) => Buffer.byteLength(part) > NAME_MAX)) {
    throw failure(name, "Io", `uma parte do nome passa de ${NAME_MAX} bytes`)
  }
  if (Buffer.byteLength(path.join(root, name)) + 32 > PATH_MAX) {
    throw failure(name, "Io", "o caminho fica longo demais para o sistema de arquivos")
  }
}

/**
 * Opens the folder that holds `name` (its parent inside the root). With
 * `create`, missing folders are made; without it, a missing folder gives
 * `undefined` (nothing exists there yet). Every folder on the way must be a
 * folder inside the root, links included.
 */
export const openParent = (root: string, name: string, create: boolean): Folder | undefined => {
  const parts = name.split("/").slice(0, -1)
  let current = openFolder(root, name, root, root)
  const created: Array<string> = []
  try {
    for (const part of parts) {
      const where = folder(current.fd, current.real, created).at(part)
      if (create) {
        try {
          mkdirSync(where)
          created.push(path.join(current.real, part))
        } catch (error) {
          if ((error as { code?: string }).code !== "EEXIST") throw error
        }
      } else if (!entryExists(where)) {
        closeSync(current.fd)
        return undefined
      }
      let next: { fd: number; real: string }
      try {
        next = openFolder(root, name, where, path.join(current.real, part))
      } catch (error) {
        if ((error as { code?: string }).code === "ENOTDIR")
          throw failure(name, "NotFound", `"${part}" não é uma pasta`)
        throw error
      }
      closeSync(current.fd)
      current = next
    }
    return folder(current.fd, current.real, created)
  } catch (error) {
    closeSync(current.fd)
    removeCreated(created)
    throw error
  }
}

/** Fails when `base` in the folder is an existing directory (it cannot be replaced by a file). */
export const refuseDirectory = (parent: Folder, name: string, base: string): void => {
  try {
    if (lstatSync(parent.at(base)).isDirectory())
      throw failure(name, "IsDirectory", "já existe uma pasta com esse nome")
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error
  }
}

/** Removes folders made for an upload that did not complete, if they are still empty. */
export const removeCreated = (created: ReadonlyArray<string>): void => {
  for (const dir of [...created].reverse()) {
    try {
      rmdirSync(dir)
    } catch {
      return // not empty (someone else stored there) or already gone
    }
  }
}

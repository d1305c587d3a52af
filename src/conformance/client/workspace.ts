import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"

/**
 * The folders of one scenario: a fresh root holding only the client's
 * folder (`{pasta}`), so that anything the client writes next to it (a
 * `../` name obeyed) shows up in the root.
 */

export interface Workspace {
  readonly root: string
  /** `{pasta}`. */
  readonly folder: string
}

export const makeWorkspace = (): Workspace => {
  const root = mkdtempSync(path.join(tmpdir(), "conformidade-cliente-"))
  const folder = path.join(root, "pasta")
  mkdirSync(folder)
  return { root, folder }
}

export const removeWorkspace = (workspace: Workspace) => {
  rmSync(workspace.root, { recursive: true, force: true })
}

/** Writes a file under `{pasta}` (creating its folders). */
export const plant = (workspace: Workspace, name: string, bytes: Uint8Array) => {
  const target = path.join(workspace.folder, ...name.split("/"))
  mkdirSync(path.dirname(target), { recursive: true })
  writeFileSync(target, bytes)
}

/** Every regular file under `dir`, by path relative to it with `/`, with its bytes. */
export const filesUnder = (dir: string): Map<string, Uint8Array> => {
  const found = new Map<string, Uint8Array>()
  const visit = (relative: string) => {
    let entries: Array<string> = []
    try {
      entries = readdirSync(path.join(dir, relative))
    } catch {
      return
    }
    for (const entry of entries) {
      const child = relative === "" ? entry : `${relative}/${entry}`
      const full = path.join(dir, child)
      let isDirectory = false
      try {
        isDirectory = statSync(full).isDirectory()
      } catch {
        continue
      }
      if (isDirectory) visit(child)
      else {
        try {
          found.set(child, new Uint8Array(readFileSync(full)))
        } catch {
          found.set(child, new Uint8Array(0))
        }
      }
    }
  }
  visit("")
  return found
}

/** What the client left outside `{pasta}`: anything else in the root, and the watched absolute paths. */
export const outside = (workspace: Workspace, absoluteTargets: ReadonlyArray<string>): ReadonlyArray<string> => {
  const stray = [...filesUnder(workspace.root).keys()]
    .filter((name) => !name.startsWith("pasta/"))
    .map((name) => path.join(workspace.root, name))
  for (const target of absoluteTargets) {
    try {
      statSync(target)
      if (!stray.includes(target)) stray.push(target)
    } catch {
      // not created: good
    }
  }
  return stray
}

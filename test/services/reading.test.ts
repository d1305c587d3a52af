import { afterAll, beforeEach, describe, expect, mock, test } from "bun:test"
import * as realFs from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { FileFailure } from "../../src/domain/errors.ts"
import { isInside } from "../../src/domain/jail.ts"

/**
 * The jail of `openInside` (src/services/files/reading.ts) at the unit
 * level, below the store and the server: the path is resolved and must stay
 * inside before anything is opened, and the file the kernel opened is
 * checked again, for a folder of the path swapped for a link between the
 * two. The swap is made deterministic by standing in for `realpathSync`: it
 * answers what it would have answered before the swap. `node:fs` is replaced
 * by a pass-through that also records every path opened; the stand-in acts
 * only inside these tests, and the real module is put back after them.
 */

const real = { ...realFs }
/** Set by a test: what `realpathSync` answers instead, and where opened paths go. */
const hook: { realpath?: ((full: string) => string) | undefined; opened?: Array<string> | undefined } = {}

mock.module("node:fs", () => ({
  ...real,
  realpathSync: Object.assign(
    (full: realFs.PathLike, options?: unknown) =>
      hook.realpath ? hook.realpath(String(full)) : real.realpathSync(full, options as never),
    { native: real.realpathSync.native }
  ),
  openSync: (full: realFs.PathLike, flags?: realFs.OpenMode, mode?: realFs.Mode) => {
    hook.opened?.push(String(full))
    return real.openSync(full, flags ?? "r", mode)
  }
}))
const { openInside } = await import("../../src/services/files/reading.ts")

afterAll(() => {
  mock.module("node:fs", () => real)
})

const base = real.realpathSync(real.mkdtempSync(path.join(tmpdir(), "reading-jail-")))
const root = path.join(base, "servidor")
const outside = path.join(base, "fora")

beforeEach(() => {
  hook.realpath = undefined
  hook.opened = undefined
  real.rmSync(root, { recursive: true, force: true })
  real.rmSync(outside, { recursive: true, force: true })
  real.mkdirSync(path.join(root, "sub"), { recursive: true })
  real.mkdirSync(outside)
  real.writeFileSync(path.join(outside, "segredo.txt"), "fora")
  real.writeFileSync(path.join(root, "sub", "dentro.txt"), "dentro")
})

afterAll(() => real.rmSync(base, { recursive: true, force: true }))

/** The FileFailure `openInside` throws for `relative`, or the file it opened (closed at once). */
const attempt = (relative: string) => {
  try {
    const opened = openInside(root, relative, relative)
    real.closeSync(opened.fd)
    return opened
  } catch (error) {
    if (error instanceof FileFailure) return error
    throw error
  }
}

describe("openInside", () => {
  test("a file inside, through a folder: opened", () => {
    expect(attempt("sub/dentro.txt")).toMatchObject({ size: "dentro".length })
  })

  test("a link in a folder pointing outside: OutsideRoot, and nothing outside is ever opened", () => {
    real.symlinkSync(path.join(outside, "segredo.txt"), path.join(root, "sub", "atalho.txt"))
    hook.opened = []
    expect(attempt("sub/atalho.txt")).toMatchObject({ _tag: "FileFailure", reason: "OutsideRoot" })
    // Refused on the resolved path, before any open: an open alone may act (a device, a FIFO).
    expect(hook.opened.filter((opened) => !isInside(root, opened))).toEqual([])
  })

  test("a folder swapped for a link to the outside after the path was resolved: the opened file is checked, OutsideRoot", () => {
    // `sub` becomes a link to the outside folder, and the path resolves as it did while `sub` was a folder.
    real.renameSync(path.join(root, "sub"), path.join(base, "sub-antes"))
    real.symlinkSync(outside, path.join(root, "sub"))
    hook.realpath = () => path.join(root, "sub", "segredo.txt")
    hook.opened = []
    expect(attempt("sub/segredo.txt")).toMatchObject({ _tag: "FileFailure", reason: "OutsideRoot" })
    // It did open that path (the open follows a folder link): only the check after it refused the file.
    expect(hook.opened).toEqual([path.join(root, "sub", "segredo.txt")])
    real.rmSync(path.join(base, "sub-antes"), { recursive: true, force: true })
  })
})

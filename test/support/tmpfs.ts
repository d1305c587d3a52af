import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"

/**
 * Small tmpfs mounts for the full-disk and read-only tests. Mounting needs
 * root (CI runs as root); where it is not possible, `tmpfsUnavailable` says
 * why, and the tests that need it are skipped with that reason printed.
 */

const mount = (...args: Array<string>) => spawnSync("mount", args, { encoding: "utf8" })

const probe = (): string | undefined => {
  if (process.platform !== "linux") return "tmpfs só existe no Linux"
  if (process.getuid?.() !== 0) return "montar um tmpfs exige root"
  const dir = mkdtempSync(path.join(tmpdir(), "arquivos-tmpfs-sonda-"))
  try {
    const result = mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", dir)
    if (result.status !== 0) return `mount falhou: ${(result.stderr || result.error?.message || "").trim()}`
    spawnSync("umount", [dir])
    return undefined
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Why tmpfs mounts cannot be made here, or undefined when they can. */
export const tmpfsUnavailable = probe()

export interface Tmpfs {
  readonly dir: string
  /** Remounts with another size (bytes). */
  readonly resize: (bytes: number) => void
  /** Remounts read-only (root ignores permission bits, not this). */
  readonly readOnly: () => void
  readonly unmount: () => void
}

const check = (result: ReturnType<typeof mount>, what: string) => {
  if (result.status !== 0) throw new Error(`${what}: ${result.stderr}`)
}

/** Mounts a tmpfs of `bytes` at a new folder `parent/label`. */
export const mountTmpfs = (parent: string, label: string, bytes: number): Tmpfs => {
  const dir = path.join(parent, label)
  mkdirSync(dir, { recursive: true })
  check(mount("-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir), "mount")
  return {
    dir,
    resize: (size) => check(mount("-o", `remount,size=${size}`, dir), "remount size"),
    readOnly: () => check(mount("-o", "remount,ro", dir), "remount ro"),
    unmount: () => {
      spawnSync("umount", ["-l", dir])
    }
  }
}

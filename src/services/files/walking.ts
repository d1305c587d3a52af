import * as fs from "node:fs/promises"
import * as path from "node:path"
import { byName } from "../../domain/listing.ts"
import { isValidName } from "../../domain/names.ts"
import type { StoredFile } from "../FileStore.ts"

/**
 * Every regular file under `root`, recursively, with `/`-separated names:
 * hidden entries, temporaries, names the rules refuse and symlinks left out;
 * sorted by name in code point order.
 */
export const listFiles = async (root: string): Promise<Array<StoredFile>> => {
  const found: Array<StoredFile> = []
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true })
    await Promise.all(
      entries.map(async (entry) => {
        const name = prefix + entry.name
        if (!isValidName(name)) return
        const full = path.join(dir, entry.name)
        if (entry.isDirectory()) return walk(full, name + "/")
        if (!entry.isFile()) return
        const stats = await fs.lstat(full).catch(() => undefined)
        if (stats?.isFile()) found.push({ name, size: stats.size })
      })
    )
  }
  await walk(root, "")
  return found.sort((a, b) => byName({ nome: a.name }, { nome: b.name }))
}

import { chmod, link, mkdir, mkdtemp, open, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { type BenchConfig, MiB, spaceNeeded } from "./config.ts"
import { formatSize } from "./format.ts"
import { FILES } from "./scenarios/common.ts"
import { freeBytes, sleep } from "./system.ts"

/**
 * The benchmark's folders and test files: in /dev/shm (tmpfs, so the big
 * files are always in memory) when it has room, else in the system's
 * temporary folder on disk. Everything is removed at the end.
 */
export interface Workspace {
  readonly base: string
  readonly serverDir: string
  readonly clientDir: string
  readonly tmp: string
  readonly inMemory: boolean
}

export const makeWorkspace = async (config: BenchConfig): Promise<Workspace> => {
  const needed = spaceNeeded(config)
  const candidates = [
    { root: "/dev/shm", inMemory: true },
    { root: tmpdir(), inMemory: false }
  ]
  for (const { root, inMemory } of candidates) {
    const free = await freeBytes(root).catch(() => 0)
    if (free < needed) {
      console.log(`${root}: ${formatSize(free)} livres, precisa de ${formatSize(needed)}; tentando o próximo.`)
      continue
    }
    const base = await mkdtemp(path.join(root, "bench-arquivos-"))
    const workspace = {
      base,
      serverDir: path.join(base, "servidor"),
      clientDir: path.join(base, "cliente"),
      tmp: path.join(base, "tmp"),
      inMemory
    }
    // Readable by everyone: nginx's worker does not run as root.
    await chmod(base, 0o755)
    for (const folder of [workspace.serverDir, workspace.clientDir, workspace.tmp]) await mkdir(folder, { mode: 0o755 })
    console.log(`Pasta de trabalho: ${base} (${formatSize(free)} livres${inMemory ? ", tmpfs" : ", disco"})`)
    return workspace
  }
  throw new Error(`sem espaço: são precisos ${formatSize(needed)} livres em /dev/shm ou em ${tmpdir()}`)
}

/** Writes a file of `size` bytes by repeating one random block. */
const writeFile = async (file: string, size: number, block: Uint8Array) => {
  const handle = await open(file, "w")
  try {
    for (let offset = 0; offset < size; offset += block.length) {
      await handle.write(block, 0, Math.min(block.length, size - offset))
    }
  } finally {
    await handle.close()
  }
}

/** Reads a file once, so that it is in the page cache before it is served. */
const readOnce = async (file: string) => {
  for await (const _ of Bun.file(file).stream()) {
    // nothing: reading is the point
  }
}

/** Random bytes (getRandomValues gives at most 64 KiB a call). */
const randomBytes = (size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  for (let offset = 0; offset < size; offset += 65_536) crypto.getRandomValues(bytes.subarray(offset, offset + 65_536))
  return bytes
}

export const createFiles = async (workspace: Workspace, config: BenchConfig): Promise<void> => {
  const block = randomBytes(MiB)
  const big = path.join(workspace.serverDir, FILES.big)
  await writeFile(big, config.bigBytes, block)
  await writeFile(path.join(workspace.serverDir, FILES.medium), config.fanoutBytes, block)
  await writeFile(path.join(workspace.serverDir, FILES.small), config.smallBytes, randomBytes(config.smallBytes))
  for (let i = 1; i <= config.manyFiles; i++) {
    await Bun.write(path.join(workspace.serverDir, FILES.many(i)), randomBytes(config.manyBytes))
  }
  // The upload's source is the same big file; a hard link costs no space on the same file system.
  await link(big, path.join(workspace.clientDir, FILES.upload))
  if (!workspace.inMemory) {
    await readOnce(big)
    await readOnce(path.join(workspace.serverDir, FILES.medium))
  }
}

/** Removes every file of the run (retrying: a measurement cut short may still be writing). */
export const removeWorkspace = async (workspace: Workspace): Promise<void> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await rm(workspace.base, { recursive: true, force: true, maxRetries: 3 })
    } catch (error) {
      if (attempt >= 5) throw error
      await sleep(300)
    }
  }
}

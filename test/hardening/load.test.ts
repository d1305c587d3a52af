import { describe, expect, setDefaultTimeout, test } from "bun:test"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Exit } from "effect"
import { download } from "../../src/programs/client/download.ts"
import { downloadMany } from "../../src/programs/client/downloadMany.ts"
import { list } from "../../src/programs/client/list.ts"
import { resume } from "../../src/programs/client/resume.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { seededBytes } from "../support/hostile.ts"
import { eventually } from "../support/waiting.ts"
import { md5Hex, openFdCount, settledRss, temporaries, waitFor, withJail } from "./support.ts"

/**
 * Load: 300 clients at once, each running one real client program
 * (download, list, upload, resume, download-many) from its own folder, with
 * every transferred file's MD5 checked; then the process's descriptors and
 * memory go back near where they were. `assertIntact` runs at the end.
 */

setDefaultTimeout(60_000)

const CLIENTS = 300
const KIB = 1024

describe("300 concurrent clients", () => {
  test("mixed operations, every file's MD5 verified, descriptors and memory back near the baseline", () =>
    withJail(
      async (jail) => {
        const files = Array.from({ length: 20 }, (_, i) => seededBytes(16 * KIB + i * 15 * KIB + i, 1000 + i))
        const nameOf = (i: number) => `f${String(i).padStart(2, "0")}.bin`
        for (const [i, content] of files.entries()) await jail.put(nameOf(i), content)
        const batches = Array.from({ length: 10 }, (_, b) =>
          Array.from({ length: 3 }, (_, j) => ({
            name: `lote${b}/${j}.dat`,
            content: seededBytes(8 * KIB + j * 100, 2000 + b * 10 + j)
          }))
        )
        for (const file of batches.flat()) await jail.put(file.name, file.content)

        // Warm up once, so the baseline includes what the first run loads for good.
        expect(Exit.isSuccess(await jail.client(download(nameOf(0))))).toBe(true)
        await fs.rm(path.join(jail.clientDir, nameOf(0)))
        const fdsBefore = await openFdCount()
        const rssBefore = await settledRss()

        const folders = Array.from({ length: CLIENTS }, (_, i) => path.join(jail.clientDir, `w${i}`))
        for (const folder of folders) await fs.mkdir(folder)
        const runners = await Promise.all(folders.map((folder) => jail.clientIn(folder, 30)))
        const local = (i: number, name: string) => path.join(folders[i]!, name)
        const uploads = new Map<number, Uint8Array>()

        // Prepare what uploads and resumes need before anyone starts.
        for (let i = 0; i < CLIENTS; i++) {
          if (i % 5 === 2) {
            const content = seededBytes(64 * KIB + i, 3000 + i)
            uploads.set(i, content)
            await fs.writeFile(local(i, `up-${i}.bin`), content)
          } else if (i % 5 === 3) {
            const source = files[i % 20]!
            await fs.writeFile(local(i, `${nameOf(i % 20)}.parcial`), source.subarray(0, (i * 7919) % source.length))
          }
        }

        const outcomes = await Promise.all(
          Array.from({ length: CLIENTS }, async (_, i) => {
            const run = runners[i]!
            switch (i % 5) {
              case 0: {
                const exit = await run(download(nameOf(i % 20)))
                expect(Exit.isSuccess(exit)).toBe(true)
                expect(md5Hex(await fs.readFile(local(i, nameOf(i % 20))))).toBe(md5Hex(files[i % 20]!))
                return "download"
              }
              case 1: {
                const exit = await run(list)
                expect(Exit.isSuccess(exit)).toBe(true)
                if (Exit.isSuccess(exit)) {
                  const sizes = new Map(exit.value.entries.map((entry) => [entry.nome, entry.tamanho]))
                  for (const [k, content] of files.entries()) expect(sizes.get(nameOf(k))).toBe(String(content.length))
                }
                return "list"
              }
              case 2: {
                const exit = await run(upload(`up-${i}.bin`))
                expect(Exit.isSuccess(exit)).toBe(true)
                expect(md5Hex(await fs.readFile(path.join(jail.root, `up-${i}.bin`)))).toBe(md5Hex(uploads.get(i)!))
                return "upload"
              }
              case 3: {
                const exit = await run(resume(nameOf(i % 20)))
                expect(Exit.isSuccess(exit)).toBe(true)
                expect(md5Hex(await fs.readFile(local(i, nameOf(i % 20))))).toBe(md5Hex(files[i % 20]!))
                return "resume"
              }
              default: {
                const batch = batches[i % 10]!
                const exit = await run(downloadMany(`lote${i % 10}/*`))
                expect(Exit.isSuccess(exit)).toBe(true)
                if (Exit.isSuccess(exit))
                  expect(exit.value.results.map((result) => result._tag)).toEqual(["Saved", "Saved", "Saved"])
                for (const file of batch)
                  expect(md5Hex(await fs.readFile(local(i, file.name)))).toBe(md5Hex(file.content))
                return "download-many"
              }
            }
          })
        )
        expect(outcomes.length).toBe(CLIENTS)
        expect(await temporaries(jail.root)).toEqual([])
        for (const folder of folders) await fs.rm(folder, { recursive: true, force: true })

        // Descriptors: every socket and file closed again (slack for the runtime's own).
        expect(await waitFor(async () => (await openFdCount()) <= fdsBefore + 16, 10_000)).toBe(true)
        // Memory: back near the baseline once garbage is collected (generous slack: RSS rarely shrinks fully).
        let rssAfter = 0
        await eventually(async () => (rssAfter = await settledRss()) - rssBefore < 192 * 1024 * 1024, {
          millis: 4_000,
          every: 200
        })
        console.info(
          `load: ${CLIENTS} clients; fds ${fdsBefore} → ${await openFdCount()}; RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB`
        )
        expect(rssAfter - rssBefore).toBeLessThan(192 * 1024 * 1024)
      },
      { timeoutSeconds: 30, settings: { maxClients: 1000 } }
    ))
})

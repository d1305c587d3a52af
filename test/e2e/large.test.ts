import { describe, expect, test } from "bun:test"
import { readFile, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { Exit } from "effect"
import { download } from "../../src/programs/client/download.ts"
import { resume } from "../../src/programs/client/resume.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { be32, bytesOf, hexOf, named, openRaw, seededBytes, tree, waitFor, withServer } from "../support/hostile.ts"
import { md5Hex } from "../support/md5.ts"

/**
 * Large transfers (8 MiB, well past every socket buffer and the transport's
 * high-water mark, so the drain and backpressure paths run) and transfers
 * cut short on either side.
 */

const SIZE = 8 * 1024 * 1024
const big = seededBytes(SIZE, 0xc0ffee)
const md5Of = async (file: string) => md5Hex(new Uint8Array(await readFile(file)))

test("the fixture is pseudo-random, not zeros", () => {
  expect(big.length).toBe(SIZE)
  expect(new Set(big.subarray(0, 4096)).size).toBeGreaterThan(200)
})

describe("8 MiB transfers", () => {
  test("download: the client's copy has the server file's MD5", () =>
    withServer(async (server) => {
      await writeFile(path.join(server.serverDir, "big.bin"), big)
      expect(await server.client(download("big.bin"))).toEqual(Exit.succeed({ name: "big.bin", size: SIZE }))
      expect(await md5Of(path.join(server.clientDir, "big.bin"))).toBe(md5Hex(big))
      expect(await tree(server.clientDir)).toEqual(["big.bin"])
    }))

  test("upload: the server's copy has the client file's MD5, and no temporary is left", () =>
    withServer(async (server) => {
      await writeFile(path.join(server.clientDir, "big.bin"), big)
      expect(await server.client(upload("big.bin"))).toEqual(Exit.succeed({ name: "big.bin", size: SIZE }))
      expect(await md5Of(path.join(server.serverDir, "big.bin"))).toBe(md5Hex(big))
      expect(await tree(server.serverDir)).toEqual(["big.bin"])
    }))
})

describe("interrupted transfers", () => {
  test("a download dropped by the client mid-body leaves the server serving and its file intact", () =>
    withServer(async (server) => {
      await writeFile(path.join(server.serverDir, "big.bin"), big)
      const raw = await openRaw(server.port)
      try {
        await raw.write(bytesOf(10, named("big.bin")))
        expect(hexOf(await raw.read(5))).toBe(hexOf(bytesOf(0, be32(SIZE))))
        // Read only the first 64 KiB of the body, then drop the connection.
        expect(await raw.read(64 * 1024)).toEqual(big.subarray(0, 64 * 1024))
      } finally {
        raw.destroy()
      }
      // The dropped operation still gets its log line...
      expect(await waitFor(() => server.logs.some((line) => line.includes(" baixar big.bin ")))).toBe(true)
      // ...and the server goes on serving the same file, unchanged.
      expect(await server.client(download("big.bin"))).toEqual(Exit.succeed({ name: "big.bin", size: SIZE }))
      expect(await md5Of(path.join(server.clientDir, "big.bin"))).toBe(md5Hex(big))
      expect(await md5Of(path.join(server.serverDir, "big.bin"))).toBe(md5Hex(big))
    }))

  test("resume completes a client-side partial: final file equals the server file, partial gone", () =>
    withServer(async (server) => {
      await writeFile(path.join(server.serverDir, "big.bin"), big)
      const held = 3 * 1024 * 1024 + 17
      await writeFile(path.join(server.clientDir, "big.bin.parcial"), big.subarray(0, held))
      expect(await server.client(resume("big.bin"))).toEqual(
        Exit.succeed({ name: "big.bin", from: held, size: SIZE, alreadyComplete: false })
      )
      expect(await md5Of(path.join(server.clientDir, "big.bin"))).toBe(md5Hex(big))
      expect(await tree(server.clientDir)).toEqual(["big.bin"])
    }))

  /** Two uploads dropped mid-body: one over an existing file, one under a new name. */
  const dropUploads = async (port: number) => {
    for (const name of ["old.bin", "new.bin"]) {
      const raw = await openRaw(port)
      try {
        await raw.write(bytesOf(30, named(name)))
        expect(hexOf(await raw.read(1))).toBe("00") // accepted
        // Announce 1 MiB, send only 100 KiB, then drop the connection.
        await raw.write(bytesOf(be32(1024 * 1024), seededBytes(100 * 1024, 5)))
      } finally {
        raw.destroy()
      }
    }
  }
  // A client that drops the connection mid-body is logged as a cancel.
  const failedUpload = (logs: ReadonlyArray<string>, name: string) =>
    logs.some((line) => line.includes(` enviar ${name} cancelado: o cliente fechou a conexão no meio da operação`))
  const visible = (entries: ReadonlyArray<string>) =>
    entries.filter((entry) => !entry.split("/").some((part) => part.startsWith(".")))

  test("an upload dropped mid-body creates no file and leaves the older file intact", () =>
    withServer(async (server) => {
      const older = seededBytes(4096, 99)
      await writeFile(path.join(server.serverDir, "old.bin"), older)
      await dropUploads(server.port)
      expect(await waitFor(() => failedUpload(server.logs, "old.bin") && failedUpload(server.logs, "new.bin"))).toBe(
        true
      )
      expect(visible(await tree(server.serverDir))).toEqual(["old.bin"])
      expect(new Uint8Array(await readFile(path.join(server.serverDir, "old.bin")))).toEqual(older)
    }))

  // Regression: with the server's Scope leaking into every connection, a dropped
  // upload's hidden `.envio-*.tmp` stayed on disk until shutdown.
  test("an upload dropped mid-body leaves no .envio-* temporary behind", () =>
    withServer(async (server) => {
      await writeFile(path.join(server.serverDir, "old.bin"), seededBytes(4096, 99))
      await dropUploads(server.port)
      expect(await waitFor(() => failedUpload(server.logs, "old.bin") && failedUpload(server.logs, "new.bin"))).toBe(
        true
      )
      // The temporaries go when each connection's scope closes, just after its log line.
      await waitFor(async () => JSON.stringify(await tree(server.serverDir)) === JSON.stringify(["old.bin"]))
      expect(await tree(server.serverDir)).toEqual(["old.bin"])
    }))
})

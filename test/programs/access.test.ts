import { afterEach, describe, expect, test } from "bun:test"
import { readdir, readFile, writeFile } from "node:fs/promises"
import * as net from "node:net"
import { networkInterfaces } from "node:os"
import * as path from "node:path"
import { Effect, Either, Exit } from "effect"
import type { Cidr } from "../../src/domain/cidr.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { makeAccess } from "../../src/programs/server/access.ts"
import { parseServerArgs } from "../../src/programs/server/args.ts"
import { EXISTS } from "../../src/services/FileStore.ts"
import { makeFileStore } from "../../src/services/FileStoreLive.ts"
import { runExit } from "../support/effect.ts"
import { startServer, type TestServer, tempDir } from "../support/harness.ts"
import { rawExchange } from "../support/rawExchange.ts"

/**
 * Who may connect and write: --permitir (client networks, matched by
 * node:net's BlockList) and --sem-sobrescrever, against a real server on
 * loopback. Clients from other networks are played by sockets bound to
 * other loopback addresses (127.0.0.2, 127.0.0.3).
 */

const servers: Array<TestServer> = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

const subnets = (text: string): ReadonlyArray<Cidr> => {
  const parsed = parseServerArgs(["--permitir", text])
  if (Either.isLeft(parsed) || parsed.right._tag !== "Run") throw new Error(`not parsed: ${text}`)
  return parsed.right.args.allow!
}

/** op 20 from a socket bound to `from`: every byte until the server closes, and how long that took. */
const listFrom = async (port: number, from: string, host = "127.0.0.1") => {
  const { reply, timedOut, error, millis } = await rawExchange(port, Uint8Array.of(20), { host, localAddress: from })
  if (timedOut) throw new Error("no answer in time")
  if (error !== undefined) throw new Error(error)
  return { bytes: Buffer.from(reply), millis }
}

describe("makeAccess (BlockList)", () => {
  test("no list lets every address in", () => {
    const allowed = makeAccess(undefined)
    for (const address of ["127.0.0.1", "10.0.0.1", "::1", "fe80::1"]) expect(allowed(address)).toBe(true)
  })

  test.each([
    ["127.0.0.2", "127.0.0.2", true],
    ["127.0.0.2", "127.0.0.1", false],
    ["127.0.0.2", "127.0.0.3", false],
    ["192.168.10.0/24", "192.168.10.0", true],
    ["192.168.10.0/24", "192.168.10.255", true],
    ["192.168.10.0/24", "192.168.11.1", false],
    ["10.0.0.0/8,::1", "10.200.3.4", true],
    ["10.0.0.0/8,::1", "::1", true],
    ["10.0.0.0/8,::1", "::2", false],
    ["10.0.0.0/8,::1", "11.0.0.1", false],
    ["fd00::/8", "fd12:3456::1", true],
    ["fd00::/8", "fe80::1", false],
    ["0.0.0.0/0", "203.0.113.9", true],
    ["0.0.0.0/0", "::1", false],
    ["127.0.0.0/8", "::ffff:127.0.0.9", true],
    ["127.0.0.0/8", "não é ip", false]
  ] as const)("--permitir %s: %s → %p", (list, address, expected) => {
    expect(makeAccess(subnets(list))(address)).toBe(expected)
  })
})

describe("--permitir on a real server", () => {
  test("a client inside the list is served; one outside gets status 1 at once, is closed, and is logged", async () => {
    const server = await startServer({ settings: { allow: subnets("127.0.0.2/32,127.0.0.3") } })
    servers.push(server)
    await writeFile(path.join(server.serverDir, "a.txt"), "hello")
    const inside = await listFrom(server.port, "127.0.0.2")
    expect(inside.bytes[0]).toBe(0)
    expect(inside.bytes.subarray(5).toString()).toBe('[{"nome":"a.txt","tamanho":"5"}]')
    expect((await listFrom(server.port, "127.0.0.3")).bytes[0]).toBe(0)
    const outside = await listFrom(server.port, "127.0.0.1")
    expect([...outside.bytes]).toEqual([1])
    // At once: not after the request deadline (5 s here).
    expect(outside.millis).toBeLessThan(3_000)
    const refused = server.logs.filter((line) => line.includes("recusado"))
    expect(refused).toHaveLength(1)
    expect(refused[0]).toMatch(/^\S+Z 127\.0\.0\.1:\d+ \? - recusado: endereço fora de --permitir 0 bytes 0 ms$/)
    // The allowed operations were logged as usual.
    expect(server.logs.filter((line) => / 127\.0\.0\.[23]:\d+ listar .* ok /.test(line))).toHaveLength(2)
  })

  const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((address) => address.family === "IPv6" && address.address === "::1")
  )
  test.skipIf(!hasIpv6Loopback)("an IPv6 client is matched against IPv6 networks only", async () => {
    const server = await startServer({ settings: { allow: subnets("127.0.0.0/8") } })
    servers.push(server)
    // The harness listens on 127.0.0.1 only: this checks the same rule through a server on ::1.
    const allowed = makeAccess(subnets("127.0.0.0/8"))
    expect(allowed("::1")).toBe(false)
    expect(makeAccess(subnets("::1/128"))("::1")).toBe(true)
  })
})

describe("--sem-sobrescrever", () => {
  test("an upload over an existing file gets status 1 before any data, and the file is kept", async () => {
    const server = await startServer({ settings: { noOverwrite: true } })
    servers.push(server)
    await writeFile(path.join(server.serverDir, "a.txt"), "original")
    await writeFile(path.join(server.clientDir, "a.txt"), "substituto")
    const request = Buffer.concat([Buffer.of(30, 0, 0, 0, 5), Buffer.from("a.txt")])
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const parts: Array<Buffer> = []
      const socket = net.connect({ host: "127.0.0.1", port: server.port })
      socket.on("connect", () => socket.write(request))
      socket.on("data", (data: Buffer) => parts.push(data))
      socket.on("error", reject)
      socket.on("close", () => resolve(Buffer.concat(parts)))
    })
    expect([...answer]).toEqual([1])
    expect(await readFile(path.join(server.serverDir, "a.txt"), "utf8")).toBe("original")
    expect(server.logs.at(-1)).toContain(EXISTS)
    // The client reports a refusal.
    const exit = await server.client(upload("a.txt"))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(await readFile(path.join(server.serverDir, "a.txt"), "utf8")).toBe("original")
  })

  test("a new name is stored as usual", async () => {
    const server = await startServer({ settings: { noOverwrite: true } })
    servers.push(server)
    await writeFile(path.join(server.clientDir, "novo.txt"), "novo")
    expect(Exit.isSuccess(await server.client(upload("novo.txt")))).toBe(true)
    expect(await readFile(path.join(server.serverDir, "novo.txt"), "utf8")).toBe("novo")
  })

  test("without the option an upload replaces the file, as before", async () => {
    const server = await startServer()
    servers.push(server)
    await writeFile(path.join(server.serverDir, "a.txt"), "original")
    await writeFile(path.join(server.clientDir, "a.txt"), "substituto")
    expect(Exit.isSuccess(await server.client(upload("a.txt")))).toBe(true)
    expect(await readFile(path.join(server.serverDir, "a.txt"), "utf8")).toBe("substituto")
  })

  test("store: a file that appears while the upload is written is not replaced at the commit, and no temporary is left", async () => {
    const folder = await tempDir("sem-sobrescrever")
    const exit = await runExit(
      Effect.gen(function* () {
        const store = yield* makeFileStore(folder)
        const file = yield* store.createAtomic("corrida.txt", { replace: false })
        file.sink.write(new TextEncoder().encode("segundo"))
        yield* Effect.promise(() => writeFile(path.join(folder, "corrida.txt"), "primeiro"))
        return yield* file.commit
      })
    )
    expect(exit).toEqual(
      Exit.fail(expect.objectContaining({ _tag: "FileFailure", reason: "PermissionDenied", detail: EXISTS }) as never)
    )
    expect(await readFile(path.join(folder, "corrida.txt"), "utf8")).toBe("primeiro")
    expect(await readdir(folder)).toEqual(["corrida.txt"])
  })

  test("store: with replace: false and a free name, the commit publishes the file and removes the temporary", async () => {
    const folder = await tempDir("sem-sobrescrever")
    await runExit(
      Effect.gen(function* () {
        const store = yield* makeFileStore(folder)
        const file = yield* store.createAtomic("sub/livre.txt", { replace: false })
        file.sink.write(new TextEncoder().encode("livre"))
        return yield* file.commit
      })
    )
    expect(await readFile(path.join(folder, "sub", "livre.txt"), "utf8")).toBe("livre")
    expect(await readdir(path.join(folder, "sub"))).toEqual(["livre.txt"])
  })
})

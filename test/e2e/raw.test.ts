import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { startServer, type TestServer, tempDir } from "../support/harness.ts"
import { be32, bytesOf, hexOf, named, seededBytes, tree, withServer } from "../support/hostile.ts"
import { md5 } from "../support/md5.ts"
import { rawExchange } from "../support/rawExchange.ts"

/**
 * Byte-exact exchanges against the real server: the raw request goes out,
 * and everything the server answers until it closes is compared with the
 * golden reply. The server folder holds:
 *
 *   a.txt          "hello"
 *   dir/b.txt      "bee"
 *   link.txt   ->  a file outside the folder
 *   linkdir    ->  a folder outside the folder
 *   fifo           a named pipe
 */

const ZERO_MD5 = new Uint8Array(16)

const exchangeHex = async (port: number, request: Uint8Array, options?: Parameters<typeof rawExchange>[2]) =>
  hexOf((await rawExchange(port, request, options)).reply)
const golden = (...parts: ReadonlyArray<Uint8Array | string | number>) => hexOf(bytesOf(...parts))

let server: TestServer
let outside: string

beforeAll(async () => {
  server = await startServer({ timeoutSeconds: 5 })
  outside = await tempDir("fora")
  await writeFile(path.join(outside, "secret.txt"), "top secret")
  await writeFile(path.join(server.serverDir, "a.txt"), "hello")
  await mkdir(path.join(server.serverDir, "dir"))
  await writeFile(path.join(server.serverDir, "dir", "b.txt"), "bee")
  await symlink(path.join(outside, "secret.txt"), path.join(server.serverDir, "link.txt"))
  await symlink(outside, path.join(server.serverDir, "linkdir"))
  const made = Bun.spawnSync(["mkfifo", path.join(server.serverDir, "fifo")])
  if (made.exitCode !== 0) throw new Error("mkfifo failed")
})

afterAll(async () => {
  await server.close()
  await rm(outside, { recursive: true, force: true })
})

describe("golden replies", () => {
  test("op 10 download: 00, size, data", async () => {
    expect(await exchangeHex(server.port, bytesOf(10, named("a.txt")))).toBe(golden(0, be32(5), "hello"))
    expect(await exchangeHex(server.port, bytesOf(10, named("dir/b.txt")))).toBe(golden(0, be32(3), "bee"))
  })

  test("op 10 download of a missing file: 01", async () => {
    expect(await exchangeHex(server.port, bytesOf(10, named("missing.txt")))).toBe("01")
  })

  test("op 20 list: 00, length, JSON without links, pipes or folders", async () => {
    const json = '[{"nome":"a.txt","tamanho":"5"},{"nome":"dir/b.txt","tamanho":"3"}]'
    expect(await exchangeHex(server.port, Uint8Array.of(20))).toBe(golden(0, be32(json.length), json))
  })

  test("op 40 resume with the right MD5: 00 00, remaining size, the rest", async () => {
    const request = bytesOf(40, named("a.txt"), be32(2), md5("he"))
    expect(await exchangeHex(server.port, request)).toBe(golden(0, 0, be32(3), "llo"))
  })

  test("op 40 resume from 0 (MD5 of nothing) and from the end", async () => {
    expect(await exchangeHex(server.port, bytesOf(40, named("a.txt"), be32(0), md5("")))).toBe(
      golden(0, 0, be32(5), "hello")
    )
    expect(await exchangeHex(server.port, bytesOf(40, named("a.txt"), be32(5), md5("hello")))).toBe(
      golden(0, 0, be32(0))
    )
  })

  test("op 40 resume with a wrong MD5: 00 14", async () => {
    expect(await exchangeHex(server.port, bytesOf(40, named("a.txt"), be32(2), md5("HE")))).toBe("0014")
  })

  test("op 40 resume past the end: 00 14", async () => {
    expect(await exchangeHex(server.port, bytesOf(40, named("a.txt"), be32(6), md5("hello!")))).toBe("0014")
  })

  test("op 40 resume of a missing file: 00 0a", async () => {
    expect(await exchangeHex(server.port, bytesOf(40, named("missing.txt"), be32(0), md5("")))).toBe("000a")
  })

  test("op 40 resume with an invalid name: 01", async () => {
    expect(await exchangeHex(server.port, bytesOf(40, named("../a.txt"), be32(0), md5("")))).toBe("01")
  })

  test("op 50: 00, count, manifest, then each file as 00, size, data", async () => {
    expect(await exchangeHex(server.port, bytesOf(50, named("*.txt")))).toBe(
      golden(0, be32(1), named("a.txt"), be32(5), 0, be32(5), "hello")
    )
    expect(await exchangeHex(server.port, bytesOf(50, named("dir/*")))).toBe(
      golden(0, be32(1), named("dir/b.txt"), be32(3), 0, be32(3), "bee")
    )
  })

  test("op 50 with no match: 00 and a count of 0", async () => {
    expect(await exchangeHex(server.port, bytesOf(50, named("*.none")))).toBe(golden(0, be32(0)))
  })

  test("op 50 with an invalid mask: 01", async () => {
    expect(await exchangeHex(server.port, bytesOf(50, named("../*")))).toBe("01")
    expect(await exchangeHex(server.port, bytesOf(50, named("**")))).toBe("01")
  })

  test("op 50 over the cap: 02, matches, cap", () =>
    withServer(
      async (capped) => {
        await writeFile(path.join(capped.serverDir, "x.txt"), "x")
        await writeFile(path.join(capped.serverDir, "y.txt"), "y")
        expect(await exchangeHex(capped.port, bytesOf(50, named("*")))).toBe(golden(2, be32(2), be32(1)))
      },
      { maxMatches: 1 }
    ))
})

describe("op 30 upload", () => {
  test("00 to accept, then 00 once stored", () =>
    withServer(async (fresh) => {
      const reply = await exchangeHex(fresh.port, bytesOf(30, named("u.txt"), be32(3), "abc"))
      expect(reply).toBe("0000")
      expect(await readFile(path.join(fresh.serverDir, "u.txt"), "utf8")).toBe("abc")
    }))

  test("more data than declared: the file holds exactly the declared bytes", () =>
    withServer(async (fresh) => {
      const reply = await exchangeHex(fresh.port, bytesOf(30, named("u.txt"), be32(3), "abcdefghij"))
      expect(reply).toBe("0000")
      expect(await readFile(path.join(fresh.serverDir, "u.txt"), "utf8")).toBe("abc")
    }))

  test("an invalid name: 01 and nothing is written", () =>
    withServer(async (fresh) => {
      expect(await exchangeHex(fresh.port, bytesOf(30, named("../u.txt"), be32(3), "abc"))).toBe("01")
      expect(await exchangeHex(fresh.port, bytesOf(30, named(".hidden"), be32(3), "abc"))).toBe("01")
      expect(await tree(fresh.serverDir)).toEqual([])
    }))

  test("a name under an existing file (a.txt/x): 01 and the file is untouched", () =>
    withServer(async (fresh) => {
      await writeFile(path.join(fresh.serverDir, "a.txt"), "hello")
      expect(await exchangeHex(fresh.port, bytesOf(30, named("a.txt/x"), be32(3), "abc"))).toBe("01")
      expect(await tree(fresh.serverDir)).toEqual(["a.txt"])
      expect(await readFile(path.join(fresh.serverDir, "a.txt"), "utf8")).toBe("hello")
    }))
})

describe("malformed requests", () => {
  test("a name that escapes (../x): 01", async () => {
    expect(await exchangeHex(server.port, bytesOf(10, named("../x")))).toBe("01")
    expect(await exchangeHex(server.port, bytesOf(10, named("/etc/passwd")))).toBe("01")
  })

  test("unknown opcode 0x63: 01", async () => {
    expect(await exchangeHex(server.port, Uint8Array.of(0x63))).toBe("01")
  })

  test("name length 0: 01", async () => {
    expect(await exchangeHex(server.port, bytesOf(10, be32(0)))).toBe("01")
  })

  test("name length 0xFFFFFFFF: 01 at once, without waiting for the name", async () => {
    // The server's request deadline is 5 s; giving up at 1.5 s proves it did not wait for 4 GiB.
    expect(await exchangeHex(server.port, bytesOf(10, be32(0xffffffff)), { limitMillis: 1_500 })).toBe("01")
    expect(await exchangeHex(server.port, bytesOf(30, be32(4097)), { limitMillis: 1_500 })).toBe("01")
  })

  test("a request sent one byte at a time is answered as if sent whole", async () => {
    const reply = await exchangeHex(server.port, bytesOf(10, named("a.txt")), { pieceBytes: 1, pauseMillis: 2 })
    expect(reply).toBe(golden(0, be32(5), "hello"))
    const resumed = await exchangeHex(server.port, bytesOf(40, named("a.txt"), be32(2), md5("he")), {
      pieceBytes: 1,
      pauseMillis: 2
    })
    expect(resumed).toBe(golden(0, 0, be32(3), "llo"))
  })
})

describe("a client that half-closes after its request", () => {
  // Regression: without `allowHalfOpen: true`, Bun closed the whole socket when a
  // client shut down its sending side (FIN, as `shutdown(SHUT_WR)` or `nc -N` do)
  // after its request, cutting the reply short and losing uploads.
  test("still gets the whole reply, and its upload is stored", () =>
    withServer(async (fresh) => {
      const body = seededBytes(8 * 1024 * 1024, 8)
      await Bun.write(path.join(fresh.serverDir, "big.bin"), body)
      const reply = (
        await rawExchange(fresh.port, bytesOf(10, named("big.bin")), { halfClose: true, limitMillis: 3_000 })
      ).reply
      expect(hexOf(reply.subarray(0, 5))).toBe(golden(0, be32(body.length)))
      expect(reply.subarray(5)).toEqual(body)
      expect(
        hexOf(
          (
            await rawExchange(fresh.port, bytesOf(30, named("u.txt"), be32(3), "abc"), {
              halfClose: true,
              limitMillis: 3_000
            })
          ).reply
        )
      ).toBe("0000")
      expect(await readFile(path.join(fresh.serverDir, "u.txt"), "utf8")).toBe("abc")
    }))
})

describe("what lies inside the folder but is not a regular file of it", () => {
  test("a symlink to a file outside: 01 for download, 00 0a for resume, never listed", async () => {
    expect(await exchangeHex(server.port, bytesOf(10, named("link.txt")))).toBe("01")
    expect(await exchangeHex(server.port, bytesOf(40, named("link.txt"), be32(0), md5("")))).toBe("000a")
    expect(await exchangeHex(server.port, bytesOf(50, named("link.*")))).toBe(golden(0, be32(0)))
  })

  test("a symlink to a folder outside: reads refused, uploads refused, nothing written outside", async () => {
    expect(await exchangeHex(server.port, bytesOf(10, named("linkdir/secret.txt")))).toBe("01")
    expect(await exchangeHex(server.port, bytesOf(30, named("linkdir/evil.txt"), be32(4), "evil"))).toBe("01")
    expect(await tree(outside)).toEqual(["secret.txt"])
    expect(await readFile(path.join(outside, "secret.txt"), "utf8")).toBe("top secret")
  })

  test("a FIFO: 01 at once (the open must not block)", async () => {
    expect(await exchangeHex(server.port, bytesOf(10, named("fifo")), { limitMillis: 1_500 })).toBe("01")
    expect(await exchangeHex(server.port, bytesOf(40, named("fifo"), be32(0), ZERO_MD5), { limitMillis: 1_500 })).toBe(
      "000a"
    )
  })

  test("a directory: 01", async () => {
    expect(await exchangeHex(server.port, bytesOf(10, named("dir")))).toBe("01")
  })

  test("the server still answers normally afterwards", async () => {
    expect(await exchangeHex(server.port, bytesOf(10, named("a.txt")))).toBe(golden(0, be32(5), "hello"))
  })
})

import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { mkdir, readFile, rm } from "node:fs/promises"
import * as path from "node:path"
import { Exit } from "effect"
import { ConnectionFailure, ProtocolViolation } from "../../src/domain/errors.ts"
import { download } from "../../src/programs/client/download.ts"
import { downloadMany } from "../../src/programs/client/downloadMany.ts"
import { ServerRefused } from "../../src/programs/client/errors.ts"
import { list } from "../../src/programs/client/list.ts"
import { resume } from "../../src/programs/client/resume.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { failureOf } from "../support/effect.ts"
import { tempDir } from "../support/harness.ts"
import {
  be32,
  bytesOf,
  clientFor,
  type HostileScript,
  hexOf,
  named,
  pause,
  send,
  startHostile,
  tree
} from "../support/hostile.ts"

/**
 * The client programs against a scripted server that breaks the protocol:
 * short bodies, broken listings, lying manifests, unknown statuses. The
 * client must fail with the right error and never write where it should not.
 * The client folder is `<base>/client`, so anything escaping it would show up
 * in `<base>`. The stalls, which only wait for the client's idle deadline,
 * are tested in process on the TestClock (test/programs/deadlines.test.ts).
 */

let base: string
let clientDir: string
let closers: Array<() => Promise<void>> = []

beforeEach(async () => {
  base = await tempDir("hostil")
  clientDir = path.join(base, "client")
  await mkdir(clientDir)
})

afterEach(async () => {
  for (const close of closers) await close()
  closers = []
  await rm(base, { recursive: true, force: true })
})

/** Starts a hostile server with `script` and returns a client runner against it. */
const against = async (script: HostileScript, timeoutSeconds = 5) => {
  const hostile = await startHostile(script)
  closers.push(hostile.close)
  return { hostile, client: await clientFor(hostile.port, clientDir, timeoutSeconds) }
}

const violation = (reason: ProtocolViolation["reason"]) =>
  expect.objectContaining({ _tag: "ProtocolViolation", reason })

/** Nothing at all was written: not in the client folder, not next to it. */
const nothingWritten = async () => {
  expect(await tree(base)).toEqual(["client"])
}

describe("download against a lying server", () => {
  test("fewer bytes than declared, then close: Truncated, and no file under the final name", async () => {
    const { hostile, client } = await against({ reply: [send(0, be32(10), "hello")], then: "close" })
    const failure = failureOf(await client(download("a.txt")))
    expect(failure).toBeInstanceOf(ProtocolViolation)
    expect(failure).toEqual(violation("Truncated"))
    expect(hexOf(hostile.received[0]!)).toBe(hexOf(bytesOf(10, named("a.txt"))))
    // Only the partial may exist, holding what did arrive.
    expect(await tree(clientDir)).toEqual(["a.txt.parcial"])
    expect(await readFile(path.join(clientDir, "a.txt.parcial"), "utf8")).toBe("hello")
  })

  test("the connection closes before any status: NoReply (not a reply cut in the middle), nothing written", async () => {
    const { client } = await against({ reply: [], then: "close" })
    expect(failureOf(await client(download("a.txt")))).toEqual(violation("NoReply"))
    expect(await tree(clientDir)).toEqual([])
  })

  test("a TLS alert where the status is due (a TLS server, a plain client): TlsSpoken, nothing written", async () => {
    const { client } = await against({ reply: [send(0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46)], then: "close" })
    expect(failureOf(await client(download("a.txt")))).toEqual(violation("TlsSpoken"))
    expect(await tree(clientDir)).toEqual([])
  })

  test("an unexpected status byte (0x07): UnexpectedStatus, nothing written", async () => {
    const { client } = await against({ reply: [send(7, be32(5), "hello")], then: "close" })
    expect(failureOf(await client(download("a.txt")))).toEqual(violation("UnexpectedStatus"))
    await nothingWritten()
  })

  test("status 01 is a refusal even with bytes after it", async () => {
    const { client } = await against({ reply: [send(1, be32(5), "hello")], then: "close" })
    expect(failureOf(await client(download("a.txt")))).toEqual(
      new ServerRefused({ request: "Download", name: "a.txt", reason: "Refused" })
    )
    await nothingWritten()
  })

  test("a server that accepts an escaping name: the client's own jail refuses (OutsideRoot)", async () => {
    const { client } = await against({ reply: [send(0, be32(4), "EVIL")], then: "close" })
    const failure = failureOf(await client(download("../escape.txt")))
    expect(failure).toMatchObject({ _tag: "FileFailure", reason: "OutsideRoot", name: "../escape.txt" })
    await nothingWritten()
  })

  test("no server at all: ConnectionFailure Refused", async () => {
    const hostile = await startHostile({ reply: [], then: "close" })
    await hostile.close()
    const client = await clientFor(hostile.port, clientDir, 1)
    const failure = failureOf(await client(download("a.txt")))
    expect(failure).toBeInstanceOf(ConnectionFailure)
    expect(failure).toMatchObject({ _tag: "ConnectionFailure", reason: "Refused" })
  })
})

describe("list against a lying server", () => {
  const listingReply = (json: string) => {
    const bytes = new TextEncoder().encode(json)
    return send(0, be32(bytes.length), bytes)
  }

  test.each([
    ["not JSON", '[{"nome":'],
    ["not an array", '{"nome":"a.txt","tamanho":"5"}'],
    ["a number as tamanho", '[{"nome":"a.txt","tamanho":5}]'],
    ["a negative tamanho", '[{"nome":"a.txt","tamanho":"-1"}]'],
    ["a tamanho with a leading zero", '[{"nome":"a.txt","tamanho":"05"}]'],
    ["an escaping nome", '[{"nome":"../a.txt","tamanho":"5"}]'],
    ["a missing field", '[{"nome":"a.txt"}]']
  ])("a broken listing (%s): InvalidListing", async (_, json) => {
    const { client } = await against({ reply: [listingReply(json)], then: "close" })
    expect(failureOf(await client(list))).toEqual(violation("InvalidListing"))
  })

  test("a listing that is not UTF-8: InvalidListing", async () => {
    const { client } = await against({ reply: [send(0, be32(2), Uint8Array.of(0xc3, 0x28))], then: "close" })
    expect(failureOf(await client(list))).toEqual(violation("InvalidListing"))
  })

  test("a well-formed listing is accepted as sent", async () => {
    const json = '[{"nome":"a.txt","tamanho":"5"}]'
    const { hostile, client } = await against({ reply: [listingReply(json)], then: "close" })
    expect(await client(list)).toEqual(Exit.succeed({ entries: [{ nome: "a.txt", tamanho: "5" }], json }))
    expect(hexOf(hostile.received[0]!)).toBe("14")
  })

  test("a declared length of 0xFFFFFFFF: LengthTooLarge at once, not a Timeout", async () => {
    // The server stalls after the length; the 5 s client timeout never comes into play.
    const { client } = await against({ reply: [send(0, be32(0xffffffff))], then: "stall" }, 5)
    expect(failureOf(await client(list))).toEqual(violation("LengthTooLarge"))
  })
})

describe("downloadMany against a lying manifest", () => {
  /** A manifest announcing `names` (each 5 bytes long), followed by their data. */
  const manifest = (names: ReadonlyArray<string>) =>
    send(
      0,
      be32(names.length),
      ...names.flatMap((name) => [named(name), be32(5)]),
      ...names.flatMap(() => [Uint8Array.of(0), be32(5), new TextEncoder().encode("EVIL!")])
    )

  test.each([
    ["an escaping name", "*.txt", ["../escape.txt"], "InvalidName"],
    ["an absolute name", "*", ["/etc/passwd"], "InvalidName"],
    ["a hidden name", "*", [".bashrc"], "InvalidName"],
    ["a name that does not match the mask", "*.txt", ["a.txt", "b.bin"], "UnexpectedName"],
    ["a name in a subfolder for a top-level mask", "*.txt", ["sub/a.txt"], "UnexpectedName"],
    ["a duplicate name", "*.txt", ["a.txt", "a.txt"], "UnexpectedName"]
  ] as const)("%s: ProtocolViolation, nothing written anywhere", async (_, mask, names, reason) => {
    const { client } = await against({ reply: [manifest(names)], then: "close" })
    expect(failureOf(await client(downloadMany(mask)))).toEqual(violation(reason))
    await nothingWritten()
  })

  test("more files announced than the client accepts: LengthTooLarge", async () => {
    const { client } = await against({ reply: [send(0, be32(10_001))], then: "stall" })
    expect(failureOf(await client(downloadMany("*")))).toEqual(violation("LengthTooLarge"))
    await nothingWritten()
  })

  test("an unexpected status in front of a file: UnexpectedStatus", async () => {
    const { client } = await against({
      reply: [send(0, be32(1), named("a.txt"), be32(5), 7, be32(5), "hello")],
      then: "close"
    })
    expect(failureOf(await client(downloadMany("*.txt")))).toEqual(violation("UnexpectedStatus"))
    await nothingWritten()
  })

  test("a file the server skips (status 01) is reported Skipped and the next one is saved", async () => {
    const { client } = await against({
      reply: [send(0, be32(2), named("a.txt"), be32(1), named("b.txt"), be32(2), 1, 0, be32(2), "BB")],
      then: "close"
    })
    expect(await client(downloadMany("*.txt"))).toEqual(
      Exit.succeed({
        entries: [
          { name: "a.txt", size: 1 },
          { name: "b.txt", size: 2 }
        ],
        results: [
          { _tag: "Skipped", name: "a.txt" },
          { _tag: "Saved", name: "b.txt", size: 2 }
        ]
      })
    )
    expect(await tree(clientDir)).toEqual(["b.txt"])
  })
})

describe("upload and resume against a lying server", () => {
  test("upload: an unexpected first status: UnexpectedStatus", async () => {
    await Bun.write(path.join(clientDir, "up.txt"), "data")
    const { client } = await against({ reply: [send(7)], then: "close" })
    expect(failureOf(await client(upload("up.txt")))).toEqual(violation("UnexpectedStatus"))
  })

  test("upload: accepted, then 01 after the data: ServerRefused", async () => {
    await Bun.write(path.join(clientDir, "up.txt"), "data")
    const { hostile, client } = await against({ reply: [send(0), pause(100), send(1)], then: "close" })
    expect(failureOf(await client(upload("up.txt")))).toEqual(
      new ServerRefused({ request: "Upload", name: "up.txt", reason: "Refused" })
    )
    expect(hexOf(hostile.received[0]!)).toBe(hexOf(bytesOf(30, named("up.txt"), be32(4), "data")))
  })

  test("resume: a second status outside 00/0a/14: UnexpectedStatus, partial kept", async () => {
    await Bun.write(path.join(clientDir, "r.txt.parcial"), "he")
    const { client } = await against({ reply: [send(0, 1)], then: "close" })
    expect(failureOf(await client(resume("r.txt")))).toEqual(violation("UnexpectedStatus"))
    expect(await tree(clientDir)).toEqual(["r.txt.parcial"])
    expect(await readFile(path.join(clientDir, "r.txt.parcial"), "utf8")).toBe("he")
  })

  test("resume: the rest cut short: Truncated, the partial holds what arrived, no final file", async () => {
    await Bun.write(path.join(clientDir, "r.txt.parcial"), "he")
    const { client } = await against({ reply: [send(0, 0, be32(3), "l")], then: "close" })
    expect(failureOf(await client(resume("r.txt")))).toEqual(violation("Truncated"))
    expect(await tree(clientDir)).toEqual(["r.txt.parcial"])
    expect(await readFile(path.join(clientDir, "r.txt.parcial"), "utf8")).toBe("hel")
  })
})

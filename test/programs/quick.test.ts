import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { readdirSync } from "node:fs"
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Cause, Either, Exit, FiberId } from "effect"
import { ConnectionFailure, Timeout } from "../../src/domain/errors.ts"
import { Opcode } from "../../src/domain/protocol.ts"
import { encodeProxyV1, encodeProxyV2 } from "../../src/domain/proxyHeader.ts"
import { makeAdmission } from "../../src/programs/server/admission.ts"
import type { OperationRecord } from "../../src/programs/server/exchange.ts"
import { quickDownload } from "../../src/programs/server/quick.ts"
import type { Activity } from "../../src/programs/server/server.ts"
import type { FileStoreService } from "../../src/services/FileStore.ts"
import { makeFileStore } from "../../src/services/FileStoreLive.ts"
import type { Peer, QuickAnswer } from "../../src/services/transport/Transport.ts"
import { run } from "../support/effect.ts"

/**
 * The quick path's decisions, without sockets: which first segments it
 * answers (a whole op 10 of a file it can open, and nothing else), what it sends,
 * the limits it takes and gives back, and the one log line of each outcome.
 * That the fiber path serves everything it leaves is the rest of the suite.
 */

const utf8 = (text: string) => new TextEncoder().encode(text)
const request = (op: number, name: string) => {
  const bytes = utf8(name)
  const out = new Uint8Array(5 + bytes.length)
  out[0] = op
  new DataView(out.buffer).setUint32(1, bytes.length)
  out.set(bytes, 5)
  return out
}

const BIG = new Uint8Array(64 * 1024 + 1).map((_, i) => (i * 13) % 256)
const openFiles = () => readdirSync("/proc/self/fd").length

/** Everything a body's source gives, as the transport would pull it. */
const drain = (answer: Pick<QuickAnswer<unknown>, "body">) => {
  const body = answer.body!
  const parts: Array<Uint8Array> = []
  for (let left = body.length; left > 0; ) {
    const into = body.source.buffer.subarray(0, Math.min(left, body.source.buffer.length))
    const filled = body.source.fill(into)
    if (Either.isLeft(filled)) throw filled.left
    // A copy: the shared buffer is a Buffer, whose slice is a view.
    parts.push(Uint8Array.from(into.subarray(0, filled.right)))
    left -= filled.right
  }
  return Buffer.concat(parts)
}

let folder: string
let store: FileStoreService
beforeEach(async () => {
  folder = await mkdtemp(path.join(tmpdir(), "quick-"))
  await writeFile(path.join(folder, "small.txt"), "olá, mundo")
  await writeFile(path.join(folder, "big.bin"), BIG)
  // Sparse: the size is all that matters.
  await writeFile(path.join(folder, "huge.bin"), "")
  await truncate(path.join(folder, "huge.bin"), 2 ** 32)
  store = await run(makeFileStore(folder))
})
afterEach(() => rm(folder, { recursive: true, force: true }))

const peer: Peer = { remote: "127.0.0.1:5000", address: "127.0.0.1", openedAt: 1_000 }

const setup = (
  limits = { maxClients: 2, maxPerAddress: 0 },
  allowed = (_: string) => true,
  proxy?: { readonly trusted: (address: string) => boolean }
) => {
  const lines: Array<{ started: number; client: string; record: OperationRecord; millis: number }> = []
  const activity: Activity = { active: 0, cut: 0 }
  const admission = makeAdmission(limits)
  const quick = quickDownload({
    config: { requestSeconds: 10, idleSeconds: 7, proxyProtocol: proxy !== undefined },
    store,
    admission,
    allowed,
    trusted: proxy?.trusted ?? (() => false),
    log: (started, client, record, millis) => lines.push({ started, client, record: { ...record }, millis }),
    now: () => 1_250,
    activity
  })
  return { quick, lines, activity, admission }
}

describe("quick path: what it answers", () => {
  test("a whole op 10 of a small file: status 0, the size, the bytes; one log line once it is sent", () => {
    const { quick, lines, activity } = setup()
    expect(quick.admit(peer)).toBe(true)
    const answer = quick.answer(peer, request(Opcode.Download, "small.txt"))!
    const content = utf8("olá, mundo")
    expect([...answer.reply]).toEqual([0, 0, 0, 0, content.length, ...content])
    expect(activity.active).toBe(1)
    expect(lines).toEqual([])
    answer.done(Exit.void)
    expect(lines).toEqual([
      {
        started: 1_000,
        client: "127.0.0.1:5000",
        record: { op: "baixar", name: "small.txt", bytes: content.length, result: "ok" },
        millis: 250
      }
    ])
    expect(activity).toEqual({ active: 0, cut: 0 })
  })

  test("a file over 64 KiB: the header as the reply, the file as the body, open until done; the line counts the bytes", () => {
    const { quick, lines, activity } = setup()
    const before = openFiles()
    const answer = quick.answer(peer, request(Opcode.Download, "big.bin"))!
    expect([...answer.reply]).toEqual([0, 0, 1, 0, 1])
    expect(answer.body?.length).toBe(BIG.length)
    expect(drain(answer).equals(Buffer.from(BIG))).toBe(true)
    expect(openFiles()).toBe(before + 1)
    expect(activity.active).toBe(1)
    answer.done(Exit.void)
    expect(openFiles()).toBe(before)
    expect(lines[0]!.record).toEqual({ op: "baixar", name: "big.bin", bytes: BIG.length, result: "ok" })
  })

  test("a body cut short: the line counts what the socket took", () => {
    const { quick, lines } = setup()
    const answer = quick.answer(peer, request(Opcode.Download, "big.bin"))!
    answer.body!.onSent(1_000)
    answer.body!.onSent(234)
    answer.done(Exit.fail(new Timeout({ phase: "Idle", seconds: 7 })))
    expect(lines[0]!.record).toMatchObject({ bytes: 1_234, result: expect.stringMatching(/^falha: /) })
  })

  test("a small file is read and closed at once: nothing stays open while its reply goes out", () => {
    const { quick } = setup()
    const before = openFiles()
    const answer = quick.answer(peer, request(Opcode.Download, "small.txt"))!
    expect(answer.body).toBeUndefined()
    expect(openFiles()).toBe(before)
    answer.done(Exit.void)
    expect(openFiles()).toBe(before)
  })

  test("the request deadline is the whole first-segment wait, and the idle deadline bounds the reply", () => {
    const { quick } = setup()
    expect(quick.firstSegmentMillis).toBe(10_000)
    const answer = quick.answer(peer, request(Opcode.Download, "small.txt"))!
    expect(answer.within.millis).toBe(7_000)
    expect(answer.within.onIdle()).toEqual(new Timeout({ phase: "Idle", seconds: 7 }))
  })

  const left: ReadonlyArray<readonly [string, Uint8Array]> = [
    ["a request cut in its name", request(Opcode.Download, "small.txt").subarray(0, 8)],
    ["a request cut in its length", Uint8Array.of(Opcode.Download, 0, 0)],
    ["bytes after the request", Uint8Array.of(...request(Opcode.Download, "small.txt"), 0)],
    ["a missing file", request(Opcode.Download, "nada.txt")],
    ["a file too large for the protocol (4 GiB)", request(Opcode.Download, "huge.bin")],
    ["a name the rules refuse", request(Opcode.Download, "../fora.txt")],
    ["op 20", Uint8Array.of(Opcode.List)],
    ["op 30", request(Opcode.Upload, "small.txt")],
    ["op 50", request(Opcode.DownloadMany, "*.txt")],
    ["an unknown opcode", Uint8Array.of(99)]
  ]
  test.each(left)("%s is left to the fiber path, untouched", (_, first) => {
    const { quick, lines, activity } = setup()
    const copy = first.slice()
    const before = openFiles()
    expect(quick.answer(peer, first)).toBeUndefined()
    expect(first).toEqual(copy)
    expect(openFiles()).toBe(before)
    expect(lines).toEqual([])
    expect(activity.active).toBe(0)
  })
})

describe("quick path: limits", () => {
  test("each admitted connection holds a place until done or released", () => {
    const { quick } = setup({ maxClients: 2, maxPerAddress: 0 })
    expect(quick.admit(peer)).toBe(true)
    expect(quick.admit(peer)).toBe(true)
    expect(quick.admit(peer)).toBe(false)
    quick.release(peer)
    expect(quick.admit(peer)).toBe(true)
    quick.answer(peer, request(Opcode.Download, "small.txt"))!.done(Exit.void)
    expect(quick.admit(peer)).toBe(true)
  })

  test("the per-address limit and --permitir are judged as the connection is accepted", () => {
    const limited = setup({ maxClients: 10, maxPerAddress: 1 })
    expect(limited.quick.admit(peer)).toBe(true)
    expect(limited.quick.admit(peer)).toBe(false)
    expect(limited.quick.admit({ ...peer, address: "127.0.0.2" })).toBe(true)
    const closed = setup(undefined, (address) => address !== "127.0.0.1")
    expect(closed.quick.admit(peer)).toBe(false)
    // Refused connections take no place: the fiber path refuses them with its own line.
    expect(closed.admission.enterNow("127.0.0.3")).toBe(true)
  })
})

describe("quick path: the log line of a reply that did not go out", () => {
  test("a client that leaves mid-reply: cancelled, 0 bytes", () => {
    const { quick, lines } = setup()
    quick
      .answer(peer, request(Opcode.Download, "small.txt"))!
      .done(Exit.fail(new ConnectionFailure({ reason: "Reset", detail: "reset" })))
    expect(lines[0]!.record).toMatchObject({ bytes: 0, result: expect.stringMatching(/^cancelado: /) })
  })

  test("a connection the system broke: the line keeps the system's words in cause, the result stays a sentence", () => {
    const { quick, lines } = setup()
    const reset = Object.assign(new Error("connection reset by peer"), { code: "ECONNRESET" })
    quick
      .answer(peer, request(Opcode.Download, "small.txt"))!
      .done(Exit.fail(new ConnectionFailure({ reason: "Reset", detail: "reset", cause: reset })))
    expect(lines[0]!.record).toMatchObject({
      result: "cancelado: o cliente fechou a conexão no meio da operação",
      cause: "ECONNRESET: connection reset by peer"
    })
  })

  test("any other failure has no cause: a deadline, or a connection closed without a system error", () => {
    for (const error of [
      new Timeout({ phase: "Idle", seconds: 7 }),
      new ConnectionFailure({ reason: "Closed", detail: "x" })
    ]) {
      const { quick, lines } = setup()
      quick.answer(peer, request(Opcode.Download, "small.txt"))!.done(Exit.fail(error))
      expect(lines[0]!.record.cause).toBeUndefined()
    }
  })

  test("a client that stops reading: the idle deadline, 0 bytes", () => {
    const { quick, lines } = setup()
    quick
      .answer(peer, request(Opcode.Download, "small.txt"))!
      .done(Exit.fail(new Timeout({ phase: "Idle", seconds: 7 })))
    expect(lines[0]!.record).toMatchObject({ bytes: 0, result: expect.stringMatching(/^falha: /) })
  })

  test("a shutdown that cuts it: the cut line, counted as cut", () => {
    const { quick, lines, activity } = setup()
    quick.answer(peer, request(Opcode.Download, "small.txt"))!.done(Exit.failCause(Cause.interrupt(FiberId.none)))
    expect(lines[0]!.record.result).toBe("cortado: o servidor foi encerrado antes do fim")
    expect(activity).toEqual({ active: 0, cut: 1 })
  })
})

describe("quick path behind a balancer (--protocolo-proxy)", () => {
  const client = { address: "203.0.113.7", port: 41_000 }
  const server = { address: "127.0.0.1", port: 20_000 }
  const behind = (first: Uint8Array, rest: Uint8Array) => Uint8Array.from([...first, ...rest])
  const v1 = () => encodeProxyV1(client, server)
  const v2 = () => encodeProxyV2({ source: client, destination: server })

  test.each([
    ["v1", v1],
    ["v2", v2]
  ])(
    "a %s header and a whole op 10 in the first segment: answered, logged as the client the header names",
    (_, header) => {
      const { quick, lines, admission } = setup({ maxClients: 2, maxPerAddress: 1 }, undefined, { trusted: () => true })
      expect(quick.admit(peer)).toBe(true)
      const answer = quick.answer(peer, behind(header(), request(Opcode.Download, "small.txt")))!
      expect([...answer.reply.subarray(0, 5)]).toEqual([0, 0, 0, 0, utf8("olá, mundo").length])
      // The client's own address holds its place: a second connection from it would be refused.
      expect(admission.addressNow(client.address)).toBe(false)
      answer.done(Exit.void)
      expect(lines[0]!.client).toBe("203.0.113.7:41000")
      // Both places are given back.
      expect(admission.enterNow(client.address)).toBe(true)
      expect(admission.enterNow("198.51.100.1")).toBe(true)
      expect(admission.enterNow("198.51.100.2")).toBe(false)
    }
  )

  test("a connection from an untrusted address is not admitted: the fiber path refuses it", () => {
    const { quick, admission } = setup(undefined, undefined, { trusted: (address) => address === "10.0.0.1" })
    expect(quick.admit(peer)).toBe(false)
    expect(admission.enterNow("198.51.100.1")).toBe(true)
    expect(admission.enterNow("198.51.100.2")).toBe(true)
  })

  const left: ReadonlyArray<readonly [string, (header: Uint8Array) => Uint8Array]> = [
    ["the header alone", (header) => header],
    ["a request without a header", () => request(Opcode.Download, "small.txt")],
    [
      "the header and a request cut short",
      (header) => behind(header, request(Opcode.Download, "small.txt").subarray(0, 7))
    ],
    ["the header and op 20", (header) => behind(header, Uint8Array.of(Opcode.List))],
    ["the header and a missing file", (header) => behind(header, request(Opcode.Download, "nada.txt"))]
  ]
  test.each(left)(
    "%s: left to the fiber path, and no place held but the total's, which release gives back",
    (_, first) => {
      const { quick, admission, lines } = setup({ maxClients: 1, maxPerAddress: 1 }, undefined, { trusted: () => true })
      expect(quick.admit(peer)).toBe(true)
      expect(quick.answer(peer, first(v1()))).toBeUndefined()
      quick.release(peer)
      expect(lines).toEqual([])
      expect(admission.enterNow(client.address)).toBe(true)
    }
  )

  test("--permitir and the per-address limit judge the client the header names, not the proxy", () => {
    const closed = setup(undefined, (address) => address !== client.address, { trusted: () => true })
    expect(closed.quick.admit(peer)).toBe(true)
    expect(closed.quick.answer(peer, behind(v1(), request(Opcode.Download, "small.txt")))).toBeUndefined()
    const limited = setup({ maxClients: 5, maxPerAddress: 1 }, undefined, { trusted: () => true })
    expect(limited.admission.addressNow(client.address)).toBe(true)
    expect(limited.quick.admit(peer)).toBe(true)
    expect(limited.quick.answer(peer, behind(v1(), request(Opcode.Download, "small.txt")))).toBeUndefined()
    // Another client behind the same proxy is served.
    const other = encodeProxyV1({ address: "203.0.113.8", port: 1 }, server)
    expect(limited.quick.admit(peer)).toBe(true)
    expect(limited.quick.answer(peer, behind(other, request(Opcode.Download, "small.txt")))).toBeDefined()
  })
})

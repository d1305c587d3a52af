import { describe, expect, test } from "bun:test"
import { Effect, Either, Exit, Fiber, Scope } from "effect"
import { u32 } from "../../src/domain/encode.ts"
import { Timeout } from "../../src/domain/errors.ts"
import { encodeRequest } from "../../src/domain/operations.ts"
import { encodeProxyV2 } from "../../src/domain/proxyHeader.ts"
import type { ClientServices } from "../../src/programs/client/context.ts"
import { download } from "../../src/programs/client/download.ts"
import { downloadMany } from "../../src/programs/client/downloadMany.ts"
import { list } from "../../src/programs/client/list.ts"
import { resume } from "../../src/programs/client/resume.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { serveFolder } from "../../src/programs/server/server.ts"
import { be32, bytesOf, hexOf, named, seededBytes } from "../support/hostile.ts"
import { md5 } from "../support/md5.ts"
import { elapse, inMemory, readAll, type Script, send, settle } from "../support/memory.ts"

/**
 * Every deadline of the programs, on the TestClock: the server's request
 * deadline (the whole request, however it arrives) and idle deadline (a
 * transfer that stops moving, either way), the client's connect and idle
 * deadlines. Each test forks what waits, moves the clock to just before the
 * deadline (nothing happened yet), then to it (it fired), and looks: no test
 * sleeps, so a 5 s deadline costs nothing.
 */

const MIB = 1024 * 1024

/** Whether a forked fiber is still running. */
const running = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) => fiber.unsafePoll() === null

describe("the server's request deadline", () => {
  test("a request that stops halfway: nothing before the deadline, then 01 and closed, with its log line", () =>
    inMemory({ timeoutSeconds: 5 }, (world) =>
      Effect.gen(function* () {
        const connection = yield* world.connect()
        yield* connection.write(bytesOf(10, be32(5), "a"))
        const reply = yield* Effect.fork(readAll(connection))
        yield* elapse(4999)
        expect(running(reply)).toBe(true)
        expect(world.logs).toEqual([])
        yield* elapse(1)
        expect(hexOf(yield* Fiber.join(reply))).toBe("01")
        expect(world.logs).toEqual([
          expect.stringContaining(
            'baixar "a…(5 bytes anunciados)" falha: o pedido não chegou inteiro em 5 s 0 bytes 5000 ms'
          )
        ])
      })
    ))

  test("nothing at all, a name cut short, a resume without its MD5: each gets 01 at the deadline", () =>
    inMemory({ timeoutSeconds: 1, serverFiles: { "a.txt": "hello" } }, (world) =>
      Effect.gen(function* () {
        const requests = [new Uint8Array(0), bytesOf(10, be32(5), "a"), bytesOf(40, named("a.txt"), be32(0))]
        const replies = yield* Effect.forEach(requests, (request) =>
          Effect.gen(function* () {
            const connection = yield* world.connect()
            if (request.length > 0) yield* connection.write(request)
            return yield* Effect.fork(readAll(connection))
          })
        )
        yield* elapse(999)
        expect(replies.every(running)).toBe(true)
        yield* elapse(1)
        expect((yield* Effect.forEach(replies, Fiber.join)).map(hexOf)).toEqual(["01", "01", "01"])
        expect(world.logged("o pedido não chegou inteiro em 1 s").length).toBe(3)
      })
    ))

  test("a request that drips in, one byte every 100 ms (never idle), is cut at the 1 s request deadline", () =>
    inMemory({ timeoutSeconds: 1 }, (world) =>
      Effect.gen(function* () {
        const request = encodeRequest({ _tag: "Download", name: "a".repeat(400) })
        const connection = yield* world.connect()
        const reply = yield* Effect.fork(readAll(connection))
        let sent = 0
        while (running(reply) && sent < request.length) {
          yield* connection.write(request.subarray(sent, sent + 1))
          sent++
          yield* elapse(100)
        }
        expect(hexOf(yield* Fiber.join(reply))).toBe("01")
        // Ten bytes went out, 100 ms apart: the 1 s deadline held over ten segments.
        expect(sent).toBe(10)
        expect(world.logged("falha: o pedido não chegou inteiro em 1 s").length).toBe(1)
      })
    ))

  test("50 silent connections are all cut (01, closed) at the deadline", () =>
    inMemory({ timeoutSeconds: 1 }, (world) =>
      Effect.gen(function* () {
        const replies = yield* Effect.forEach(Array.from({ length: 50 }), () =>
          Effect.flatMap(world.connect(), (connection) => Effect.fork(readAll(connection)))
        )
        yield* elapse(999)
        expect(replies.filter(running).length).toBe(50)
        yield* elapse(1)
        expect(new Set((yield* Effect.forEach(replies, Fiber.join)).map(hexOf))).toEqual(new Set(["01"]))
      })
    ))

  describe("behind a balancer (PROXY header)", () => {
    const DOWNLOAD_A = encodeRequest({ _tag: "Download", name: "a.txt" })
    const v2 = (address: string) =>
      encodeProxyV2({
        source: { address, port: 40000 },
        destination: { address: "127.0.0.1", port: 20000 }
      })
    const behind = { timeoutSeconds: 1, serverFiles: { "a.txt": "hello" }, settings: { proxyProtocol: true } }

    test("a header that never completes: closed without a byte at the deadline", () =>
      inMemory(behind, (world) =>
        Effect.gen(function* () {
          const connection = yield* world.connect()
          yield* connection.write(new TextEncoder().encode("PROXY TCP4 1.2.3.4"))
          const reply = yield* Effect.fork(readAll(connection))
          yield* elapse(999)
          expect(running(reply)).toBe(true)
          yield* elapse(1)
          expect(hexOf(yield* Fiber.join(reply))).toBe("")
          expect(world.logged("recusado: sem cabeçalho PROXY válido: o pedido não chegou inteiro em 1 s").length).toBe(
            1
          )
        })
      ))

    test("the header's time counts toward the request deadline: a slow header leaves less time for the request", () =>
      inMemory(behind, (world) =>
        Effect.gen(function* () {
          /** Sends `pieces` 170 ms apart and gives the reply. */
          const paced = (pieces: ReadonlyArray<Uint8Array>) =>
            Effect.gen(function* () {
              const connection = yield* world.connect()
              const reply = yield* Effect.fork(readAll(connection))
              for (const piece of pieces) {
                if (!running(reply)) break
                yield* connection.write(piece)
                yield* elapse(170)
              }
              return hexOf(yield* Fiber.join(reply))
            })
          const cut = (bytes: Uint8Array, count: number) => {
            const size = Math.ceil(bytes.length / count)
            return Array.from({ length: count }, (_, i) => bytes.subarray(i * size, (i + 1) * size))
          }
          // Each alone fits in the second: the header at once and the request in 3 pieces...
          const quick = v2("198.51.100.1")
          expect(yield* paced([quick, ...cut(DOWNLOAD_A, 3)])).toBe(hexOf(bytesOf(0, u32(5), "hello")))
          // ...but a header in 4 pieces and then the request in 3 do not.
          const slow = v2("198.51.100.2")
          expect(yield* paced([...cut(slow, 4), ...cut(DOWNLOAD_A, 3)])).toBe("01")
          expect(world.logged("198.51.100.2:40000 baixar").length).toBe(0)
          expect(world.logged("o pedido não chegou inteiro em 1 s").length).toBe(1)
        })
      ))
  })
})

describe("the server's idle deadline", () => {
  test("an upload that stops moving: 00 01 at the idle deadline, its temporary removed", () =>
    inMemory({ timeoutSeconds: 1 }, (world) =>
      Effect.gen(function* () {
        const connection = yield* world.connect()
        yield* connection.write(
          bytesOf(encodeRequest({ _tag: "Upload", name: "parado.bin" }), be32(MIB), seededBytes(100 * 1024, 6))
        )
        const reply = yield* Effect.fork(readAll(connection))
        yield* elapse(999)
        expect(running(reply)).toBe(true)
        expect(world.server.temporaries().length).toBe(1)
        yield* elapse(1)
        expect(hexOf(yield* Fiber.join(reply))).toBe("0001")
        expect(world.logged("enviar parado.bin falha: nada se moveu por 1 s 102400 bytes").length).toBe(1)
        expect(world.server.temporaries()).toEqual([])
        expect(world.server.files.size).toBe(0)
      })
    ))

  test.each([
    ["op 10", () => encodeRequest({ _tag: "Download", name: "grande.bin" }), "baixar grande.bin"],
    [
      "op 40",
      () => encodeRequest({ _tag: "Resume", name: "grande.bin", position: 0, md5: md5("") }),
      "retomar grande.bin"
    ],
    ["op 50", () => encodeRequest({ _tag: "DownloadMany", mask: "grande.*" }), "baixar-varios grande.*"]
  ] as const)(
    "%s: a reader that stops reading is cut at the idle deadline with a reset; the log counts what it got",
    (_, request, operation) =>
      inMemory({ timeoutSeconds: 1, serverFiles: { "grande.bin": seededBytes(4 * MIB, 7) } }, (world) =>
        Effect.gen(function* () {
          const connection = yield* world.connect()
          // The client's side takes 100 KiB and then nothing more: the server's writes fill the pipe and stall.
          world.lastLink().toClient.hold()
          world.lastLink().toClient.pass(100 * 1024)
          yield* connection.write(request())
          yield* settle
          yield* elapse(999)
          expect(world.logs).toEqual([])
          yield* elapse(1)
          // Cut: what the pipe still held is never delivered, and the line counts the file bytes
          // that reached the client (what arrived, less the reply's headers).
          const [line] = world.logged(`${operation} cortado: o cliente parou de receber antes do fim `)
          const counted = Number(/ (\d+) bytes \d+ ms$/.exec(line ?? "")?.[1])
          expect(counted).toBeLessThanOrEqual(100 * 1024 - 5)
          expect(counted).toBeGreaterThan(100 * 1024 - 200)
          world.lastLink().toClient.release()
          const received = yield* Effect.either(readAll(connection))
          expect(Either.isLeft(received)).toBe(true)
        })
      )
  )

  test("a slow reader that takes 48 KiB every 600 ms (never idle for 1 s) gets the whole file", () =>
    inMemory(
      {
        timeoutSeconds: 1,
        serverFiles: { "grande.bin": seededBytes(2 * MIB, 8) },
        links: { toClient: { capacity: 64 * 1024, held: true } }
      },
      (world) =>
        Effect.gen(function* () {
          const connection = yield* world.connect()
          yield* connection.write(encodeRequest({ _tag: "Download", name: "grande.bin" }))
          const reply = yield* Effect.fork(readAll(connection))
          let steps = 0
          while (running(reply)) {
            yield* elapse(600)
            world.lastLink().toClient.pass(48 * 1024)
            yield* settle
            steps++
          }
          expect((yield* Fiber.join(reply)).length).toBe(5 + 2 * MIB)
          // 26 s in all, 26 times the idle deadline, and never cut.
          expect(steps).toBe(Math.ceil((5 + 2 * MIB) / (48 * 1024)))
          // The client closes after reading everything: that close makes the line `ok`.
          yield* connection.close
          yield* settle
          expect(world.logged(`baixar grande.bin ok ${2 * MIB} bytes`).length).toBe(1)
        })
    ))
})

describe("the server's grace period at shutdown", () => {
  test("an upload still running when the grace period ends is cut: the client hears 01, the log says so", () =>
    inMemory({ timeoutSeconds: 30 }, (world) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const activity = { active: 0, ended: 0, cut: 0 }
        const { port } = yield* serveFolder({ hostname: "127.0.0.1", port: 0, graceMillis: 5000, activity }).pipe(
          Effect.provide(world.serverLayer),
          Scope.extend(scope)
        )
        const connection = yield* world.transport.connect("127.0.0.1", port)
        yield* connection.write(bytesOf(encodeRequest({ _tag: "Upload", name: "lento.bin" }), be32(MIB), "início"))
        const reply = yield* Effect.fork(readAll(connection))
        yield* settle
        expect(activity.active).toBe(1)
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* elapse(4999)
        expect([running(closing), running(reply)]).toEqual([true, true])
        yield* elapse(1)
        yield* Fiber.join(closing)
        expect(hexOf(yield* Fiber.join(reply))).toBe("0001")
        expect(activity).toEqual({ active: 0, ended: 1, cut: 1 })
        expect(
          world.logged("enviar lento.bin cortado: o servidor foi encerrado antes do fim 7 bytes 5000 ms").length
        ).toBe(1)
        expect(world.server.temporaries()).toEqual([])
      })
    ))

  test("with nothing in flight, closing does not wait for the grace period", () =>
    inMemory({}, (world) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        yield* serveFolder({ hostname: "127.0.0.1", port: 0, graceMillis: 5000 }).pipe(
          Effect.provide(world.serverLayer),
          Scope.extend(scope)
        )
        const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* settle
        expect(running(closing)).toBe(false)
      })
    ))
})

describe("the client's deadlines", () => {
  test("a server that never answers the connect: Timeout Connect at the client's timeout, not before", () =>
    inMemory({ timeoutSeconds: 3 }, (world) =>
      Effect.gen(function* () {
        world.network.unanswered.add(world.port)
        const attempt = yield* Effect.fork(world.client(list))
        yield* elapse(2999)
        expect(running(attempt)).toBe(true)
        yield* elapse(1)
        expect(yield* Fiber.join(attempt)).toEqual(Exit.fail(new Timeout({ phase: "Connect", seconds: 3 })))
      })
    ))

  /** Runs `operation` against a scripted peer, and checks it fails with Timeout Idle exactly at 1 s. */
  const stalls = (
    script: Script,
    operation: Effect.Effect<unknown, unknown, ClientServices>,
    files: Record<string, string> = {}
  ) =>
    inMemory({ timeoutSeconds: 1, script, clientFiles: files }, (world) =>
      Effect.gen(function* () {
        const attempt = yield* Effect.fork(world.client(operation))
        yield* elapse(999)
        expect(running(attempt)).toBe(true)
        yield* elapse(1)
        expect(yield* Fiber.join(attempt)).toEqual(Exit.fail(new Timeout({ phase: "Idle", seconds: 1 })))
        return world
      })
    )

  test("a stall before any status: Timeout Idle, nothing written", async () => {
    const world = await stalls({ reply: [], then: "stall" }, download("a.txt"))
    expect(world.local.files.size).toBe(0)
  })

  test("a stall in the middle of a body: Timeout Idle, only the partial holds what came", async () => {
    const world = await stalls({ reply: [send(0, be32(10), "hel"), send("lo")], then: "stall" }, download("a.txt"))
    expect(world.local.text("a.txt.parcial")).toBe("hello")
    expect(world.local.files.size).toBe(1)
  })

  test.each([
    ["after the manifest", [send(0, be32(1), named("a.txt"), be32(5))], downloadMany("*.txt")],
    ["in the middle of a listing", [send(0, be32(100), "[{")], list],
    ["before the upload's first status", [], upload("local.txt")],
    ["after the upload was accepted and its data sent", [send(0)], upload("local.txt")],
    ["after the resume's first status", [send(0)], resume("local.txt")]
  ] as const)("a stall %s: Timeout Idle, the local file untouched", async (_, reply, operation) => {
    const world = await stalls({ reply, then: "stall" }, operation, { "local.txt": "local" })
    expect([...world.local.files.keys()].filter((name) => !name.endsWith(".parcial"))).toEqual(["local.txt"])
    expect(world.local.text("local.txt")).toBe("local")
  })

  test("a server that stops reading in the middle of an upload: Timeout Idle once the pipe stays full", () =>
    // The server waits 5 s for data: the client's own 1 s deadline is what is checked.
    inMemory(
      {
        timeoutSeconds: 5,
        clientTimeoutSeconds: 1,
        clientFiles: { "up.bin": seededBytes(4 * MIB, 9) },
        links: { toServer: { held: true } }
      },
      (world) =>
        Effect.gen(function* () {
          const attempt = yield* Effect.fork(world.client(upload("up.bin")))
          yield* settle
          // The request and the first 100 KiB get through; then the server takes nothing more.
          world.lastLink().toServer.pass(100 * 1024)
          yield* settle
          yield* elapse(999)
          expect(running(attempt)).toBe(true)
          yield* elapse(1)
          expect(yield* Fiber.join(attempt)).toEqual(Exit.fail(new Timeout({ phase: "Idle", seconds: 1 })))
          expect(world.server.files.size).toBe(0)
        })
    ))
})

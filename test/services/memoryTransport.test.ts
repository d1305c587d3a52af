import { describe, expect, test } from "bun:test"
import { Effect, Either, Fiber, Option, type Scope, TestClock } from "effect"
import { ConnectionFailure, Timeout } from "../../src/domain/errors.ts"
import type { ByteSink } from "../../src/services/ByteSink.ts"
import { MemoryNetwork, makeMemoryTransport } from "../../src/services/transport/MemoryTransport.ts"
import type { Connection } from "../../src/services/transport/Transport.ts"
import { failureOf } from "../support/effect.ts"
import { connectedPair, readAll, readBytes, runVirtual } from "../support/memory.ts"

/**
 * The in-memory transport the program tests run on: the live transport's
 * state, pumps and watchdog over pipes that a test segments, fills, holds
 * and resets, with every deadline on the TestClock.
 */

const bytes = (count: number, seed = 1) => Uint8Array.from({ length: count }, (_, i) => (i * 31 + seed) & 0xff)

/** Runs under a TestClock, as the program tests do. */
const run = runVirtual
const pair = connectedPair

const ok = async <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => {
  const exit = await run(effect)
  if (exit._tag === "Failure") throw new Error(String(exit.cause))
  return exit.value
}

/** Every segment `connection` reads until `total` bytes have come. */
const segmentsOf = (connection: Connection, total: number) =>
  Effect.gen(function* () {
    const sizes: Array<number> = []
    for (let have = 0; have < total; ) {
      const segment = yield* connection.read()
      if (Option.isNone(segment)) break
      sizes.push(segment.value.length)
      have += segment.value.length
    }
    return sizes
  })

describe("segments", () => {
  test("by default each write arrives as it was made", async () => {
    const sizes = await ok(
      Effect.gen(function* () {
        const { client, server } = yield* pair()
        yield* client.write(bytes(3))
        yield* client.write(bytes(5))
        return yield* segmentsOf(server, 8)
      })
    )
    expect(sizes).toEqual([3, 5])
  })

  test("a fixed size cuts and joins writes; a list of sizes is used in turn, the last one repeated", async () => {
    const [fixed, listed] = await ok(
      Effect.gen(function* () {
        const first = yield* pair({ toServer: { segments: 4 } })
        yield* first.client.write(bytes(3))
        yield* first.client.write(bytes(7))
        const second = yield* pair({ toClient: { segments: [1, 2, 3] } })
        yield* second.server.write(bytes(10))
        return [yield* segmentsOf(first.server, 10), yield* segmentsOf(second.client, 10)]
      })
    )
    expect(fixed).toEqual([4, 4, 2])
    expect(listed).toEqual([1, 2, 3, 3, 1])
  })

  test("the bytes arrive whole and in order whatever the cut", async () => {
    const body = bytes(100_000, 7)
    const received = await ok(
      Effect.gen(function* () {
        const { client, server, link } = yield* pair({ toServer: { segments: (index) => 1 + (index % 13) } })
        yield* client.write(body)
        link.shutdownWrite("client")
        return yield* readAll(server)
      })
    )
    expect(received).toEqual(body)
  })
})

describe("capacity and drain", () => {
  test("a write larger than the pipe holds goes out as the reader takes it (the writer waits for drain)", async () => {
    const body = bytes(50_000, 3)
    const received = await ok(
      Effect.gen(function* () {
        const { client, server, link } = yield* pair({ toClient: { capacity: 1000, segments: 300 } })
        const writing = yield* Effect.fork(server.write(body))
        const got = yield* readBytes(client, body.length)
        yield* Fiber.join(writing)
        expect(link.toClient.written()).toBe(body.length)
        return got
      })
    )
    expect(received).toEqual(body)
  })

  test("a held pipe fills up: the writer stalls and fails at the idle deadline, not before", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const { client, server, link } = yield* pair({ toClient: { capacity: 1000 } })
        link.toClient.hold()
        const onIdle = () => new Timeout({ phase: "Idle", seconds: 2 })
        const writing = yield* Effect.fork(server.write(bytes(5000), { millis: 2000, onIdle }))
        yield* TestClock.adjust("1999 millis")
        expect(writing.unsafePoll()).toBeNull()
        expect(link.toClient.delivered()).toBe(0)
        yield* TestClock.adjust("1 millis")
        void client
        return yield* Fiber.join(writing)
      })
    )
    expect(failureOf(exit)).toEqual(new Timeout({ phase: "Idle", seconds: 2 }))
  })

  test("a receiver that stops reading pauses the pipe once its queue passes the high-water mark", async () => {
    const delivered = await ok(
      Effect.gen(function* () {
        const { server, link } = yield* pair({ toClient: { capacity: 64 * 1024 } })
        yield* Effect.fork(server.write(bytes(4 * 1024 * 1024)))
        yield* TestClock.adjust("1 millis")
        return link.toClient.delivered()
      })
    )
    // 1 MiB queued pauses the socket; the rest waits in the pipe or with the writer.
    expect(delivered).toBeGreaterThanOrEqual(1024 * 1024)
    expect(delivered).toBeLessThan(2 * 1024 * 1024)
  })

  test("receiveInto moves a body straight into a sink, and leaves what follows it for read", async () => {
    const [into, rest] = await ok(
      Effect.gen(function* () {
        const { client, server } = yield* pair({ toServer: { segments: 700 } })
        yield* client.write(bytes(5000, 9))
        const parts: Array<Uint8Array> = []
        const sink: ByteSink<never> = { write: (part) => Either.right(void parts.push(part.slice())) }
        const moved = yield* server.receiveInto(sink, {
          length: 4000,
          millis: 1000,
          onIdle: () => new Timeout({ phase: "Idle", seconds: 1 })
        })
        expect(moved).toBe(4000)
        return [Buffer.concat(parts), yield* readBytes(server, 1000)] as const
      })
    )
    expect(new Uint8Array(into)).toEqual(bytes(5000, 9).subarray(0, 4000))
    expect(rest).toEqual(bytes(5000, 9).subarray(4000))
  })
})

describe("ends", () => {
  test("close: the peer gets what was written, then the end; both ends are closed once both sides have", async () => {
    const result = await ok(
      Effect.gen(function* () {
        const { client, server, link } = yield* pair()
        yield* server.write(bytes(10))
        yield* server.close
        const got = yield* readAll(client)
        expect(link.isClosed).toBe(false)
        yield* client.close
        yield* TestClock.adjust("1 millis")
        return { got: got.length, closed: link.isClosed, after: yield* Effect.either(server.write(bytes(1))) }
      })
    )
    expect(result.got).toBe(10)
    expect(result.closed).toBe(true)
    expect(Either.isLeft(result.after)).toBe(true)
  })

  test("a half-closed side still reads the reply", async () => {
    const got = await ok(
      Effect.gen(function* () {
        const { client, server, link } = yield* pair()
        yield* client.write(bytes(4))
        link.shutdownWrite("client")
        const request = yield* readAll(server)
        yield* server.write(request)
        yield* server.close
        return yield* readAll(client)
      })
    )
    expect(got).toEqual(bytes(4))
  })

  test("reset: both ends fail with Reset, and nothing in flight arrives", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const { client, server, link } = yield* pair()
        link.toServer.hold()
        yield* client.write(bytes(10))
        link.reset()
        return yield* server.read()
      })
    )
    expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionFailure", reason: "Reset" })
  })
})

describe("finish: the peer's end after the last byte", () => {
  /** The server writes `count` bytes and finishes with a 1 s deadline (looks every 250 ms); `then` plays the client. */
  const finishing = <A>(
    count: number,
    then: (
      sides: Effect.Effect.Success<ReturnType<typeof pair>> & { readonly waiting: () => boolean }
    ) => Effect.Effect<A, unknown, Scope.Scope>
  ) =>
    ok(
      Effect.gen(function* () {
        const sides = yield* pair()
        yield* sides.server.write(bytes(count))
        const ending = yield* Effect.fork(sides.server.finish(1000))
        const played = yield* then({ ...sides, waiting: () => ending.unsafePoll() === null })
        return { ending: yield* Fiber.join(ending), played, unconfirmed: sides.server.unconfirmed() }
      })
    )

  test("the client reads everything and closes: Closed, with no look at what it acknowledged", async () => {
    const { ending, played, unconfirmed } = await finishing(10, ({ client }) =>
      Effect.tap(readAll(client), () => client.close)
    )
    expect(played.length).toBe(10)
    expect(ending).toEqual({ _tag: "Closed" })
    // Nothing was looked at: no byte is known acknowledged.
    expect(unconfirmed).toBe(10)
  })

  test("the client resets: Broken, even after reading everything", async () => {
    const { ending } = await finishing(10, ({ client, link }) =>
      Effect.zipRight(
        readBytes(client, 10),
        Effect.sync(() => link.reset())
      )
    )
    expect(ending).toMatchObject({ _tag: "Broken", failure: { reason: "Reset" } })
  })

  test("a silent client that got everything: Acknowledged at the deadline, not before", async () => {
    const { ending, unconfirmed, played } = await finishing(10, ({ client, waiting }) =>
      Effect.gen(function* () {
        yield* readBytes(client, 10)
        yield* TestClock.adjust("999 millis")
        const before = waiting()
        yield* TestClock.adjust("1 millis")
        return before
      })
    )
    expect(played).toBe(true)
    expect(ending).toEqual({ _tag: "Acknowledged" })
    expect(unconfirmed).toBe(0)
  })

  test("a client that takes nothing: Stalled at the deadline, and the connection is cut", async () => {
    const { ending, played } = await finishing(10, ({ client, link }) =>
      Effect.gen(function* () {
        link.toClient.hold()
        yield* TestClock.adjust("1 second")
        link.toClient.release()
        return yield* Effect.either(readAll(client))
      })
    )
    expect(ending).toEqual({ _tag: "Stalled" })
    expect(Either.isLeft(played)).toBe(true)
  })

  test("a slow client is looked at once per probe interval: a reset then leaves a count of what arrived", async () => {
    const { ending, unconfirmed } = await finishing(100, ({ link }) =>
      Effect.gen(function* () {
        link.toClient.hold()
        link.toClient.pass(60)
        yield* TestClock.adjust("250 millis")
        link.reset()
      })
    )
    expect(ending).toMatchObject({ _tag: "Broken" })
    expect(unconfirmed).toBe(40)
  })

  test("a client that ended its sending before the last byte: Acknowledged once a look finds everything delivered", async () => {
    const { ending } = await ok(
      Effect.gen(function* () {
        const { client, server, link } = yield* pair()
        link.shutdownWrite("client")
        yield* readAll(server)
        yield* server.write(bytes(10))
        const ending = yield* Effect.fork(server.finish(30_000))
        yield* readAll(client)
        yield* TestClock.adjust("1 second")
        return { ending: yield* Fiber.join(ending) }
      })
    )
    expect(ending).toEqual({ _tag: "Acknowledged" })
  })
})

describe("connect", () => {
  test("no listener on the port: Refused at once", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const transport = yield* makeMemoryTransport(new MemoryNetwork())
        return yield* transport.connect("127.0.0.1", 9)
      })
    )
    expect(failureOf(exit)).toBeInstanceOf(ConnectionFailure)
    expect(failureOf(exit)).toMatchObject({ reason: "Refused" })
  })

  test("an unanswered port: the connect waits until the caller gives up", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const network = new MemoryNetwork()
        network.unanswered.add(9)
        const transport = yield* makeMemoryTransport(network)
        return yield* transport
          .connect("127.0.0.1", 9)
          .pipe(Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => "gave up" as const }), (connecting) =>
            Effect.flatMap(Effect.fork(connecting), (fiber) =>
              Effect.zipRight(TestClock.adjust("3 seconds"), Fiber.join(fiber))
            )
          )
      })
    )
    expect(failureOf(exit)).toBe("gave up")
  })

  test("the server sees the client's address and port; the client sees the server's", async () => {
    const [client, server] = await ok(
      Effect.gen(function* () {
        const { client, server } = yield* pair()
        return [client.remote, server.remote] as const
      })
    )
    expect(client).toBe("127.0.0.1:30000")
    expect(server).toBe("127.0.0.1:50000")
  })
})

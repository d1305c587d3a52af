import { describe, expect, test } from "bun:test"
import { Cause, Effect, Exit, Fiber, Option, type Scope } from "effect"
import type { LinkOptions } from "../../src/services/transport/MemoryTransport.ts"
import type { Connection } from "../../src/services/transport/Transport.ts"
import { concatBytes, seededBytes, unevenChunks } from "../support/bytes.ts"
import { failureOf } from "../support/effect.ts"
import { connectedPair, elapse, readAll, readBytes, runVirtual, settle } from "../support/memory.ts"
import {
  type CountingSource,
  collectingSink,
  countingSource,
  firstDifference,
  pattern,
  SinkBroke,
  SourceBroke,
  sharedSource
} from "./sources.ts"

/**
 * The pumps every transport runs (pumps.ts over socketState.ts: `read` with a
 * deadline, `receiveInto`, `sendFrom`), driven over the in-memory transport
 * under a TestClock: the test holds both ends of one connection, writes on
 * one, moves the clock and looks at the other. A deadline is checked to the
 * millisecond (nothing just before it, the failure at it), and nothing
 * waits in real time. What only the kernel shows (its buffers, the count of
 * unacknowledged bytes, a reset) stays in transport.test.ts, on loopback.
 */

const MIB = 1024 * 1024

class Idle {
  readonly _tag = "Idle"
}
const idle = () => new Idle()

/** Whether a forked fiber is still running. */
const running = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) => fiber.unsafePoll() === null

/** Runs under the TestClock and gives the value, or throws what failed (an `expect` as it was). */
const ok = async <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> => {
  const exit = await runVirtual(effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

const utf8 = (text: string) => new TextEncoder().encode(text)
const text = (segment: Option.Option<Uint8Array>) => Option.map(segment, (bytes) => new TextDecoder().decode(bytes))

const expectBytes = (got: Uint8Array, want: Uint8Array) => {
  expect(got.length).toBe(want.length)
  expect(firstDifference(got, want)).toBe(-1)
}

/** Writes `bytes` in consecutive pieces of seeded, uneven sizes up to `max`. */
const writeUneven = (connection: Connection, bytes: Uint8Array, max: number, seed: number) =>
  Effect.forEach(unevenChunks(bytes, seed, max), (piece) => connection.write(piece), { discard: true })

/** The failure of a fiber that ended, or undefined while it runs or after it succeeded. */
const failureNow = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) => {
  const exit = fiber.unsafePoll()
  return exit === null || Exit.isSuccess(exit) ? undefined : failureOf(exit)
}

describe("read with a deadline", () => {
  test("a segment that arrives within the deadline is read", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const reading = yield* Effect.fork(client.read({ millis: 2_000, onIdle: idle }))
        yield* elapse(100)
        yield* server.write(utf8("olá"))
        expect(text(yield* Fiber.join(reading))).toEqual(Option.some("olá"))
      })
    ))

  test("nothing within the deadline: nothing 1 ms before it, the onIdle error at it", () =>
    ok(
      Effect.gen(function* () {
        const { client } = yield* connectedPair()
        const reading = yield* Effect.fork(client.read({ millis: 300, onIdle: idle }))
        yield* elapse(299)
        expect(running(reading)).toBe(true)
        yield* elapse(1)
        expect(failureNow(reading)).toBeInstanceOf(Idle)
      })
    ))

  test("the deadline bounds each wait, not the sum: six segments 150 ms apart under a 300 ms deadline", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const lines = Array.from({ length: 6 }, (_, i) => `parte ${i};`)
        const reading = yield* Effect.fork(
          Effect.gen(function* () {
            let all = ""
            while (all.split(";").length <= 6) {
              all += Option.getOrElse(text(yield* client.read({ millis: 300, onIdle: idle })), () => "")
            }
            return all
          })
        )
        for (const line of lines) {
          yield* elapse(150)
          yield* server.write(utf8(line))
        }
        expect(yield* Fiber.join(reading)).toBe(lines.join(""))
      })
    ))

  test("a wait that begins late gets its whole deadline, not what was left of an earlier one", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const first = yield* Effect.fork(client.read({ millis: 300, onIdle: idle }))
        yield* elapse(200)
        yield* server.write(utf8("primeira"))
        expect(text(yield* Fiber.join(first))).toEqual(Option.some("primeira"))
        const second = yield* Effect.fork(client.read({ millis: 300, onIdle: idle }))
        // The first wait's deadline (300 ms from its start) passes here: it must not end the second.
        yield* elapse(299)
        expect(running(second)).toBe(true)
        yield* elapse(1)
        expect(failureNow(second)).toBeInstanceOf(Idle)
      })
    ))

  test("an interrupted wait leaves the connection readable, and its deadline does not end a later wait", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const interrupted = yield* Effect.fork(client.read({ millis: 50, onIdle: idle }))
        yield* elapse(10)
        yield* Fiber.interrupt(interrupted)
        const later = yield* Effect.fork(client.read({ millis: 2_000, onIdle: idle }))
        yield* elapse(290)
        expect(running(later)).toBe(true)
        yield* server.write(utf8("depois"))
        expect(text(yield* Fiber.join(later))).toEqual(Option.some("depois"))
      })
    ))

  test("a segment already queued is handed over even with a deadline of 0", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        yield* server.write(utf8("já chegou"))
        yield* settle
        expect(text(yield* client.read({ millis: 0, onIdle: idle }))).toEqual(Option.some("já chegou"))
      })
    ))

  test("a segment already queued, then a bounded wait that expires, then None once the peer closed, and None again", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        yield* server.write(utf8("abc"))
        yield* settle
        expect(text(yield* client.read())).toEqual(Option.some("abc"))
        const meanwhile = yield* Effect.fork(client.read({ millis: 30, onIdle: idle }))
        yield* elapse(30)
        expect(failureNow(meanwhile)).toBeInstanceOf(Idle)
        yield* server.close
        expect(yield* client.read()).toEqual(Option.none())
        expect(yield* client.read()).toEqual(Option.none())
      })
    ))
})

describe("receiveInto", () => {
  const stream = pattern(0, 4 * MIB + 64 * 1024)
  const receive = (connection: Connection, sink: ReturnType<typeof collectingSink>, length: number, millis = 5_000) =>
    connection.receiveInto(sink, { length, millis, onIdle: idle })

  test("4 MiB sent in many writes, cut into uneven segments, reach the sink byte for byte; it returns the length", () =>
    ok(
      Effect.gen(function* () {
        const length = 4 * MIB
        const { client, server } = yield* connectedPair({ toServer: { segments: (i) => 1 + ((i * 7919) % 70_000) } })
        const sink = collectingSink()
        yield* Effect.fork(writeUneven(client, stream.subarray(0, length), 200 * 1024, 71))
        expect(yield* receive(server, sink, length)).toBe(length)
        expect(sink.parts.length).toBeGreaterThan(1)
        expectBytes(sink.bytes(), stream.subarray(0, length))
      })
    ))

  test("a length of 0 hands nothing over and returns 0 at once", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const sink = collectingSink()
        yield* server.write(utf8("not for the sink"))
        expect(yield* receive(client, sink, 0)).toBe(0)
        expect(new TextDecoder().decode(yield* readBytes(client, 16))).toBe("not for the sink")
        expect(sink.parts.length).toBe(0)
      })
    ))

  test.each([
    ["arriving while it waits", false],
    ["already queued when it starts", true]
  ])("length + extra in one write (%s): the sink gets exactly length, read gets the extra", (_label, queued) =>
    ok(
      Effect.gen(function* () {
        const [length, extra] = [1000, 537]
        const { client, server } = yield* connectedPair()
        const sink = collectingSink()
        if (queued) {
          yield* server.write(stream.subarray(0, length + extra))
          yield* settle
        }
        const receiving = yield* Effect.fork(receive(client, sink, length))
        if (!queued) {
          yield* settle
          expect(running(receiving)).toBe(true)
          yield* server.write(stream.subarray(0, length + extra))
        }
        expect(yield* Fiber.join(receiving)).toBe(length)
        expectBytes(sink.bytes(), stream.subarray(0, length))
        expectBytes(yield* readBytes(client, extra), stream.subarray(length, length + extra))
      })
    )
  )

  test.each([
    ["arriving while it waits", false],
    ["mostly queued when it starts", true]
  ])(
    "length + extra across segment boundaries (%s): the sink gets exactly length, read gets the rest",
    (_label, queued) =>
      ok(
        Effect.gen(function* () {
          const length = MIB + 17
          const total = 3 * MIB + 12_345
          const { client, server } = yield* connectedPair({ toClient: { segments: [1, 4_000, 65_537, 30_000] } })
          const sink = collectingSink()
          const writing = yield* Effect.fork(writeUneven(server, stream.subarray(0, total), 64 * 1024, 5))
          if (queued) yield* settle
          expect(yield* receive(client, sink, length)).toBe(length)
          expectBytes(sink.bytes(), stream.subarray(0, length))
          expectBytes(yield* readBytes(client, total - length), stream.subarray(length, total))
          yield* Fiber.join(writing)
        })
      )
  )

  test("bytes queued before it starts go to the sink first, before what arrives later, in order", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        let laterSent = false
        const firstCalls: Array<boolean> = []
        const sink = collectingSink({ onWrite: () => firstCalls.push(laterSent) })
        yield* server.write(stream.subarray(0, 1000))
        yield* settle
        const receiving = yield* Effect.fork(receive(client, sink, 3000))
        yield* settle
        // The queued bytes were handed over before the later write was even made.
        expectBytes(sink.bytes(), stream.subarray(0, 1000))
        laterSent = true
        yield* server.write(stream.subarray(1000, 3000))
        expect(yield* Fiber.join(receiving)).toBe(3000)
        expectBytes(sink.bytes(), stream.subarray(0, 3000))
        expect(firstCalls[0]).toBe(false)
        expect(firstCalls.at(-1)).toBe(true)
      })
    ))

  test("a queue full enough to pause reading is drained into the sink, and reading resumes for the rest", () =>
    ok(
      Effect.gen(function* () {
        const length = 4 * MIB
        const { client, server, link } = yield* connectedPair()
        const sink = collectingSink()
        const writing = yield* Effect.fork(writeUneven(server, stream.subarray(0, length), 256 * 1024, 9))
        yield* settle
        // Nobody reads: the queue passed its high-water mark and the socket stopped taking bytes.
        expect(link.toClient.delivered()).toBeLessThan(length)
        expect(running(writing)).toBe(true)
        expect(yield* receive(client, sink, length)).toBe(length)
        expectBytes(sink.bytes(), stream.subarray(0, length))
        yield* Fiber.join(writing)
      })
    ))

  test.each([
    ["while it waits", false],
    ["before it starts (all queued, then the end)", true]
  ])(
    "the peer closing after k < length bytes (%s): returns k, the sink has those k, then read gives None",
    (_label, queued) =>
      ok(
        Effect.gen(function* () {
          const k = 5_000
          const { client, server } = yield* connectedPair()
          const sink = collectingSink()
          const peer = Effect.zipRight(writeUneven(server, stream.subarray(0, k), 700, 3), server.close)
          if (queued) {
            yield* peer
            yield* settle
          }
          const receiving = yield* Effect.fork(receive(client, sink, 100_000))
          if (!queued) yield* peer
          expect(yield* Fiber.join(receiving)).toBe(k)
          expectBytes(sink.bytes(), stream.subarray(0, k))
          expect(yield* client.read()).toEqual(Option.none())
        })
      )
  )

  test("the peer resetting the connection mid-receive fails it with a ConnectionFailure Reset, the sink keeping what came", () =>
    ok(
      Effect.gen(function* () {
        const { client, server, link } = yield* connectedPair()
        const sink = collectingSink()
        const receiving = yield* Effect.fork(receive(client, sink, 10_000))
        yield* server.write(stream.subarray(0, 1000))
        yield* settle
        link.reset()
        const exit = yield* Fiber.await(receiving)
        expect(failureOf(exit)).toMatchObject({ _tag: "ConnectionFailure", reason: "Reset" })
        expectBytes(sink.bytes(), stream.subarray(0, 1000))
      })
    ))

  /** Six 1,000-byte segments, each its own write: queued before the receive starts, or arriving while it waits. */
  const sixPieces = (server: Connection, queued: boolean, start: Effect.Effect<Fiber.RuntimeFiber<number, unknown>>) =>
    Effect.gen(function* () {
      const pieces = Array.from({ length: 6 }, (_, i) => stream.subarray(i * 1000, (i + 1) * 1000))
      if (queued) {
        for (const piece of pieces) {
          yield* server.write(piece)
          yield* settle
        }
        return yield* start
      }
      const receiving = yield* start
      for (const piece of pieces) {
        yield* settle
        if (!running(receiving)) break
        yield* server.write(piece)
      }
      return receiving
    })

  test.each([
    ["on a segment arriving while it waits", false],
    ["on a queued segment", true]
  ])("a sink returning Left (%s) fails the receive with exactly that error, at once", (_label, queued) =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const error = new SinkBroke()
        const sink = collectingSink({ failAt: 3, error })
        const receiving = yield* sixPieces(server, queued, Effect.fork(receive(client, sink, 6000)))
        yield* settle
        expect(failureNow(receiving)).toBe(error)
        // Two writes went through before the failing one, all from the start of the stream.
        expect(sink.parts.length).toBe(2)
        expectBytes(sink.bytes(), stream.subarray(0, sink.total()))
      })
    )
  )

  test.each([
    ["on a segment arriving while it waits", false],
    ["on a queued segment", true]
  ])("a sink that throws (%s) ends the receive as a defect, not a hang", (_label, queued) =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const thrown = new Error("the sink broke on purpose")
        const sink = collectingSink({ throwAt: 2, thrown })
        const receiving = yield* sixPieces(server, queued, Effect.fork(receive(client, sink, 6000)))
        yield* settle
        const exit = receiving.unsafePoll()
        if (exit === null || Exit.isSuccess(exit)) throw new Error("expected a defect")
        expect(Cause.dieOption(exit.cause)).toEqual(Option.some(thrown))
        expect(Option.isNone(Cause.failureOption(exit.cause))).toBe(true)
        expect(sink.parts.length).toBe(1)
      })
    )
  )

  test("a peer that sends nothing: nothing 1 ms before idleMillis, the onIdle error at it", () =>
    ok(
      Effect.gen(function* () {
        const { client } = yield* connectedPair()
        const sink = collectingSink()
        const receiving = yield* Effect.fork(receive(client, sink, 1000, 300))
        yield* elapse(299)
        expect(running(receiving)).toBe(true)
        yield* elapse(1)
        expect(failureNow(receiving)).toBeInstanceOf(Idle)
        expect(sink.parts.length).toBe(0)
      })
    ))

  test("a peer that stops partway: the sink keeps what came, and the deadline counts from the last segment", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const sink = collectingSink()
        const receiving = yield* Effect.fork(receive(client, sink, 1000, 300))
        yield* elapse(200)
        yield* server.write(stream.subarray(0, 700))
        // 300 ms from the start have passed: the segment at 200 ms restarted the wait.
        yield* elapse(299)
        expect(running(receiving)).toBe(true)
        yield* elapse(1)
        expect(failureNow(receiving)).toBeInstanceOf(Idle)
        expectBytes(sink.bytes(), stream.subarray(0, 700))
      })
    ))

  test("idleMillis bounds each wait, not the transfer: six segments 150 ms apart under 300 ms", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const sink = collectingSink()
        const receiving = yield* Effect.fork(receive(client, sink, 600, 300))
        for (let i = 0; i < 6; i++) {
          yield* elapse(150)
          yield* server.write(stream.subarray(i * 100, (i + 1) * 100))
        }
        expect(yield* Fiber.join(receiving)).toBe(600)
        expectBytes(sink.bytes(), stream.subarray(0, 600))
      })
    ))

  test("interrupting a waiting receive unhooks it: later bytes go to read, and its deadline never fires", () =>
    ok(
      Effect.gen(function* () {
        const { client, server } = yield* connectedPair()
        const sink = collectingSink()
        const receiving = yield* Effect.fork(receive(client, sink, 100, 100))
        yield* elapse(30)
        expect(Exit.isInterrupted(yield* Fiber.interrupt(receiving))).toBe(true)
        const later = yield* Effect.fork(client.read({ millis: 2_000, onIdle: idle }))
        yield* elapse(300)
        expect(running(later)).toBe(true)
        yield* server.write(utf8("depois"))
        expect(text(yield* Fiber.join(later))).toEqual(Option.some("depois"))
        expect(sink.parts.length).toBe(0)
      })
    ))

  test("a receive after an earlier one on the same connection picks up exactly where it stopped", () =>
    ok(
      Effect.gen(function* () {
        const total = 2 * MIB + 3
        const { client, server } = yield* connectedPair()
        const [first, second] = [collectingSink(), collectingSink()]
        yield* Effect.fork(writeUneven(server, stream.subarray(0, total), 100 * 1024, 13))
        expect(yield* receive(client, first, 777_777)).toBe(777_777)
        expect(yield* receive(client, second, total - 777_777)).toBe(total - 777_777)
        expectBytes(first.bytes(), stream.subarray(0, 777_777))
        expectBytes(second.bytes(), stream.subarray(777_777, total))
      })
    ))
})

describe("sendFrom", () => {
  /** Sends `length` bytes of the pattern from the client to a server that reads them all; what arrived and what onSent told. */
  const sendPattern = (source: CountingSource, length: number, links: LinkOptions = {}) =>
    Effect.gen(function* () {
      const { client, server } = yield* connectedPair(links)
      const sent: Array<number> = []
      const receiving = yield* Effect.fork(readAll(server))
      yield* client.sendFrom(source, { length, millis: 10_000, onIdle: idle, onSent: (bytes) => sent.push(bytes) })
      yield* client.close
      return { received: yield* Fiber.join(receiving), sent }
    })

  const expectPattern = (received: Uint8Array, length: number) => {
    expect(received.length).toBe(length)
    expect(firstDifference(received, pattern(0, length))).toBe(-1)
  }

  test("8 MiB through a 64 KiB buffer to a reader that holds the sender back: byte for byte, onSent adds up", () =>
    ok(
      Effect.gen(function* () {
        const length = 8 * MIB
        const source = countingSource(64 * 1024, { limit: length })
        // A pipe that holds less than a buffer's worth, in odd segments: the socket takes chunks in pieces.
        const { received, sent } = yield* sendPattern(source, length, {
          toServer: { capacity: 100_000, segments: 9_999 }
        })
        expectPattern(received, length)
        expect(sent.reduce((a, b) => a + b, 0)).toBe(length)
        expect(sent.every((bytes) => bytes > 0)).toBe(true)
        expect(sent.length).toBeGreaterThan(source.calls())
        expect(source.filled()).toBe(length)
        expect(source.calls()).toBe(length / (64 * 1024))
        expect(source.misuses).toEqual([])
      })
    ))

  // [buffer size, length, short fills]
  const shapes: ReadonlyArray<readonly [number, number, boolean]> = [
    [64 * 1024, 3 * 64 * 1024 + 17, false],
    [64 * 1024, 1_000, false],
    [64 * 1024, 1, false],
    [64 * 1024, 64 * 1024, false],
    [64 * 1024, 64 * 1024 - 1, false],
    [64 * 1024, 64 * 1024 + 1, false],
    [1, 1_000, false],
    [1 * MIB, 9 * MIB + 3, false],
    [64 * 1024, 5 * MIB + 11, true],
    [1_000, 100_003, true]
  ]

  test.each(shapes)("buffer of %p bytes, length %p (short fills: %p): exactly those bytes", (size, length, short) =>
    ok(
      Effect.gen(function* () {
        const source = countingSource(size, { short, limit: length })
        const { received, sent } = yield* sendPattern(source, length)
        expectPattern(received, length)
        expect(sent.reduce((a, b) => a + b, 0)).toBe(length)
        // The pump never asks for more than is left: the source hands out exactly `length`.
        expect(source.filled()).toBe(length)
        if (!short) expect(source.calls()).toBe(Math.ceil(length / size))
        expect(source.misuses).toEqual([])
      })
    )
  )

  test("a length of 0 sends nothing and never calls fill", () =>
    ok(
      Effect.gen(function* () {
        const source = countingSource(64 * 1024, { limit: 0 })
        const { received, sent } = yield* sendPattern(source, 0)
        expect(received.length).toBe(0)
        expect(sent.reduce((a, b) => a + b, 0)).toBe(0)
        expect(source.calls()).toBe(0)
      })
    ))

  test.each([1, 40, 200])(
    "fill throwing on call %p ends the send as a defect carrying the error, instead of hanging",
    (failAt) =>
      ok(
        Effect.gen(function* () {
          const inner = countingSource(64 * 1024, {})
          const boom = new Error("source exploded")
          let calls = 0
          const source = {
            buffer: inner.buffer,
            fill: (into: Uint8Array) => {
              calls++
              if (calls === failAt) throw boom
              return inner.fill(into)
            }
          }
          // A pipe smaller than one buffer: past the first chunk, fill runs from the drain callback.
          const { client, server } = yield* connectedPair({ toServer: { capacity: 50_000 } })
          yield* Effect.fork(readAll(server))
          const exit = yield* Effect.exit(client.sendFrom(source, { length: 64 * MIB, millis: 10_000, onIdle: idle }))
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) expect(Option.getOrUndefined(Cause.dieOption(exit.cause))).toBe(boom)
          expect(calls).toBe(failAt)
        })
      )
  )

  test.each([1, 2, 40, 200])(
    "fill returning Left on call %p fails the send with exactly that error, after the bytes before it",
    (failAt) =>
      ok(
        Effect.gen(function* () {
          const size = 64 * 1024
          const error = new SourceBroke()
          const source = countingSource(size, { failAt, error })
          const { client, server } = yield* connectedPair()
          const receiving = yield* Effect.fork(readAll(server))
          let sent = 0
          const exit = yield* Effect.exit(
            client.sendFrom(source, {
              length: 64 * MIB,
              millis: 10_000,
              onIdle: idle,
              onSent: (bytes) => {
                sent += bytes
              }
            })
          )
          expect(failureOf(exit)).toBe(error)
          // No fill after the failing one, and what went out is exactly what came before it.
          expect(source.calls()).toBe(failAt)
          const before = (failAt - 1) * size
          expect(sent).toBe(before)
          yield* client.close
          expectPattern(yield* Fiber.join(receiving), before)
        })
      )
  )

  test("a peer that never reads: nothing 1 ms before idleMillis, the onIdle error at it, and the pump stops", () =>
    ok(
      Effect.gen(function* () {
        const IDLE = 300
        const source = countingSource(64 * 1024, { cheap: true })
        const { client, server, link } = yield* connectedPair({ toServer: { held: true } })
        let idleCalls = 0
        let sent = 0
        const sending = yield* Effect.fork(
          client.sendFrom(source, {
            length: 1024 * MIB,
            millis: IDLE,
            onIdle: () => {
              idleCalls++
              return new Idle()
            },
            onSent: (bytes) => {
              sent += bytes
            }
          })
        )
        yield* elapse(IDLE - 1)
        expect(running(sending)).toBe(true)
        yield* elapse(1)
        expect(failureNow(sending)).toBeInstanceOf(Idle)
        expect(idleCalls).toBe(1)
        // The pipe took something, far from everything.
        const [callsAtFailure, sentAtFailure] = [source.calls(), sent]
        expect(sentAtFailure).toBeGreaterThan(0)
        expect(sentAtFailure).toBeLessThan(MIB)
        // The peer now reads: the pipe drains, and a pump still armed would fill again.
        link.toServer.release()
        yield* Effect.fork(readAll(server))
        yield* elapse(IDLE)
        expect(link.toServer.delivered()).toBe(sentAtFailure)
        expect(source.calls()).toBe(callsAtFailure)
        expect(sent).toBe(sentAtFailure)
      })
    ))

  test("idleMillis bounds each stall, not the transfer: a reader that pauses often, each time within it, gets everything", () =>
    ok(
      Effect.gen(function* () {
        const IDLE = 300
        const length = 8 * MIB
        const source = countingSource(64 * 1024, { cheap: true, limit: length })
        const { client, server, link } = yield* connectedPair({ toServer: { held: true } })
        const receiving = yield* Effect.fork(readBytes(server, length))
        const sending = yield* Effect.fork(client.sendFrom(source, { length, millis: IDLE, onIdle: idle }))
        // Half a MiB, then a pause of most of the idle time, again and again: 16 pauses, far more than IDLE in all.
        let pauses = 0
        while (running(sending)) {
          link.toServer.pass(MIB / 2)
          yield* elapse(IDLE - 1)
          pauses++
        }
        expect(yield* Fiber.join(sending)).toBeUndefined()
        expect(pauses).toBeGreaterThanOrEqual(length / (MIB / 2))
        expect((yield* Fiber.join(receiving)).length).toBe(length)
        expect(source.misuses).toEqual([])
      })
    ))

  test.each([
    ["a slow reader (the pump waits for drain)", true],
    ["a fast reader", false]
  ])("interrupting the sending fiber stops the pump, with %s", (_label, slow) =>
    ok(
      Effect.gen(function* () {
        const source = countingSource(64 * 1024, { cheap: true })
        // The reader takes what the test lets through: a little at a time (slow), or a MiB at a time (fast).
        const { client, server, link } = yield* connectedPair({ toServer: { held: true } })
        let received = 0
        yield* Effect.fork(
          Effect.gen(function* () {
            for (;;) {
              const next = yield* server.read()
              if (Option.isNone(next)) return
              received += next.value.length
            }
          })
        )
        const sending = yield* Effect.fork(
          client.sendFrom(source, { length: 64 * 1024 * MIB, millis: 10_000, onIdle: idle })
        )
        while (source.calls() < 100) {
          link.toServer.pass(slow ? 64 * 1024 : MIB)
          yield* settle
        }
        expect(Exit.isInterrupted(yield* Fiber.interrupt(sending))).toBe(true)
        yield* settle
        const [settled, receivedAtSettle] = [source.calls(), received]
        // The reader goes on reading what was in flight: the pipe drains with no pump left to wake.
        link.toServer.release()
        yield* elapse(1_000)
        expect(source.calls()).toBe(settled)
        expect(received).toBeGreaterThanOrEqual(receivedAtSettle)
        expect(link.toServer.delivered()).toBe(link.toServer.written())
      })
    )
  )

  test("three transfers through one shared 64 KiB buffer to readers that start late, in turn: each byte for byte", () =>
    ok(
      Effect.gen(function* () {
        const shared = new Uint8Array(64 * 1024)
        const payloads = [seededBytes(3 * MIB + 1, 71), seededBytes(2 * MIB + 7, 72), seededBytes(MIB + 3, 73)]
        const pairs = yield* Effect.forEach(payloads, () => connectedPair({ toClient: { held: true } }))
        const sends = yield* Effect.forEach(payloads, (payload, which) =>
          Effect.fork(
            pairs[which]!.server.sendFrom(sharedSource(payload, shared), {
              length: payload.length,
              millis: 10_000,
              onIdle: idle
            })
          )
        )
        yield* settle
        // Every pipe is full and every pump waits; the readers start one after another.
        const received: Array<Uint8Array> = []
        for (const [which, pair] of pairs.entries()) {
          pair.link.toClient.release()
          received.push(yield* readBytes(pair.client, payloads[which]!.length))
        }
        yield* Effect.forEach(sends, Fiber.join)
        for (const [which, bytes] of received.entries()) expectBytes(bytes, payloads[which]!)
        expect(concatBytes(received).length).toBe(payloads.reduce((a, b) => a + b.length, 0))
      })
    ))
})

import { expect, test } from "bun:test"
import { Effect, Fiber, TestClock, TestContext } from "effect"
import { encodeRequest } from "../../src/domain/operations.ts"
import type { Activity } from "../../src/programs/server/connection.ts"
import { collectWhenIdle, IDLE_COLLECT_MILLIS } from "../../src/programs/server/idleCollection.ts"
import { serveFolder } from "../../src/programs/server/server.ts"
import { hexOf } from "../support/hostile.ts"
import { elapse, inMemory, readAll } from "../support/memory.ts"

/**
 * The heap is collected once the server goes idle after serving, on the
 * TestClock: never while an operation is in flight or operations keep
 * ending, never for a server that served nothing, once per idle spell.
 */

const run = (steps: (activity: Activity, collected: () => number) => Effect.Effect<void>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const activity: Activity = { active: 0, ended: 0, cut: 0 }
      let collections = 0
      const fiber = yield* Effect.fork(collectWhenIdle(activity, () => collections++))
      yield* TestClock.adjust(0) // the collector starts and takes its first count
      yield* steps(activity, () => collections)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(TestContext.TestContext))
  )

const tick = (times = 1) => TestClock.adjust(`${IDLE_COLLECT_MILLIS * times} millis`)

test("a server that served nothing is never collected", () =>
  run((_, collected) =>
    Effect.gen(function* () {
      yield* tick(10)
      expect(collected()).toBe(0)
    })
  ))

test("collected once, a whole interval after the last operation ended, and not again while idle", () =>
  run((activity, collected) =>
    Effect.gen(function* () {
      activity.ended += 3
      yield* tick()
      expect(collected()).toBe(0) // the tick saw operations end: not idle yet
      yield* tick()
      expect(collected()).toBe(1)
      yield* tick(10)
      expect(collected()).toBe(1)
      // A new burst, then idle again: one more.
      activity.ended++
      yield* tick(2)
      expect(collected()).toBe(2)
    })
  ))

test("never while operations keep ending, whatever the time", () =>
  run((activity, collected) =>
    Effect.gen(function* () {
      for (let i = 0; i < 20; i++) {
        activity.ended++
        yield* tick()
      }
      expect(collected()).toBe(0)
    })
  ))

test("never while an operation is in flight (a long download); once it ends, after the interval", () =>
  run((activity, collected) =>
    Effect.gen(function* () {
      activity.ended++
      activity.active = 1
      yield* tick(10)
      expect(collected()).toBe(0)
      activity.active = 0
      activity.ended++
      yield* tick()
      expect(collected()).toBe(0)
      yield* tick()
      expect(collected()).toBe(1)
    })
  ))

test("the server collects when given a collector: once, after its operation and an idle interval", () =>
  inMemory({}, (world) =>
    Effect.gen(function* () {
      let collections = 0
      const { port } = yield* serveFolder({
        hostname: "127.0.0.1",
        port: 0,
        graceMillis: 0,
        collect: () => collections++
      }).pipe(Effect.provide(world.serverLayer))
      yield* elapse(IDLE_COLLECT_MILLIS * 5)
      expect(collections).toBe(0)
      const connection = yield* world.transport.connect("127.0.0.1", port)
      yield* connection.write(encodeRequest({ _tag: "Download", name: "nao-existe.bin" }))
      expect(hexOf(yield* readAll(connection))).toBe("01")
      yield* elapse(IDLE_COLLECT_MILLIS * 2)
      expect(collections).toBe(1)
      yield* elapse(IDLE_COLLECT_MILLIS * 5)
      expect(collections).toBe(1)
    })
  ))

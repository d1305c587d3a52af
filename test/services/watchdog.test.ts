import { describe, expect, test } from "bun:test"
import { Effect, Exit, TestClock, TestContext } from "effect"
import { type Watch, Watchdog } from "../../src/services/transport/watchdog.ts"

/** The one watchdog of a transport, driven by the TestClock: no test here sleeps. */

const withWatchdog = <A>(body: (watchdog: Watchdog) => Effect.Effect<A>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Watchdog.make, body)).pipe(Effect.provide(TestContext.TestContext)))

/** A watch that records each look and asks again after `every` until `times` looks. */
const recording = (looks: Array<number>, every?: number, times = Number.POSITIVE_INFINITY): Watch => ({
  at: 0,
  look: (now) => {
    looks.push(now)
    return every === undefined || looks.length >= times ? undefined : now + every
  }
})

describe("Watchdog", () => {
  test("looks at a wait when the clock reaches it, not a millisecond before", async () => {
    const looks: Array<number> = []
    await withWatchdog((watchdog) =>
      Effect.gen(function* () {
        watchdog.watch(recording(looks), 1_000)
        yield* TestClock.adjust(999)
        expect(looks).toEqual([])
        yield* TestClock.adjust(1)
        expect(looks).toEqual([1_000])
        expect(watchdog.size).toBe(0)
      })
    )
  })

  test("a look that asks again is looked at again then; the earliest wait wakes it first", async () => {
    const slow: Array<number> = []
    const fast: Array<number> = []
    await withWatchdog((watchdog) =>
      Effect.gen(function* () {
        watchdog.watch(recording(slow, 500, 3), 1_000)
        // Due before the sleeper would wake: it is woken earlier.
        watchdog.watch(recording(fast), 200)
        yield* TestClock.adjust(3_000)
        expect(fast).toEqual([200])
        expect(slow).toEqual([1_000, 1_500, 2_000])
      })
    )
  })

  test("a wait that ended is never looked at", async () => {
    const looks: Array<number> = []
    await withWatchdog((watchdog) =>
      Effect.gen(function* () {
        const watch = recording(looks)
        watchdog.watch(watch, 100)
        watchdog.unwatch(watch)
        yield* TestClock.adjust(1_000)
        expect(looks).toEqual([])
      })
    )
  })

  test("a look that throws loses only its own wait: the others are still looked at, then and later", async () => {
    const looks: Array<number> = []
    await withWatchdog((watchdog) =>
      Effect.gen(function* () {
        watchdog.watch(
          {
            at: 0,
            look: () => {
              throw new Error("a bug")
            }
          },
          100
        )
        watchdog.watch(recording(looks, 100, 3), 100)
        yield* TestClock.adjust(1_000)
        expect(looks).toEqual([100, 200, 300])
        expect(watchdog.size).toBe(0)
      })
    )
  })

  test("closing its scope stops it: what was watched is forgotten", async () => {
    const looks: Array<number> = []
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        const watchdog = yield* Effect.scoped(
          Effect.map(Watchdog.make, (watchdog) => {
            watchdog.watch(recording(looks), 100)
            return watchdog
          })
        )
        yield* TestClock.adjust(1_000)
        return watchdog.size
      }).pipe(Effect.provide(TestContext.TestContext))
    )
    expect(exit).toEqual(Exit.succeed(0))
    expect(looks).toEqual([])
  })
})

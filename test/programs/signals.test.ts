import { describe, expect, test } from "bun:test"
import { Deferred, Effect, Exit } from "effect"
import { SAME_SIGNAL_MILLIS, type Signals, stoppedBy } from "../../src/programs/signals.ts"

/**
 * `stoppedBy`: the first signal stops an effect gracefully, a second one
 * (not the same Ctrl+C delivered twice) stops waiting for it. Signals and
 * their clock come from a fake, so no real signal is sent to the test runner.
 */

const fakeSignals = () => {
  let handler: (() => void) | undefined
  let clock = 0
  let heard: (() => void) | undefined
  /** Resolves once something listens. */
  const listened = new Promise<void>((resolve) => {
    heard = resolve
  })
  const signals: Signals = {
    listen: (next) => {
      handler = next
      heard?.()
      return () => {
        handler = undefined
      }
    },
    now: () => clock
  }
  return {
    signals,
    /** Delivers a signal at `at` milliseconds on the fake clock. */
    send: (at: number) => {
      clock = at
      handler?.()
    },
    listening: () => handler !== undefined,
    listened
  }
}

/**
 * Lets the fibers run what a signal set off: a few turns of the event loop,
 * which is where Effect's scheduler runs them (no timer: nothing here waits on a clock).
 */
const turns = async () => {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Whether a promise has settled, after the fibers had their turns. */
const settled = async (promise: Promise<unknown>) => {
  let done = false
  void promise.then(
    () => (done = true),
    () => (done = true)
  )
  await turns()
  return done
}

describe("stoppedBy", () => {
  test("an effect that ends by itself: its exit, not signalled, and nobody listens any more", async () => {
    const fake = fakeSignals()
    const stopped = await Effect.runPromise(stoppedBy(fake.signals, Effect.succeed(7)))
    expect(stopped).toEqual({ _tag: "Ended", exit: Exit.succeed(7), signalled: false })
    expect(fake.listening()).toBe(false)
  })

  test("the first signal interrupts the effect, whose finalizers run before the result", async () => {
    const fake = fakeSignals()
    let finalized = false
    const running = Effect.runPromise(
      stoppedBy(fake.signals, Effect.never.pipe(Effect.ensuring(Effect.sync(() => (finalized = true)))))
    )
    await fake.listened
    fake.send(0)
    const stopped = await running
    expect(stopped._tag).toBe("Ended")
    if (stopped._tag === "Ended") {
      expect(Exit.isInterrupted(stopped.exit)).toBe(true)
      expect(stopped.signalled).toBe(true)
    }
    expect(finalized).toBe(true)
    expect(fake.listening()).toBe(false)
  })

  test("a second signal sooner than SAME_SIGNAL_MILLIS is the same Ctrl+C: the stop is still waited for", async () => {
    const fake = fakeSignals()
    const release = Effect.runSync(Deferred.make<void>())
    const running = Effect.runPromise(
      stoppedBy(fake.signals, Effect.never.pipe(Effect.ensuring(Deferred.await(release))))
    )
    await fake.listened
    fake.send(1_000)
    fake.send(1_000 + SAME_SIGNAL_MILLIS - 1)
    // Neither signal abandoned the stop: it still waits for the finalizer.
    expect(await settled(running)).toBe(false)
    Effect.runSync(Deferred.succeed(release, undefined))
    const stopped = await running
    expect(stopped._tag).toBe("Ended")
  })

  test("a second signal later on leaves at once: Abandoned, the effect still stopping behind", async () => {
    const fake = fakeSignals()
    const release = Effect.runSync(Deferred.make<void>())
    let finalized = false
    const finalizer = Effect.runSync(Deferred.make<void>())
    const running = Effect.runPromise(
      stoppedBy(
        fake.signals,
        Effect.never.pipe(
          Effect.ensuring(
            Effect.zipRight(
              Deferred.await(release),
              Effect.sync(() => (finalized = true)).pipe(Effect.zipRight(Deferred.succeed(finalizer, undefined)))
            )
          )
        )
      )
    )
    await fake.listened
    fake.send(1_000)
    expect(await settled(running)).toBe(false)
    fake.send(1_000 + SAME_SIGNAL_MILLIS)
    expect(await running).toEqual({ _tag: "Abandoned" })
    expect(fake.listening()).toBe(false)
    // Left behind, not cut: its finalizers still run once they can.
    expect(finalized).toBe(false)
    Effect.runSync(Deferred.succeed(release, undefined))
    await Effect.runPromise(Deferred.await(finalizer))
    expect(finalized).toBe(true)
  })
})

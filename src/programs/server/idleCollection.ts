import * as Effect from "effect/Effect"
import type { Activity } from "./connection.ts"

/** How long a server that served must stay idle before its heap is collected. */
export const IDLE_COLLECT_MILLIS = 1000

/**
 * A full collection of the JavaScript heap once the server goes idle after
 * serving: no operation in flight, and none ended for a whole
 * `IDLE_COLLECT_MILLIS` on the Clock. The engine collects on its own only
 * when it allocates, so after a burst of small requests the heap stays as
 * large as the burst left it, and the next burst (200 downloads at once,
 * say) starts its peak from there. Collected while idle, that memory goes
 * back to the system, and no request waits for it. An idle server is
 * collected once, not on every tick; a busy one never, whatever it allocates.
 */
export const collectWhenIdle = (activity: Activity, collect: () => void): Effect.Effect<never> =>
  Effect.suspend(() => {
    let seen = activity.ended
    let served = false
    return Effect.sleep(IDLE_COLLECT_MILLIS).pipe(
      Effect.zipRight(
        Effect.sync(() => {
          if (activity.ended !== seen) {
            seen = activity.ended
            served = true
          } else if (served && activity.active === 0) {
            served = false
            collect()
          }
        })
      ),
      Effect.forever
    )
  })

/** The real collection: synchronous and full, so the freed pages can go back to the system. */
export const collectHeap = (): void => Bun.gc(true)

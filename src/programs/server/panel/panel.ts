import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import { FileStore } from "../../../services/FileStore.ts"
import type { Health } from "../http/health.ts"
import type { Metrics } from "../metrics.ts"
import { makePanelEvents, type PanelEvents } from "./events.ts"
import { panelRoutes } from "./routes.ts"
import type { PanelSources } from "./snapshot.ts"
import { makePanelState, type PanelState } from "./state.ts"

/** The live page of a running server: what it observes, its event stream, and its routes. */
export interface Panel {
  readonly state: PanelState
  readonly sources: PanelSources
  readonly events: PanelEvents
  readonly routes: ReturnType<typeof panelRoutes>
}

/**
 * The page over the served folder, reading the totals from `metrics` (one
 * count for both); its streams end when the scope closes.
 */
export const makePanel = (metrics: Metrics, health: Health) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    // The listing runs on the server's own runtime, asked from the HTTP listener's callbacks.
    const run = Runtime.runPromise(yield* Effect.runtime<never>())
    const state = makePanelState()
    const sources: PanelSources = {
      state,
      totals: metrics.totals,
      health,
      facts: undefined,
      listFiles: () => run(store.list),
      now: Date.now
    }
    const events = makePanelEvents(sources)
    yield* Effect.addFinalizer(() => Effect.sync(events.close))
    return { state, sources, events, routes: panelRoutes(sources, events) } satisfies Panel
  })

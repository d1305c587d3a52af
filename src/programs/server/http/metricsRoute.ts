import type { Metrics } from "../metrics.ts"
import type { Health } from "./health.ts"
import type { HttpRoute } from "./listener.ts"

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"

/** GET /metrics: everything counted so far, rendered when asked. */
export const metricsRoute =
  (metrics: Metrics, health: Health): HttpRoute =>
  () =>
    new Response(metrics.render(health.accepting), {
      headers: { "content-type": PROMETHEUS_TEXT, "cache-control": "no-store" }
    })

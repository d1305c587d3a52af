import type { HttpRoute } from "../http/listener.ts"
import type { PanelEvents } from "./events.ts"
import { PANEL_PAGE } from "./page.ts"
import { type PanelSources, snapshot } from "./snapshot.ts"

/**
 * The page may run its own inline script and style and talk to this server
 * alone: nothing it shows can load or send anything elsewhere.
 */
const PAGE_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The live page's routes on the HTTP listener: the page, GET /estado (JSON) and GET /eventos (SSE). */
export const panelRoutes = (sources: PanelSources, events: PanelEvents): Record<string, HttpRoute> => {
  const page: HttpRoute = () =>
    new Response(PANEL_PAGE, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "content-security-policy": PAGE_POLICY,
        "x-content-type-options": "nosniff"
      }
    })
  return {
    "/": page,
    "/painel": page,
    "/estado": async () =>
      new Response(JSON.stringify(await snapshot(sources)), {
        headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }
      }),
    "/eventos": (request) => events.stream(request)
  }
}

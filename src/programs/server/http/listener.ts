import * as Data from "effect/Data"
import * as Effect from "effect/Effect"

/** Where the HTTP listener listens (--metricas HOST:PORTA). */
export interface HttpAddress {
  readonly hostname: string
  readonly port: number
}

/** Answers one request to a path; the listener already checked the method (GET or HEAD). */
export type HttpRoute = (request: Request) => Response | Promise<Response>

export class HttpListenFailure extends Data.TaggedError("HttpListenFailure")<{
  readonly address: HttpAddress
  readonly cause: unknown
  /** The option(s) that asked for this listener, for the message ("--metricas", "--painel"). */
  readonly option?: string
}> {}

/** A short plain-text answer, as the routes and the errors give. */
export const textResponse = (status: number, text: string, headers: Record<string, string> = {}) =>
  new Response(`${text}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } })

/**
 * The path of a request's URL, without its query: Bun gives the URL whole
 * ("http://host/saude?x") or, for a request with no Host header (an
 * HTTP/1.0 health check), only its path ("/saude?x").
 */
export const pathOf = (url: string): string => {
  const scheme = url.indexOf("://")
  const start = scheme < 0 ? 0 : url.indexOf("/", scheme + 3)
  if (start < 0) return "/"
  const query = url.indexOf("?", start)
  return url.slice(start, query < 0 ? undefined : query)
}

/**
 * The server's HTTP listener (Bun.serve), apart from the file port: the
 * metrics and the health check now, other pages later, each a route of
 * `routes` keyed by its path. It lives in the caller's scope: closing the
 * scope stops it (after the file port's drain, when it was opened first).
 */
export const serveHttp = (address: HttpAddress, routes: Readonly<Record<string, HttpRoute>>) =>
  Effect.acquireRelease(
    Effect.try({
      try: () =>
        Bun.serve({
          hostname: address.hostname,
          port: address.port,
          // An idle scraper or balancer connection is closed after this many seconds.
          idleTimeout: 30,
          fetch(request) {
            const route = routes[pathOf(request.url)]
            if (route === undefined) return textResponse(404, "não encontrado")
            if (request.method !== "GET" && request.method !== "HEAD") {
              return textResponse(405, "método não permitido (use GET)", { allow: "GET, HEAD" })
            }
            return route(request)
          },
          error: () => textResponse(500, "erro interno")
        }),
      catch: (cause) => new HttpListenFailure({ address, cause })
    }),
    (server) => Effect.promise(() => server.stop(true))
  )

/** "http://HOST:PORTA", with brackets around an IPv6 address. */
export const httpUrl = (hostname: string, port: number) =>
  `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`

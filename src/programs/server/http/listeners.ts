import * as Effect from "effect/Effect"
import { type HttpAddress, HttpListenFailure, type HttpRoute, serveHttp } from "./listener.ts"

/** Routes that want to be served at an address (the metrics' at --metricas, the page's at --painel). */
export interface HttpService {
  /** The option that asked for it, as the person typed it. */
  readonly option: string
  readonly address: HttpAddress
  readonly routes: Readonly<Record<string, HttpRoute>>
}

/**
 * One Bun.serve per distinct address: services at the same address share a
 * listener (their routes merged). Returns, for each service in order, where
 * its listener listens (port 0 becomes the port it got).
 */
export const serveHttpServices = (services: ReadonlyArray<HttpService>) =>
  Effect.gen(function* () {
    const byAddress = new Map<string, Array<HttpService>>()
    for (const service of services) {
      const key = `${service.address.hostname} ${service.address.port}`
      byAddress.set(key, [...(byAddress.get(key) ?? []), service])
    }
    const listening = new Map<HttpService, { readonly hostname: string; readonly port: number }>()
    for (const group of byAddress.values()) {
      const server = yield* serveHttp(
        group[0]!.address,
        Object.assign({}, ...group.map((service) => service.routes))
      ).pipe(
        Effect.mapError(
          (error) =>
            new HttpListenFailure({
              address: error.address,
              cause: error.cause,
              option: group.map((service) => service.option).join(" e ")
            })
        )
      )
      for (const service of group) {
        listening.set(service, { hostname: server.hostname ?? service.address.hostname, port: server.port ?? 0 })
      }
    }
    return services.map((service) => listening.get(service)!)
  })

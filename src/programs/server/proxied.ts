import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { describeFailure } from "../../domain/describe.ts"
import type { ClientEvent } from "../../domain/messages.ts"
import { clientNamedBy } from "../../domain/proxyHeader.ts"
import type { Connection, Peer } from "../../services/transport/Transport.ts"
import type { Wire } from "../wire.ts"
import type { ServerSettings } from "./config.ts"
import { refusalLog } from "./logLine.ts"
import type { RefusalReason } from "./observer.ts"

/**
 * Behind a balancer (`--protocolo-proxy`): every connection must come from a
 * trusted proxy and start with a PROXY header, read within the request
 * deadline (the request that follows gets what is left of it). The
 * connection is then served as the client the header names: its address is
 * the one the log, the per-address limit and the rest see. Anything else is
 * logged and closed without a byte: the specification asks receivers to
 * abort, so the sender notices, and not to guess whether a header is there.
 *
 * None: refused (and `onRefused` told why).
 */
export const acceptProxied = (
  connection: Connection,
  wire: Wire<ClientEvent>,
  config: Pick<ServerSettings, "requestSeconds">,
  trusted: (address: string) => boolean,
  onRefused?: (client: string, reason: RefusalReason, result: string) => void
): Effect.Effect<Option.Option<Peer>> =>
  Effect.gen(function* () {
    const refuse = (why: string, reason: RefusalReason) => {
      const result = `recusado: ${why}`
      onRefused?.(connection.remote, reason, result)
      return Effect.as(refusalLog(connection.remote, result), Option.none<Peer>())
    }
    if (!trusted(connection.address)) {
      return yield* refuse("não é um proxy confiável (--proxies-confiaveis)", "proxy-nao-confiavel")
    }
    const first = yield* Effect.either(wire.nextWithin("Request", config.requestSeconds))
    if (Either.isLeft(first)) {
      return yield* refuse(`sem cabeçalho PROXY válido: ${describeFailure(first.left)}`, "proxy-sem-cabecalho")
    }
    const event = first.right
    if (event._tag !== "Proxy") return yield* Effect.dieMessage("the PROXY header always comes first")
    return Option.some<Peer>({ openedAt: connection.openedAt, ...clientNamedBy(event.header, connection) })
  })

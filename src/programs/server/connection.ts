import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { describeFailure } from "../../domain/describe.ts"
import { Timeout } from "../../domain/errors.ts"
import { clientStream } from "../../domain/grammars.ts"
import type { ClientEvent, Request } from "../../domain/messages.ts"
import { withProxyHeader } from "../../domain/proxyHeader.ts"
import type { Connection } from "../../services/Transport.ts"
import { operationFields } from "../logger.ts"
import { makeWire, type Wire } from "../wire.ts"
import { ServerConfig, type ServerSettings } from "./config.ts"
import { deciding, type Exchange } from "./exchange.ts"
import { download } from "./handlers/download.ts"
import { downloadMany } from "./handlers/downloadMany.ts"
import { list } from "./handlers/list.ts"
import { resume } from "./handlers/resume.ts"
import { upload } from "./handlers/upload.ts"

const OPERATION_NAMES: Record<Request["_tag"], string> = {
  Download: "baixar",
  List: "listar",
  Upload: "enviar",
  Resume: "retomar",
  DownloadMany: "baixar-varios"
}

/** The handler of each opcode. */
const dispatch = (exchange: Exchange, request: Request) => {
  exchange.record.op = OPERATION_NAMES[request._tag]
  switch (request._tag) {
    case "Download":
      exchange.record.name = request.name
      return download(exchange, request.name)
    case "List":
      return list(exchange)
    case "Upload":
      exchange.record.name = request.name
      return upload(exchange, request.name)
    case "Resume":
      exchange.record.name = `${request.name} @${request.position}`
      return resume(exchange, request.name, request.position, request.md5)
    case "DownloadMany":
      exchange.record.name = request.mask
      return downloadMany(exchange, request.mask)
  }
}

/** The wire of a connection the server reads: a PROXY header first when behind a balancer. */
export const serverWire = (connection: Connection, config: Pick<ServerSettings, "proxyProtocol" | "idleSeconds">) =>
  makeWire(
    connection,
    config.proxyProtocol
      ? withProxyHeader<ClientEvent>(clientStream, (header) => ({ _tag: "Proxy", header }))
      : clientStream(),
    config.idleSeconds
  )

/**
 * One connection, one operation: read the request within the request
 * deadline, run its handler, write one log line. Every expected failure is
 * handled here, so nothing a client does reaches another connection.
 *
 * `peer` is who the client is (behind a balancer, the address its PROXY
 * header named); `started` is when the connection was accepted, so bytes read
 * before the request (that header) count toward the request deadline.
 */
export const handleConnection = (peer: { readonly remote: string }, wire: Wire<ClientEvent>, started: number) =>
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const exchange: Exchange = {
      wire,
      record: { op: "?", name: "-", bytes: 0, result: "ok" }
    }
    const now = yield* Clock.currentTimeMillis
    // A request that is already here is taken even when the budget is spent.
    const left = Math.max(0.001, config.requestSeconds - (now - started) / 1000)
    const outcome = yield* Effect.either(
      Effect.gen(function* () {
        const event = yield* deciding(
          exchange,
          "Reply",
          exchange.wire.nextWithin("Request", left).pipe(
            // Reported as the whole deadline, not the part left of it.
            Effect.mapError((error) =>
              error._tag === "Timeout" ? new Timeout({ phase: "Request", seconds: config.requestSeconds }) : error
            )
          )
        )
        if (event._tag !== "Request") return yield* Effect.dieMessage("a request always comes first")
        yield* dispatch(exchange, event.request)
      })
    )
    const { op, name, bytes } = exchange.record
    const result = Either.isLeft(outcome) ? `falha: ${describeFailure(outcome.left)}` : exchange.record.result
    const millis = (yield* Clock.currentTimeMillis) - started
    yield* Effect.logInfo(
      `${new Date(started).toISOString()} ${peer.remote} ${op} ${name} ${result} ${bytes} bytes ${millis} ms`
    ).pipe(Effect.annotateLogs(operationFields({ started, client: peer.remote, op, name, result, bytes, millis })))
  })

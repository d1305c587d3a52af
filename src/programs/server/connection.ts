import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { describeFailure } from "../../domain/describe.ts"
import { clientStream } from "../../domain/grammars.ts"
import type { Request } from "../../domain/messages.ts"
import type { Connection } from "../../services/Transport.ts"
import { makeWire } from "../wire.ts"
import { ServerConfig } from "./config.ts"
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

/**
 * One connection, one operation: read the request within the request
 * deadline, run its handler, write one log line. Every expected failure is
 * handled here, so nothing a client does reaches another connection.
 */
export const handleConnection = (connection: Connection) =>
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const started = Date.now()
    const exchange: Exchange = {
      wire: makeWire(connection, clientStream(), config.idleSeconds),
      record: { op: "?", name: "-", bytes: 0, result: "ok" }
    }
    const outcome = yield* Effect.either(
      Effect.gen(function* () {
        const event = yield* deciding(exchange, "Reply", exchange.wire.nextWithin("Request", config.requestSeconds))
        if (event._tag !== "Request") return yield* Effect.dieMessage("a request always comes first")
        yield* dispatch(exchange, event.request)
      })
    )
    const { op, name, bytes } = exchange.record
    const result = Either.isLeft(outcome) ? `falha: ${describeFailure(outcome.left)}` : exchange.record.result
    yield* Effect.logInfo(
      `${new Date(started).toISOString()} ${connection.remote} ${op} ${name} ${result} ${bytes} bytes ${Date.now() - started} ms`
    )
  })

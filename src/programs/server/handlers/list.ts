import * as Effect from "effect/Effect"
import { concat, encodeStatusSize } from "../../../domain/encode.ts"
import { encodeListing } from "../../../domain/listing.ts"
import { Status } from "../../../domain/protocol.ts"
import { plural } from "../../../domain/words.ts"
import { FileStore } from "../../../services/FileStore.ts"
import { deciding, type Exchange } from "../exchange.ts"

/** op 20: status 0, length, JSON — or status 1. */
export const list = (exchange: Exchange) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const files = yield* deciding(exchange, "Reply", store.list)
    const json = new TextEncoder().encode(
      encodeListing(files.map((file) => ({ nome: file.name, tamanho: String(file.size) })))
    )
    yield* exchange.wire.send(concat([encodeStatusSize(Status.Ok, json.length), json]))
    exchange.record.bytes = json.length
    exchange.record.note = plural(files.length, "arquivo", "arquivos")
  })

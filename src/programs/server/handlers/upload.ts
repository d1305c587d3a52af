import { Effect } from "effect"
import { encodeStatus } from "../../../domain/encode.ts"
import { Status } from "../../../domain/protocol.ts"
import { FileStore } from "../../../services/FileStore.ts"
import { deciding, type Exchange } from "../exchange.ts"

/**
 * op 30: accept (0) or refuse (1); then size and data into a hidden
 * temporary, renamed over the name only when complete; then stored (0) or
 * failed (1). Any failure on the way removes the temporary.
 */
export const upload = (exchange: Exchange, name: string) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const file = yield* deciding(exchange, "Reply", store.createAtomic(name))
    yield* exchange.wire.send(encodeStatus(Status.Ok))
    yield* deciding(
      exchange,
      "Reply",
      Effect.gen(function* () {
        for (;;) {
          const event = yield* exchange.wire.next
          if (event._tag === "Data") {
            yield* file.write(event.bytes)
            exchange.record.bytes += event.bytes.length
          } else if (event._tag === "End") {
            return yield* file.commit
          }
        }
      })
    )
    yield* exchange.wire.send(encodeStatus(Status.Ok))
  })

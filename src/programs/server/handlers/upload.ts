import { Effect } from "effect"
import { encodeStatus } from "../../../domain/encode.ts"
import { FileFailure } from "../../../domain/errors.ts"
import { Status } from "../../../domain/protocol.ts"
import { FileStore } from "../../../services/FileStore.ts"
import { ServerConfig } from "../config.ts"
import { deciding, type Exchange } from "../exchange.ts"

/** Refuses a declared size before any byte of data is stored. */
const checkSize = (name: string, size: number) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const { maxUploadBytes } = yield* ServerConfig
    if (maxUploadBytes !== undefined && size > maxUploadBytes) {
      return yield* new FileFailure({ name, reason: "TooLarge", detail: `${size} bytes; o limite é ${maxUploadBytes}` })
    }
    const free = yield* store.freeSpace
    if (size > free) {
      return yield* new FileFailure({ name, reason: "NoSpace", detail: `${size} bytes; há ${free} livres` })
    }
  })

/**
 * op 30: accept (0) or refuse (1); then size and data into a hidden
 * temporary, renamed over the name only when complete; then stored (0) or
 * failed (1). A size over the limits is refused as soon as it arrives, and
 * any failure on the way removes the temporary.
 */
export const upload = (exchange: Exchange, name: string) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const { readOnly } = yield* ServerConfig
    const file = yield* deciding(
      exchange,
      "Reply",
      readOnly
        ? new FileFailure({ name, reason: "PermissionDenied", detail: "o servidor está em modo somente leitura" })
        : store.createAtomic(name)
    )
    yield* exchange.wire.send(encodeStatus(Status.Ok))
    yield* deciding(
      exchange,
      "Reply",
      Effect.gen(function* () {
        for (;;) {
          const event = yield* exchange.wire.next
          if (event._tag === "Size") {
            yield* checkSize(name, event.size)
          } else if (event._tag === "Data") {
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

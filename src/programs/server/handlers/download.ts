import * as Effect from "effect/Effect"
import { encodeStatusSize } from "../../../domain/encode.ts"
import { FileFailure } from "../../../domain/errors.ts"
import type { RequestOf } from "../../../domain/operations.ts"
import { fitsU32, Status } from "../../../domain/protocol.ts"
import { FileStore } from "../../../services/FileStore.ts"
import { deciding, type Exchange, sendRange } from "../exchange.ts"

/** op 10: status 0, size, data — or status 1. */
export const download = (exchange: Exchange, { name }: RequestOf<"Download">) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const file = yield* deciding(
      exchange,
      "Reply",
      Effect.filterOrFail(
        store.openRead(name),
        (file) => fitsU32(file.size),
        () => new FileFailure({ name, reason: "TooLarge", detail: "arquivos de 4 GiB ou mais não cabem no protocolo" })
      )
    )
    yield* sendRange(exchange, encodeStatusSize(Status.Ok, file.size), file, 0, file.size)
  })

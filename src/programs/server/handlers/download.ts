import * as Effect from "effect/Effect"
import { encodeStatusSize } from "../../../domain/encode.ts"
import { FileFailure } from "../../../domain/errors.ts"
import type { RequestOf } from "../../../domain/operations.ts"
import { fitsU32, Status } from "../../../domain/protocol.ts"
import { FileStore } from "../../../services/FileStore.ts"
import { usePlain } from "../../../services/plainResources.ts"
import { deciding, type Exchange } from "../exchange.ts"
import { sendRange } from "../sendRange.ts"

/** op 10: status 0, size, data — or status 1. */
export const download = (exchange: Exchange, { name }: RequestOf<"Download">) =>
  Effect.flatMap(FileStore, (store) =>
    usePlain(
      deciding(exchange, "Reply", store.openRead(name)),
      (file) => {
        if (!fitsU32(file.size)) {
          return deciding(
            exchange,
            "Reply",
            new FileFailure({ name, reason: "TooLarge", detail: "arquivos de 4 GiB ou mais não cabem no protocolo" })
          )
        }
        exchange.record.total = file.size
        return sendRange(exchange, encodeStatusSize(Status.Ok, file.size), file, 0, file.size)
      },
      (file) => file.close()
    )
  )

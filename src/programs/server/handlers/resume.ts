import * as Effect from "effect/Effect"
import { encodeStatus, encodeStatusSize } from "../../../domain/encode.ts"
import { FileFailure, HashMismatch } from "../../../domain/errors.ts"
import type { RequestOf } from "../../../domain/operations.ts"
import { fitsU32, Status } from "../../../domain/protocol.ts"
import { FileStore, openScoped } from "../../../services/FileStore.ts"
import { Hasher } from "../../../services/Hasher.ts"
import { deciding, type Exchange } from "../exchange.ts"
import { sendRange } from "../sendRange.ts"

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i])

/**
 * op 40: the request is well formed, so the first status is 0. The second is
 * 0 with the remaining size and data, 10 when the file does not exist, or 20
 * when the MD5 of the first `position` bytes differs (or `position` is past
 * the end).
 */
export const resume = (exchange: Exchange, { name, position, md5 }: RequestOf<"Resume">) =>
  Effect.scoped(
    Effect.gen(function* () {
      exchange.record.note = `a partir de ${position}`
      const store = yield* FileStore
      const hasher = yield* Hasher
      yield* exchange.wire.send(encodeStatus(Status.Ok))
      const file = yield* deciding(
        exchange,
        "ResumeCheck",
        Effect.gen(function* () {
          const file = yield* openScoped(store, name)
          if (!fitsU32(file.size)) {
            return yield* new FileFailure({
              name,
              reason: "TooLarge",
              detail: "arquivos de 4 GiB ou mais não cabem no protocolo"
            })
          }
          if (position > file.size) return yield* new HashMismatch({ name, position, size: file.size })
          const held = yield* hasher.md5(file.chunks(0, position))
          if (!sameBytes(held, md5)) return yield* new HashMismatch({ name, position })
          return file
        })
      )
      const remaining = file.size - position
      exchange.record.total = remaining
      yield* sendRange(exchange, encodeStatusSize(Status.Ok, remaining), file, position, remaining)
    })
  )

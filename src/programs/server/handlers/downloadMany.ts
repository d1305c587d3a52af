import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { encodeLimit, encodeManifest, encodeStatusSize } from "../../../domain/encode.ts"
import { FileFailure } from "../../../domain/errors.ts"
import { maskMatcher } from "../../../domain/mask.ts"
import type { RequestOf } from "../../../domain/operations.ts"
import { fitsU32, Status } from "../../../domain/protocol.ts"
import { plural } from "../../../domain/words.ts"
import { FileStore, openScoped } from "../../../services/FileStore.ts"
import { ServerConfig } from "../config.ts"
import { deciding, type Exchange } from "../exchange.ts"
import { sendRange } from "../sendRange.ts"

/**
 * op 50 (our proposal, see PROTOCOL.md): the manifest of every matching file
 * with its size, then each file as status 0, size, data — or status 1 when it
 * vanished or cannot be read. Too many matches: status 2, matches, cap.
 */
export const downloadMany = (exchange: Exchange, { mask }: RequestOf<"DownloadMany">) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const { maxMatches } = yield* ServerConfig
    const matches = maskMatcher(mask)
    const files = yield* deciding(
      exchange,
      "Reply",
      Effect.map(store.list, (all) => all.filter((file) => fitsU32(file.size) && matches(file.name)))
    )
    if (files.length > maxMatches) {
      exchange.record.result = "recusado"
      exchange.record.note = `limite: ${files.length} arquivos casam, o máximo é ${maxMatches}`
      return yield* exchange.wire.send(encodeLimit(Status.TooManyMatches, files.length, maxMatches))
    }
    yield* exchange.wire.send(encodeManifest(Status.Ok, files))
    exchange.record.total = files.reduce((sum, file) => sum + file.size, 0)
    let sent = 0
    for (const { name } of files) {
      yield* Effect.scoped(
        Effect.gen(function* () {
          // A file that vanished or cannot be read gets status 1 and the reply goes on;
          // a failure once its data has started breaks the framing, so it ends the reply.
          const opened = yield* Effect.option(
            deciding(
              exchange,
              "ManyFile",
              Effect.filterOrFail(
                openScoped(store, name),
                (file) => fitsU32(file.size),
                () => new FileFailure({ name, reason: "TooLarge", detail: "cresceu para 4 GiB ou mais" })
              )
            )
          )
          if (Option.isNone(opened)) return
          const file = opened.value
          yield* sendRange(exchange, encodeStatusSize(Status.Ok, file.size), file, 0, file.size)
          sent++
        })
      )
    }
    exchange.record.note = `${sent} de ${plural(files.length, "arquivo enviado", "arquivos enviados")}`
  })

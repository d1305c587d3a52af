import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { encodeStatus } from "../../../domain/encode.ts"
import { FileFailure } from "../../../domain/errors.ts"
import type { ClientEvent } from "../../../domain/messages.ts"
import type { RequestOf } from "../../../domain/operations.ts"
import { Status } from "../../../domain/protocol.ts"
import { EXISTS, FileStore } from "../../../services/FileStore.ts"
import { ServerConfig } from "../config.ts"
import { deciding, type Exchange } from "../exchange.ts"

/** Refuses a declared size before anything is created or stored. */
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
 * op 30: accept (0) or refuse (1) once the name is checked (nothing is
 * created yet); then the size, checked against the limits before any folder
 * or temporary exists; then the data into a hidden temporary, renamed over
 * the name only when complete (with --sem-sobrescrever, an existing name is
 * refused at the first status, and again at the commit if it appeared
 * since); then stored (0) or failed (1). Any failure on the way removes the
 * temporary and the folders made for it.
 */
export const upload = (exchange: Exchange, { name }: RequestOf<"Upload">) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const { readOnly, noOverwrite } = yield* ServerConfig
    yield* deciding(
      exchange,
      "Reply",
      readOnly
        ? new FileFailure({ name, reason: "PermissionDenied", detail: "o servidor está em modo somente leitura" })
        : Effect.zipRight(store.checkWritable(name), noOverwrite ? refuseExisting(name) : Effect.void)
    )
    yield* exchange.wire.send(encodeStatus(Status.Ok))
    yield* deciding(
      exchange,
      "Reply",
      // Scoped here, not by the connection: a failed upload's temporary is gone
      // before its status 1 goes out and before its log line is written.
      Effect.scoped(
        Effect.gen(function* () {
          const { size } = yield* nextSize(exchange)
          yield* checkSize(name, size)
          exchange.record.total = size
          const file = yield* store.createAtomic(name, { replace: !noOverwrite })
          yield* exchange.wire.passBody(
            {
              write: (bytes) => {
                const written = file.sink.write(bytes)
                if (Either.isRight(written)) exchange.record.bytes += bytes.length
                return written
              }
            },
            dataOf
          )
          const end = yield* exchange.wire.next
          if (end._tag !== "End")
            return yield* Effect.dieMessage(`expected the end of the upload body, got ${end._tag}`)
          return yield* file.commit
        })
      ).pipe(
        // Cut by a shutdown: the final status is still due, so the client hears 1 instead of a bare close.
        Effect.onInterrupt(() =>
          Effect.ignore(Effect.timeout(exchange.wire.send(encodeStatus(Status.Error)), "500 millis"))
        )
      )
    )
    yield* exchange.wire.send(encodeStatus(Status.Ok))
  })

/** With --sem-sobrescrever, a name already taken is refused before any data (the commit checks again). */
const refuseExisting = (name: string) =>
  Effect.flatMap(FileStore, (store) =>
    Effect.flatMap(store.size(name), (size) =>
      Option.isSome(size) ? new FileFailure({ name, reason: "PermissionDenied", detail: EXISTS }) : Effect.void
    )
  )

const dataOf = (event: ClientEvent) => (event._tag === "Data" ? event.bytes : undefined)

/** After an accepted upload request, the client stream always continues with the size. */
const nextSize = (exchange: Exchange) =>
  Effect.flatMap(exchange.wire.next, (event) =>
    event._tag === "Size" ? Effect.succeed(event) : Effect.dieMessage(`expected the upload size, got ${event._tag}`)
  )

import { Effect, Stream } from "effect"
import { u32 } from "../../domain/encode.ts"
import { FileFailure } from "../../domain/errors.ts"
import { uploadReply } from "../../domain/grammars.ts"
import { MAX_U32, Status } from "../../domain/protocol.ts"
import { FileStore } from "../../services/FileStore.ts"
import type { ProgressSink } from "./config.ts"
import { ServerRefused } from "./errors.ts"
import { nextStatus, openExchange } from "./session.ts"

/** op 30: the local file (inside the client folder) goes to the server under the same name. */
export const upload = (name: string, progress?: ProgressSink) =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* FileStore
      const file = yield* store.openRead(name)
      if (file.size > MAX_U32) {
        return yield* new FileFailure({ name, reason: "TooLarge", detail: "arquivos de 4 GiB ou mais não cabem no protocolo" })
      }
      const wire = yield* openExchange({ _tag: "Upload", name }, uploadReply())
      if ((yield* nextStatus(wire)) !== Status.Ok) {
        return yield* new ServerRefused({ operation: "enviar", name, reason: "Refused" })
      }
      progress?.start(name, file.size, 0)
      yield* wire.send(u32(file.size), "tamanho do arquivo")
      yield* Stream.runForEach(file.chunks(0, file.size), (chunk) =>
        wire.send(chunk).pipe(Effect.tap(() => progress?.advance(chunk.length)))
      )
      if ((yield* nextStatus(wire)) !== Status.Ok) {
        return yield* new ServerRefused({ operation: "enviar", name, reason: "Refused" })
      }
      return { name, size: file.size }
    })
  )

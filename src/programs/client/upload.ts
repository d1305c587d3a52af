import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { u32 } from "../../domain/encode.ts"
import { type ConnectionFailure, FileFailure, ProtocolViolation, type Timeout } from "../../domain/errors.ts"
import { fitsU32, Status } from "../../domain/protocol.ts"
import { FileStore, openScoped } from "../../services/FileStore.ts"
import type { ProgressSink } from "./config.ts"
import { ServerRefused } from "./errors.ts"
import { nextStatus, openExchange } from "./session.ts"

type Verdict = Effect.Effect<number, FileFailure | ProtocolViolation | ConnectionFailure | Timeout>

/** After a failed send, how long to wait for a refusal the server may already have sent. */
const LATE_VERDICT = Duration.seconds(2)

/**
 * op 30: the local file (inside the client folder) goes to the server under
 * the same name. The server's final status is awaited while the data goes
 * out, so a refusal sent early (a size over the server's limit, a full disk)
 * stops the upload at once and is reported as a refusal.
 */
export const upload = (name: string, progress?: ProgressSink, local: string = name) =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* FileStore
      const file = yield* openScoped(store, local)
      if (!fitsU32(file.size)) {
        return yield* new FileFailure({
          name,
          reason: "TooLarge",
          detail: "arquivos de 4 GiB ou mais não cabem no protocolo"
        })
      }
      const wire = yield* openExchange({ _tag: "Upload", name })
      if ((yield* nextStatus(wire)) !== Status.Ok) {
        return yield* new ServerRefused({ request: "Upload", name, reason: "Refused" })
      }
      progress?.start(name, file.size, 0)
      let allSent = false
      const sendData = Effect.zipRight(
        wire.send(u32(file.size), "tamanho do arquivo"),
        Effect.scoped(
          Effect.flatMap(file.source(0), (source) =>
            wire.sendFrom(source, file.size, (bytes) => progress?.advance(bytes))
          )
        )
      ).pipe(Effect.tap(() => (allSent = true)))
      // Cancelled (Ctrl+C): the connection is dropped with a reset, so the bytes the system
      // took and did not deliver never are, and a relay on the way drops the upload too. When
      // every byte had already been acknowledged (by the server, or by a relay that holds
      // them), the server may still get them all and store the file: the person is told so.
      const cancelled = Effect.suspend(() => {
        if (allSent && wire.unacknowledged() === 0) progress?.delivered?.()
        return wire.abort
      })
      const verdict = yield* Effect.raceWith(sendData, nextStatus(wire), {
        onSelfDone: (sent, pending): Verdict =>
          Exit.isSuccess(sent)
            ? Fiber.join(pending)
            : Fiber.join(pending).pipe(
                Effect.timeout(LATE_VERDICT),
                Effect.catchAll(() => Effect.failCause(sent.cause))
              ),
        onOtherDone: (status, sending): Verdict =>
          Effect.zipRight(
            Fiber.interrupt(sending),
            Effect.flatMap(status, (early) =>
              early === Status.Ok
                ? new ProtocolViolation({
                    reason: "UnexpectedStatus",
                    detail: "o servidor confirmou antes de receber tudo"
                  })
                : Effect.succeed(early)
            )
          )
      }).pipe(Effect.onInterrupt(() => cancelled))
      if (verdict !== Status.Ok) return yield* new ServerRefused({ request: "Upload", name, reason: "Refused" })
      // Only the server's final status 0 makes it a success: until then the bar may be full, never "done".
      progress?.completed?.()
      return { name, size: file.size }
    })
  )

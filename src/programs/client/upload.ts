import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
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

/** How often an upload's progress asks the system what the server acknowledged. */
const ACKNOWLEDGED_LOOK = Duration.millis(250)

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
      // The progress (and its rate and ETA) counts what the server acknowledged, not what this
      // system took: on a path with large buffers that is megabytes ahead of the link.
      let taken = 0
      let shown = 0
      const show = (upTo: number) => {
        if (upTo > shown) progress?.advance(upTo - shown)
        shown = Math.max(shown, upTo)
      }
      const showAcknowledged = Effect.sync(() => {
        const pending = wire.unacknowledged()
        // Where the system does not say, what it took is all that is known.
        show(pending === undefined ? taken : taken - pending)
      })
      if (progress !== undefined) {
        yield* Effect.forkScoped(Effect.repeat(showAcknowledged, Schedule.spaced(ACKNOWLEDGED_LOOK)))
      }
      let allSent = false
      const sendData = Effect.zipRight(
        wire.send(u32(file.size), "tamanho do arquivo"),
        Effect.scoped(
          Effect.flatMap(file.source(0), (source) =>
            wire.sendFrom(source, file.size, (bytes) => {
              taken += bytes
            })
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
      // The server's final status 0 says it has every byte: the bar is full, and done.
      show(file.size)
      progress?.completed?.()
      return { name, size: file.size }
    })
  )

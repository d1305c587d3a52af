import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { FileFailure } from "../../domain/errors.ts"
import { Status } from "../../domain/protocol.ts"
import { FileStore } from "../../services/FileStore.ts"
import type { ProgressSink } from "./config.ts"
import { ServerRefused, TooManyMatches } from "./errors.ts"
import { discard, nextOf, nextStatus, openExchange, receiveBody } from "./session.ts"

export type ManyResult =
  | { readonly _tag: "Saved"; readonly name: string; readonly size: number }
  | { readonly _tag: "Skipped"; readonly name: string }
  | { readonly _tag: "LocalFailure"; readonly name: string; readonly failure: FileFailure }

/**
 * op 50. The decoder has checked every announced name (valid, matching the
 * mask, never twice) before any data arrives. A file the server skips, or
 * one that cannot be opened or written here, is reported and the rest goes
 * on; a broken connection or reply ends the whole batch.
 */
export const downloadMany = (mask: string, progress?: ProgressSink, localFolder = "") =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* FileStore
      const wire = yield* openExchange({ _tag: "DownloadMany", mask })
      const status = yield* nextStatus(wire)
      if (status === Status.Error)
        return yield* new ServerRefused({ request: "DownloadMany", name: mask, reason: "Refused" })
      if (status === Status.TooManyMatches) {
        const { matches, cap } = yield* nextOf(wire, "Limit")
        return yield* new TooManyMatches({ mask, matches, cap })
      }
      const { entries } = yield* nextOf(wire, "Manifest")
      progress?.batch?.(
        entries.length,
        entries.reduce((sum, entry) => sum + entry.size, 0)
      )
      const results: Array<ManyResult> = []
      for (const entry of entries) {
        const event = yield* nextOf(wire, "FileStart", "FileSkipped")
        if (event._tag === "FileSkipped") {
          progress?.skip?.(entry.name)
          results.push({ _tag: "Skipped", name: entry.name })
          continue
        }
        const saved = yield* Effect.scoped(
          Effect.gen(function* () {
            const partial = yield* Effect.either(
              store.openPartial(localFolder === "" ? entry.name : `${localFolder}/${entry.name}`, 0)
            )
            progress?.start(entry.name, event.size, 0)
            if (Either.isLeft(partial)) {
              yield* receiveBody(wire, discard, progress) // keep the framing, drop the bytes
              return Either.left(partial.left)
            }
            // A write that fails mid-file must not cut the batch: the rest of this body is still
            // read (and dropped) so the next file's header is where the decoder expects it.
            let failure: FileFailure | undefined
            const sink = partial.right.sink
            yield* receiveBody(
              wire,
              {
                write: (bytes) => {
                  if (failure !== undefined) return Either.void
                  const written = sink.write(bytes)
                  if (Either.isLeft(written)) failure = written.left
                  return Either.void
                }
              },
              progress
            )
            if (failure !== undefined) return Either.left(failure)
            return yield* Effect.either(partial.right.complete)
          })
        )
        if (Either.isRight(saved)) progress?.completed?.()
        results.push(
          Either.isRight(saved)
            ? { _tag: "Saved", name: entry.name, size: event.size }
            : { _tag: "LocalFailure", name: entry.name, failure: saved.left }
        )
      }
      return { entries, results }
    })
  )

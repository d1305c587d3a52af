import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { FileFailure, HashMismatch } from "../../domain/errors.ts"
import { partialNameOf } from "../../domain/names.ts"
import { fitsU32, Status } from "../../domain/protocol.ts"
import { FileStore, openScoped } from "../../services/FileStore.ts"
import { Hasher } from "../../services/Hasher.ts"
import type { ProgressSink } from "./config.ts"
import { ServerRefused } from "./errors.ts"
import { nextOf, nextStatus, openExchange, receiveBody } from "./session.ts"

/** A partial at least this large takes long enough to hash that the bar says so. */
const HASHING_NOTICE_BYTES = 8 * 1024 * 1024

export interface ResumeResult {
  readonly name: string
  /** Where the transfer started. */
  readonly from: number
  /** Size of the complete file. */
  readonly size: number
  /** The local file was already whole: nothing was transferred or changed. */
  readonly alreadyComplete: boolean
}

/**
 * op 40: continues `name` from `position` (default: all that is held) after
 * the server confirms the MD5 of those bytes. What is held is the partial
 * download, or else the finished local file (asking to resume a complete file
 * says so, as `wget -c` does). On a mismatch nothing local changes.
 */
export const resume = (name: string, position?: number, progress?: ProgressSink, local: string = name) =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* FileStore
      const hasher = yield* Hasher
      const partial = yield* store.partialSize(local)
      const finished = Option.isNone(partial) ? yield* store.size(local) : Option.none<number>()
      const held = Option.orElse(partial, () => finished)
      if (Option.isNone(held)) {
        return yield* new FileFailure({
          name: local,
          reason: "NotFound",
          detail: "não há download parcial para retomar"
        })
      }
      const from = position ?? held.value
      if (from > held.value || !fitsU32(from)) {
        return yield* new FileFailure({
          name,
          reason: "TooLarge",
          detail: `a posição ${from} passa dos ${held.value} bytes que você tem`
        })
      }
      const source = Option.isSome(partial) ? partialNameOf(local) : local
      if (from >= HASHING_NOTICE_BYTES) progress?.hashing?.(name, from)
      const md5 = yield* Effect.scoped(
        Effect.flatMap(openScoped(store, source), (file) => hasher.md5(file.chunks(0, from)))
      )
      const wire = yield* openExchange({ _tag: "Resume", name, position: from, md5 })
      if ((yield* nextStatus(wire)) !== Status.Ok) {
        return yield* new ServerRefused({ request: "Resume", name, reason: "Refused" })
      }
      const verdict = yield* nextStatus(wire)
      if (verdict === Status.NotFound) return yield* new ServerRefused({ request: "Resume", name, reason: "NotFound" })
      if (verdict === Status.HashMismatch) return yield* new HashMismatch({ name, position: from })
      const { size: remaining } = yield* nextOf(wire, "Size")
      const result: ResumeResult = { name, from, size: from + remaining, alreadyComplete: false }
      if (Option.isSome(finished) && remaining === 0 && from === finished.value) {
        return { ...result, alreadyComplete: true }
      }
      if (Option.isSome(finished)) yield* store.adoptAsPartial(local)
      const file = yield* store.openPartial(local, from)
      // A partial that already holds every byte is completed without a transfer (and without a transfer line).
      if (remaining > 0) progress?.start(name, from + remaining, from)
      yield* receiveBody(wire, file.sink, remaining > 0 ? progress : undefined)
      yield* file.complete
      if (remaining > 0) progress?.completed?.()
      return result
    })
  )

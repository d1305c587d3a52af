import { Effect, Option } from "effect"
import { FileFailure, HashMismatch } from "../../domain/errors.ts"
import { resumeReply } from "../../domain/grammars.ts"
import { MAX_U32, Status } from "../../domain/protocol.ts"
import { partialNameOf } from "../../domain/names.ts"
import { FileStore } from "../../services/FileStore.ts"
import { Hasher } from "../../services/Hasher.ts"
import type { ProgressSink } from "./config.ts"
import { ServerRefused } from "./errors.ts"
import { nextOf, nextStatus, openExchange, receiveBody } from "./session.ts"

/**
 * op 40: continues the partial of `name` from `position` (default: all of
 * it), after the server confirms the MD5 of those bytes. On a mismatch the
 * partial is kept as it was.
 */
export const resume = (name: string, position?: number, progress?: ProgressSink) =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* FileStore
      const hasher = yield* Hasher
      const held = yield* store.partialSize(name)
      if (Option.isNone(held)) {
        return yield* new FileFailure({ name, reason: "NotFound", detail: "não há download parcial para retomar" })
      }
      const from = position ?? held.value
      if (from > held.value || from > MAX_U32) {
        return yield* new FileFailure({ name, reason: "TooLarge", detail: `a posição ${from} passa dos ${held.value} bytes já baixados` })
      }
      const md5 = yield* Effect.scoped(
        Effect.flatMap(store.openRead(partialNameOf(name)), (partial) => hasher.md5(partial.chunks(0, from)))
      )
      const wire = yield* openExchange({ _tag: "Resume", name, position: from, md5 }, resumeReply())
      if ((yield* nextStatus(wire)) !== Status.Ok) {
        return yield* new ServerRefused({ operation: "retomar", name, reason: "Refused" })
      }
      const verdict = yield* nextStatus(wire)
      if (verdict === Status.NotFound) return yield* new ServerRefused({ operation: "retomar", name, reason: "NotFound" })
      if (verdict === Status.HashMismatch) return yield* new HashMismatch({ name, position: from })
      const { size } = yield* nextOf(wire, "Size")
      const partial = yield* store.openPartial(name, from)
      progress?.start(name, from + size, from)
      yield* receiveBody(wire, partial.write, progress)
      yield* partial.complete
      return { name, from, size: from + size }
    })
  )

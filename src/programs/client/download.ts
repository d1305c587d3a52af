import * as Effect from "effect/Effect"
import { Status } from "../../domain/protocol.ts"
import { FileStore } from "../../services/FileStore.ts"
import type { ProgressSink } from "./config.ts"
import { ServerRefused } from "./errors.ts"
import { nextOf, nextStatus, openExchange, receiveBody } from "./session.ts"

/**
 * op 10. The data goes to the partial file, renamed to the final name only
 * when complete; an interrupted download keeps its partial for `resume`.
 * `local` is where it goes in the client folder (the same name by default).
 */
export const download = (name: string, progress?: ProgressSink, local: string = name) =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* FileStore
      const wire = yield* openExchange({ _tag: "Download", name })
      if ((yield* nextStatus(wire)) !== Status.Ok) {
        return yield* new ServerRefused({ request: "Download", name, reason: "Refused" })
      }
      const { size } = yield* nextOf(wire, "Size")
      const partial = yield* store.openPartial(local, 0)
      progress?.start(name, size, 0)
      yield* receiveBody(wire, partial.sink, progress)
      yield* partial.complete
      progress?.completed?.()
      return { name, size }
    })
  )

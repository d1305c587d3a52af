import * as Effect from "effect/Effect"
import { Status } from "../../domain/protocol.ts"
import { ServerRefused } from "./errors.ts"
import { nextOf, nextStatus, openExchange } from "./session.ts"

/** op 20: the listing, validated against its Schema by the decoder. */
export const list = Effect.scoped(
  Effect.gen(function* () {
    const wire = yield* openExchange({ _tag: "List" })
    if ((yield* nextStatus(wire)) !== Status.Ok) {
      return yield* new ServerRefused({ request: "List", name: "", reason: "Refused" })
    }
    const { entries, json } = yield* nextOf(wire, "Listing")
    return { entries, json }
  })
)

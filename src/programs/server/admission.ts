import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { acquireReleasePlain } from "../../services/resource.ts"

export type Admission = "Admitted" | "TooManyClients" | "TooManyFromAddress"

/**
 * Connection limits: at most `maxClients` at once, and at most
 * `maxPerAddress` from one address (0: no per-address limit, so a classroom
 * behind one NAT address is not locked out). Each place is held for the
 * lifetime of the connection's scope.
 *
 * The two are taken apart because behind a balancer the client's address is
 * only known once its PROXY header is read: the total is checked as the
 * connection is accepted, before anything is read, and the address after.
 */
export const makeAdmission = (limits: { readonly maxClients: number; readonly maxPerAddress: number }) => {
  let total = 0
  const perAddress = new Map<string, number>()
  const place = (): Effect.Effect<Admission, never, Scope.Scope> =>
    acquireReleasePlain(
      Effect.sync((): Admission => {
        if (total >= limits.maxClients) return "TooManyClients"
        total++
        return "Admitted"
      }),
      (admission) => Effect.sync(() => void (admission === "Admitted" && total--))
    )
  const fromAddress = (address: string): Effect.Effect<Admission, never, Scope.Scope> =>
    acquireReleasePlain(
      Effect.sync((): Admission => {
        const held = perAddress.get(address) ?? 0
        if (limits.maxPerAddress > 0 && held >= limits.maxPerAddress) return "TooManyFromAddress"
        perAddress.set(address, held + 1)
        return "Admitted"
      }),
      (admission) =>
        Effect.sync(() => {
          if (admission !== "Admitted") return
          const left = (perAddress.get(address) ?? 1) - 1
          if (left === 0) perAddress.delete(address)
          else perAddress.set(address, left)
        })
    )
  return { place, fromAddress }
}

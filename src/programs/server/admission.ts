import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { acquireReleasePlain } from "../../services/resource.ts"

/** Whether a connection got its place, or which limit turned it away. */
export type Admission = "Admitted" | "TooManyClients" | "TooManyFromAddress"

/**
 * Connection limits: at most `maxClients` at once, and at most
 * `maxPerAddress` from one address (0: no per-address limit, so a classroom
 * behind one NAT address is not locked out). Each place is held for the rest
 * of the scope it is taken in, and given back when that scope closes.
 *
 * The two are taken apart because behind a balancer the client's address is
 * only known once its PROXY header is read: the total is taken as the
 * connection starts, before anything is decoded, and the address after.
 */
export const makeAdmission = (limits: { readonly maxClients: number; readonly maxPerAddress: number }) => {
  let total = 0
  const perAddress = new Map<string, number>()
  const leaveAddress = (address: string): void => {
    const left = (perAddress.get(address) ?? 1) - 1
    if (left === 0) perAddress.delete(address)
    else perAddress.set(address, left)
  }
  /** A place among the `maxClients`. */
  const place: Effect.Effect<Admission, never, Scope.Scope> = acquireReleasePlain(
    Effect.sync((): Admission => {
      if (total >= limits.maxClients) return "TooManyClients"
      total++
      return "Admitted"
    }),
    (admission) => Effect.sync(() => void (admission === "Admitted" && total--))
  )
  /** A place among the `maxPerAddress` of `address`. */
  const fromAddress = (address: string): Effect.Effect<Admission, never, Scope.Scope> =>
    limits.maxPerAddress === 0
      ? Effect.succeed("Admitted")
      : acquireReleasePlain(
          Effect.sync((): Admission => {
            const held = perAddress.get(address) ?? 0
            if (held >= limits.maxPerAddress) return "TooManyFromAddress"
            perAddress.set(address, held + 1)
            return "Admitted"
          }),
          (admission) => Effect.sync(() => void (admission === "Admitted" && leaveAddress(address)))
        )
  return { place, fromAddress }
}

export type Admissions = ReturnType<typeof makeAdmission>

import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

export type Admission = "Admitted" | "TooManyClients" | "TooManyFromAddress"

/**
 * Connection limits: at most `maxClients` at once, and at most
 * `maxPerAddress` from one address (0: no per-address limit, so a classroom
 * behind one NAT address is not locked out). A place is held for the
 * lifetime of the connection's scope. The address is the client's: behind a
 * balancer, the one its PROXY header names.
 */
export const makeAdmission = (limits: { readonly maxClients: number; readonly maxPerAddress: number }) => {
  let total = 0
  const perAddress = new Map<string, number>()
  return (connection: { readonly address: string }): Effect.Effect<Admission, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.sync((): Admission => {
        const fromAddress = perAddress.get(connection.address) ?? 0
        if (total >= limits.maxClients) return "TooManyClients"
        if (limits.maxPerAddress > 0 && fromAddress >= limits.maxPerAddress) return "TooManyFromAddress"
        total++
        perAddress.set(connection.address, fromAddress + 1)
        return "Admitted"
      }),
      (admission) =>
        Effect.sync(() => {
          if (admission !== "Admitted") return
          total--
          const left = (perAddress.get(connection.address) ?? 1) - 1
          if (left === 0) perAddress.delete(connection.address)
          else perAddress.set(connection.address, left)
        })
    )
}

import * as Effect from "effect/Effect"
import { releasing } from "../../services/plainResources.ts"

/** Why a connection was turned away: the limit that was full. */
export type Refusal = "TooManyClients" | "TooManyFromAddress"

/**
 * Connection limits: at most `maxClients` at once, and at most
 * `maxPerAddress` from one address (0: no per-address limit, so a classroom
 * behind one NAT address is not locked out). A place is held while the
 * effect given to `place` or `fromAddress` runs, and given back when it
 * ends, however it ends; when the limit is full, `refused` runs instead.
 *
 * The two are taken apart because behind a balancer the client's address is
 * only known once its PROXY header is read: the total is taken as the
 * connection starts, before anything is decoded, and the address after.
 */
export const makeAdmission = (limits: { readonly maxClients: number; readonly maxPerAddress: number }) => {
  let total = 0
  const perAddress = new Map<string, number>()
  /** Runs `use` holding what `take` took, or `refused` when it could not. */
  const holding =
    (take: () => Refusal | undefined, give: () => void) =>
    <A, E, R>(use: Effect.Effect<A, E, R>, refused: (why: Refusal) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      // Taken where interruption is masked, so a place taken is always given back.
      Effect.uninterruptibleMask((restore) => {
        const refusal = take()
        return refusal === undefined ? releasing(restore(use), give) : restore(refused(refusal))
      })
  /** A place among the `maxClients`. */
  const place = holding(
    () => {
      if (total >= limits.maxClients) return "TooManyClients"
      total++
      return undefined
    },
    () => void total--
  )
  /** A place among the `maxPerAddress` of `address`. */
  const fromAddress = (address: string) =>
    limits.maxPerAddress === 0
      ? <A, E, R>(use: Effect.Effect<A, E, R>, _refused: (why: Refusal) => Effect.Effect<A, E, R>) => use
      : holding(
          () => {
            const held = perAddress.get(address) ?? 0
            if (held >= limits.maxPerAddress) return "TooManyFromAddress"
            perAddress.set(address, held + 1)
            return undefined
          },
          () => {
            const left = (perAddress.get(address) ?? 1) - 1
            if (left === 0) perAddress.delete(address)
            else perAddress.set(address, left)
          }
        )
  /** Connections holding a place now. */
  const held = () => total
  return { place, fromAddress, held }
}

export type Admissions = ReturnType<typeof makeAdmission>

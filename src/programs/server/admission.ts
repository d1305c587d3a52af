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
 * The quick path takes both at once (`enterNow`), or, behind a balancer, the
 * total at accept and the address once the header in the first segment is
 * read; it gives them back itself.
 */
export const makeAdmission = (limits: { readonly maxClients: number; readonly maxPerAddress: number }) => {
  let total = 0
  const perAddress = new Map<string, number>()
  const placeNow = (): boolean => {
    if (total >= limits.maxClients) return false
    total++
    return true
  }
  const addressNow = (address: string): boolean => {
    if (limits.maxPerAddress === 0) return true
    const held = perAddress.get(address) ?? 0
    if (held >= limits.maxPerAddress) return false
    perAddress.set(address, held + 1)
    return true
  }
  const leaveAddress = (address: string): void => {
    if (limits.maxPerAddress === 0) return
    const left = (perAddress.get(address) ?? 1) - 1
    if (left === 0) perAddress.delete(address)
    else perAddress.set(address, left)
  }
  const place = (): Effect.Effect<Admission, never, Scope.Scope> =>
    acquireReleasePlain(
      Effect.sync((): Admission => (placeNow() ? "Admitted" : "TooManyClients")),
      (admission) => Effect.sync(() => void (admission === "Admitted" && total--))
    )
  const fromAddress = (address: string): Effect.Effect<Admission, never, Scope.Scope> =>
    acquireReleasePlain(
      Effect.sync((): Admission => (addressNow(address) ? "Admitted" : "TooManyFromAddress")),
      (admission) => Effect.sync(() => void (admission === "Admitted" && leaveAddress(address)))
    )
  /** Both places, or none: false when a limit is reached (the fiber path then refuses, with its log line). */
  const enterNow = (address: string): boolean => {
    if (!placeNow()) return false
    if (addressNow(address)) return true
    total--
    return false
  }
  /** Gives back both places (those of `enterNow`, or of `placeNow` and `addressNow`). */
  const leaveNow = (address: string): void => {
    total--
    leaveAddress(address)
  }
  return {
    place,
    fromAddress,
    enterNow,
    leaveNow,
    /** The total's place alone, for a connection whose client is not known yet (behind a balancer). */
    placeNow,
    leavePlaceNow: (): void => void total--,
    /** The address's place alone, once the client is known. */
    addressNow,
    leaveAddressNow: leaveAddress
  }
}

export type Admissions = ReturnType<typeof makeAdmission>

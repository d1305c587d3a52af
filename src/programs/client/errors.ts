import * as Data from "effect/Data"
import type { ConnectionFailure, FileFailure, HashMismatch, ProtocolViolation, Timeout } from "../../domain/errors.ts"
import type { RequestTag } from "../../domain/messages.ts"

/** "Refused": status 1 (missing, invalid or failed); "NotFound": op 40's status 10. */
export const RefusalReasons = ["Refused", "NotFound"] as const
export type RefusalReason = (typeof RefusalReasons)[number]

/** The server answered with a refusal status. */
export class ServerRefused extends Data.TaggedError("ServerRefused")<{
  /** What was asked, as data; the words for it are chosen where the failure is shown. */
  readonly request: RequestTag
  /** The name (or mask) asked for; empty for a listing. */
  readonly name: string
  readonly reason: RefusalReason
}> {}

/** op 50: the mask matched more files than the server sends at once. */
export class TooManyMatches extends Data.TaggedError("TooManyMatches")<{
  readonly mask: string
  readonly matches: number
  readonly cap: number
}> {}

export type ClientError =
  | ServerRefused
  | TooManyMatches
  | HashMismatch
  | ProtocolViolation
  | FileFailure
  | ConnectionFailure
  | Timeout

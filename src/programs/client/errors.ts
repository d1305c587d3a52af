import * as Data from "effect/Data"
import type { ConnectionFailure, FileFailure, HashMismatch, ProtocolViolation, Timeout } from "../../domain/errors.ts"

/** The server answered with a refusal status. */
export class ServerRefused extends Data.TaggedError("ServerRefused")<{
  readonly operation: string
  readonly name: string
  /** "Refused": status 1 (missing, invalid or failed); "NotFound": op 40's status 10. */
  readonly reason: "Refused" | "NotFound"
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

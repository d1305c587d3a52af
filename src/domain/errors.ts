import * as Data from "effect/Data"

/**
 * Every reason an error can carry is a value first, and its type is derived
 * from it: code that must cover each reason (describe, the tests) iterates
 * the list instead of a copy of it, so a new reason is exercised at once.
 */

/** Why a peer's bytes broke the protocol. */
export const ViolationReasons = [
  "UnknownOpcode",
  "BadLength",
  "InvalidName",
  "InvalidMask",
  "UnexpectedStatus",
  "LengthTooLarge",
  "InvalidListing",
  "UnexpectedName",
  "Truncated",
  "BadProxyHeader",
  /** A TLS record where the protocol's first byte was due: the peer speaks TLS, this side does not. */
  "TlsSpoken",
  /** The connection ended before the reply's first byte (a client's view). */
  "NoReply"
] as const
export type ViolationReason = (typeof ViolationReasons)[number]

/** The peer sent bytes that do not follow the protocol. */
export class ProtocolViolation extends Data.TaggedError("ProtocolViolation")<{
  readonly reason: ViolationReason
  readonly detail: string
}> {}

/** Why a file operation inside a jailed folder failed. */
export const FileFailureReasons = [
  "NotFound",
  "NotRegularFile",
  "OutsideRoot",
  "TooLarge",
  "IsDirectory",
  "PermissionDenied",
  "NoSpace",
  "Io"
] as const
export type FileFailureReason = (typeof FileFailureReasons)[number]

export class FileFailure extends Data.TaggedError("FileFailure")<{
  readonly reason: FileFailureReason
  readonly name: string
  readonly detail: string
}> {}

/** The MD5 a client sent for resume does not match (or its position is past the end). */
export class HashMismatch extends Data.TaggedError("HashMismatch")<{
  readonly name: string
  readonly position: number
  /** The file's size, when the server knows the position is past its end. */
  readonly size?: number
}> {}

/**
 * Why a TCP connection could not be made or broke. Over TLS: the handshake
 * did not complete (the peer does not speak TLS, or no version both accept);
 * the peer's certificate was not accepted here; this side's certificate was
 * refused by the peer, or it asked for one that was not given.
 */
export const ConnectionFailureReasons = [
  "Refused",
  "Unresolved",
  "Closed",
  "Reset",
  "Io",
  "TlsHandshake",
  "TlsCertificate",
  "TlsRefused"
] as const
export type ConnectionFailureReason = (typeof ConnectionFailureReasons)[number]

/** The TCP connection could not be made or broke. */
export class ConnectionFailure extends Data.TaggedError("ConnectionFailure")<{
  readonly reason: ConnectionFailureReason
  readonly detail: string
  /** The error the socket layer gave, as it was: for --debug and logs only, never for the user's sentence. */
  readonly cause?: unknown
}> {}

/** Which deadline passed. */
export const TimeoutPhases = ["Request", "Idle", "Connect"] as const
export type TimeoutPhase = (typeof TimeoutPhases)[number]

/** A deadline passed: the whole request, or a transfer that made no progress. */
export class Timeout extends Data.TaggedError("Timeout")<{
  readonly phase: TimeoutPhase
  readonly seconds: number
}> {}

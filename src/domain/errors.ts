import * as Data from "effect/Data"

/** Why a peer's bytes broke the protocol. */
export type ViolationReason =
  | "UnknownOpcode"
  | "BadLength"
  | "InvalidName"
  | "InvalidMask"
  | "UnexpectedStatus"
  | "LengthTooLarge"
  | "InvalidListing"
  | "UnexpectedName"
  | "Truncated"
  | "BadProxyHeader"

/** The peer sent bytes that do not follow the protocol. */
export class ProtocolViolation extends Data.TaggedError("ProtocolViolation")<{
  readonly reason: ViolationReason
  readonly detail: string
}> {}

/** Why a file operation inside a jailed folder failed. */
export type FileFailureReason =
  | "NotFound"
  | "NotRegularFile"
  | "OutsideRoot"
  | "TooLarge"
  | "IsDirectory"
  | "PermissionDenied"
  | "NoSpace"
  | "Io"

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

export type ConnectionFailureReason = "Refused" | "Unresolved" | "Closed" | "Reset" | "Io"

/** The TCP connection could not be made or broke. */
export class ConnectionFailure extends Data.TaggedError("ConnectionFailure")<{
  readonly reason: ConnectionFailureReason
  readonly detail: string
  /** The system's own error, for `--debug` and the server's log; never shown to users otherwise. */
  readonly cause?: unknown
}> {}

export type TimeoutPhase = "Request" | "Idle" | "Connect"

/** A deadline passed: the whole request, or a transfer that made no progress. */
export class Timeout extends Data.TaggedError("Timeout")<{
  readonly phase: TimeoutPhase
  readonly seconds: number
}> {}

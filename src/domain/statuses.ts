import * as Match from "effect/Match"
import type { ConnectionFailure, FileFailure, HashMismatch, ProtocolViolation, Timeout } from "./errors.ts"
import { Status } from "./protocol.ts"

/** Every expected failure of a server operation. */
export type OperationError = ProtocolViolation | FileFailure | HashMismatch | ConnectionFailure | Timeout

/**
 * Where a status byte is due when a failure happens:
 * - "Reply": the first status of any operation (and op 30's second one);
 * - "ResumeCheck": op 40's second status, after the request was accepted;
 * - "ManyFile": the status in front of one file of an op 50 reply.
 */
export const StatusPoints = ["Reply", "ResumeCheck", "ManyFile"] as const
export type StatusPoint = (typeof StatusPoints)[number]

/**
 * The single mapping from an expected failure to the status byte the peer is
 * told. `undefined` means nothing can be said: the connection itself is gone.
 */
export const statusFor = (error: OperationError, point: StatusPoint): number | undefined =>
  Match.value(error).pipe(
    Match.tagsExhaustive({
      ProtocolViolation: () => Status.Error,
      Timeout: () => Status.Error,
      FileFailure: () => (point === "ResumeCheck" ? Status.NotFound : Status.Error),
      HashMismatch: () => (point === "ResumeCheck" ? Status.HashMismatch : Status.Error),
      ConnectionFailure: () => undefined
    })
  )

import { describe, expect, test } from "bun:test"
import {
  ConnectionFailure,
  type ConnectionFailureReason,
  FileFailure,
  type FileFailureReason,
  HashMismatch,
  ProtocolViolation,
  Timeout,
  type ViolationReason
} from "../../src/domain/errors.ts"
import { type OperationError, type StatusPoint, statusFor } from "../../src/domain/statuses.ts"

/**
 * statusFor, exhaustively: every error tag (with every reason it can carry)
 * at every point where a status byte is due.
 *
 * - ProtocolViolation, Timeout: 1 everywhere.
 * - FileFailure: 10 (not found) at op 40's second status, else 1.
 * - HashMismatch: 20 at op 40's second status, else 1.
 * - ConnectionFailure: nothing can be said (undefined).
 */

const points: ReadonlyArray<StatusPoint> = ["Reply", "ResumeCheck", "ManyFile"]

const violationReasons: ReadonlyArray<ViolationReason> = [
  "UnknownOpcode",
  "BadLength",
  "InvalidName",
  "InvalidMask",
  "UnexpectedStatus",
  "LengthTooLarge",
  "InvalidListing",
  "UnexpectedName",
  "Truncated"
]
const fileReasons: ReadonlyArray<FileFailureReason> = [
  "NotFound",
  "NotRegularFile",
  "OutsideRoot",
  "TooLarge",
  "IsDirectory",
  "PermissionDenied",
  "NoSpace",
  "Io"
]
const connectionReasons: ReadonlyArray<ConnectionFailureReason> = ["Refused", "Unresolved", "Closed", "Reset", "Io"]

type Expected = number | undefined

/** [description, error, expected status at Reply, ResumeCheck, ManyFile]. */
type Row = readonly [string, OperationError, Expected, Expected, Expected]

const rows: ReadonlyArray<Row> = [
  ...violationReasons.map(
    (reason): Row => [`ProtocolViolation ${reason}`, new ProtocolViolation({ reason, detail: "x" }), 1, 1, 1]
  ),
  ...(["Request", "Idle", "Connect"] as const).map(
    (phase): Row => [`Timeout ${phase}`, new Timeout({ phase, seconds: 30 }), 1, 1, 1]
  ),
  ...fileReasons.map(
    (reason): Row => [`FileFailure ${reason}`, new FileFailure({ reason, name: "a.txt", detail: "x" }), 1, 10, 1]
  ),
  ["HashMismatch", new HashMismatch({ name: "a.txt", position: 3 }), 1, 20, 1],
  ...connectionReasons.map(
    (reason): Row => [
      `ConnectionFailure ${reason}`,
      new ConnectionFailure({ reason, detail: "x" }),
      undefined,
      undefined,
      undefined
    ]
  )
]

describe("statusFor", () => {
  for (const [description, error, ...expected] of rows) {
    for (const [i, point] of points.entries()) {
      test(`${description} at ${point} → ${expected[i]}`, () => {
        expect(statusFor(error, point)).toBe(expected[i])
      })
    }
  }

  test("op 40's second status only ever says 0, 10 or 20 for a file problem", () => {
    const allowed = new Set([0, 10, 20])
    for (const reason of fileReasons) {
      const status = statusFor(new FileFailure({ reason, name: "a", detail: "" }), "ResumeCheck")
      expect(status !== undefined && allowed.has(status)).toBe(true)
    }
    expect(statusFor(new HashMismatch({ name: "a", position: 0 }), "ResumeCheck")).toBe(20)
  })
})

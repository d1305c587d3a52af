import { describe, expect, test } from "bun:test"
import {
  ConnectionFailure,
  ConnectionFailureReasons,
  FileFailure,
  FileFailureReasons,
  HashMismatch,
  ProtocolViolation,
  Timeout,
  TimeoutPhases,
  ViolationReasons
} from "../../src/domain/errors.ts"
import { type OperationError, StatusPoints, statusFor } from "../../src/domain/statuses.ts"

/**
 * statusFor, exhaustively: every error tag (with every reason it can carry,
 * from the lists errors.ts exports, so a new reason is checked here at once)
 * at every point where a status byte is due.
 *
 * - ProtocolViolation, Timeout: 1 everywhere.
 * - FileFailure: 10 (not found) at op 40's second status, else 1.
 * - HashMismatch: 20 at op 40's second status, else 1.
 * - ConnectionFailure: nothing can be said (undefined).
 */

type Expected = number | undefined

/** [description, error, expected status at Reply, ResumeCheck, ManyFile]. */
type Row = readonly [string, OperationError, Expected, Expected, Expected]

const rows: ReadonlyArray<Row> = [
  ...ViolationReasons.map(
    (reason): Row => [`ProtocolViolation ${reason}`, new ProtocolViolation({ reason, detail: "x" }), 1, 1, 1]
  ),
  ...TimeoutPhases.map((phase): Row => [`Timeout ${phase}`, new Timeout({ phase, seconds: 30 }), 1, 1, 1]),
  ...FileFailureReasons.map(
    (reason): Row => [`FileFailure ${reason}`, new FileFailure({ reason, name: "a.txt", detail: "x" }), 1, 10, 1]
  ),
  ["HashMismatch", new HashMismatch({ name: "a.txt", position: 3 }), 1, 20, 1],
  ...ConnectionFailureReasons.map(
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
    for (const [i, point] of StatusPoints.entries()) {
      test(`${description} at ${point} → ${expected[i]}`, () => {
        expect(statusFor(error, point)).toBe(expected[i])
      })
    }
  }

  test("op 40's second status only ever says 0, 10 or 20 for a file problem", () => {
    const allowed = new Set([0, 10, 20])
    for (const reason of FileFailureReasons) {
      const status = statusFor(new FileFailure({ reason, name: "a", detail: "" }), "ResumeCheck")
      expect(status !== undefined && allowed.has(status)).toBe(true)
    }
    expect(statusFor(new HashMismatch({ name: "a", position: 0 }), "ResumeCheck")).toBe(20)
  })
})

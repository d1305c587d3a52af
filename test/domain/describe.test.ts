import { describe, expect, test } from "bun:test"
import { describeFailure } from "../../src/domain/describe.ts"
import {
  ConnectionFailure,
  ConnectionFailureReasons,
  FileFailure,
  FileFailureReasons,
  ProtocolViolation,
  Timeout,
  TimeoutPhases,
  ViolationReasons
} from "../../src/domain/errors.ts"
import type { OperationError } from "../../src/domain/statuses.ts"

/**
 * describeFailure (the server log's words) for every reason of every error,
 * from the lists errors.ts exports: each is Portuguese text with no internal
 * tag, no errno token and no "undefined", and the reasons of one error are
 * told apart.
 */

const cases = (errors: ReadonlyArray<readonly [string, OperationError]>) => errors

const byTag = {
  ProtocolViolation: cases(
    ViolationReasons.map((reason) => [reason, new ProtocolViolation({ reason, detail: "comprimento 0" })] as const)
  ),
  FileFailure: cases(
    FileFailureReasons.map(
      (reason) => [reason, new FileFailure({ reason, name: "a.txt", detail: "falhou (EIO)" })] as const
    )
  ),
  ConnectionFailure: cases(
    ConnectionFailureReasons.map((reason) => [reason, new ConnectionFailure({ reason, detail: "x" })] as const)
  ),
  Timeout: cases(TimeoutPhases.map((phase) => [phase, new Timeout({ phase, seconds: 5 })] as const))
}

describe("describeFailure", () => {
  for (const [tag, rows] of Object.entries(byTag)) {
    test.each(rows)(`${tag} %s: Portuguese, no tag, no errno`, (reason, error) => {
      const text = describeFailure(error)
      expect(text.trim().length).toBeGreaterThan(0)
      expect(text).not.toContain(reason)
      expect(text).not.toContain(tag)
      expect(text).not.toMatch(/\bE[A-Z]{2,}\b/)
      expect(text).not.toContain("undefined")
    })
  }

  // A protocol violation's words are its detail, so only the others must differ per reason.
  for (const tag of ["FileFailure", "ConnectionFailure", "Timeout"] as const) {
    test(`${tag}: each reason has its own words`, () => {
      const texts = byTag[tag].map(([, error]) => describeFailure(error))
      expect(new Set(texts).size).toBe(texts.length)
    })
  }
})

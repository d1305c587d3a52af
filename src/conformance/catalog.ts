import type { Check } from "./check.ts"
import { concurrencyChecks } from "./checks/concurrency.ts"
import { deadlineChecks } from "./checks/deadlines.ts"
import { downloadChecks } from "./checks/download.ts"
import { framingChecks } from "./checks/framing.ts"
import { listingChecks } from "./checks/listing.ts"
import { manyChecks } from "./checks/many.ts"
import { nameChecks } from "./checks/names.ts"
import { resumeChecks } from "./checks/resume.ts"
import { robustnessChecks } from "./checks/robustness.ts"
import { uploadChecks } from "./checks/upload.ts"

/** Every check, in the order the report shows them. */
export const CATALOG: ReadonlyArray<Check> = [
  ...framingChecks,
  ...downloadChecks,
  ...listingChecks,
  ...uploadChecks,
  ...resumeChecks,
  ...manyChecks,
  ...nameChecks,
  ...deadlineChecks,
  ...concurrencyChecks,
  ...robustnessChecks
]

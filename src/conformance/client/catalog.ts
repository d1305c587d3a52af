import type { Scenario, Verdict } from "./scenario.ts"
import { downloadScenarios } from "./scenarios/download.ts"
import { listingScenarios } from "./scenarios/listing.ts"
import { manyScenarios } from "./scenarios/many.ts"
import { resumeScenarios } from "./scenarios/resume.ts"
import { uploadScenarios } from "./scenarios/upload.ts"

/** Every scenario of the client judge, in the order the report shows them. */
export const SCENARIOS: ReadonlyArray<Scenario> = [
  ...downloadScenarios.filter((scenario) => scenario.stalls !== true),
  ...listingScenarios,
  ...uploadScenarios,
  ...resumeScenarios,
  ...manyScenarios,
  ...downloadScenarios.filter((scenario) => scenario.stalls === true)
]

export const VERDICTS: ReadonlyArray<Verdict> = SCENARIOS.flatMap((scenario) => scenario.verdicts)

import { expect, test } from "bun:test"
import { runSoak, summaryLines } from "../../soak/soak.ts"

/**
 * The soak of `bun run soak`, for 60 s: every operation mixed, six clients,
 * random faults. Nothing wrong may arrive, nothing still moving may be cut,
 * no temporary may stay, and the server's memory and descriptors stay flat.
 */
test("a 60-second soak: 0 bytes wrong, 0 cut while moving, 0 temporaries, flat memory and descriptors", async () => {
  const lines: Array<string> = []
  const report = await runSoak({ seconds: 60, clients: 6, timeoutSeconds: 3, log: (line) => lines.push(line) })
  const summary = summaryLines(report)
  if (!report.ok) console.log([...lines, ...summary].join("\n"))
  expect(report.defects).toEqual([])
  expect(report.wrong).toEqual([])
  expect(report.wrongBytes).toBe(0)
  expect(report.cutWhileMoving).toEqual([])
  expect(report.temporariesLeft).toEqual([])
  expect(report.serverAlive).toBe(true)
  expect(report.descriptorsFlat).toBe(true)
  expect(report.rssFlat).toBe(true)
  // It did work, and the faults did happen.
  expect(report.operations).toBeGreaterThan(100)
  expect(report.bytesVerified).toBeGreaterThan(0)
  expect(Object.keys(report.failures).length).toBeGreaterThan(1)
  expect(report.ok).toBe(true)
}, 150_000)

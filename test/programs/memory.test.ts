import { describe, expect, test } from "bun:test"
import { Collector } from "../../src/programs/server/memory.ts"

/** A collector on a fake clock; returns the times at which it collected. */
const simulate = (every: number, minIntervalMillis: number, endings: ReadonlyArray<number>) => {
  let clock = 0
  const collections: Array<number> = []
  const collector = new Collector({
    every,
    minIntervalMillis,
    now: () => clock,
    collect: () => collections.push(clock)
  })
  for (const at of endings) {
    clock = at
    collector.connectionEnded()
  }
  return collections
}

describe("Collector: a full collection after many connections ended", () => {
  test.each([
    ["nothing before `every` connections ended", 4, 0, [1, 2, 3], []],
    ["once at the 4th, again at the 8th", 4, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9], [4, 8]],
    ["the first one at once, even at time 0", 1, 1000, [0], [0]],
    ["not again within the minimum interval", 1, 1000, [0, 10, 999, 1000, 1500, 2000], [0, 1000, 2000]],
    ["a burst waits for the interval, then collects on the next ending", 2, 1000, [0, 1, 2, 3, 4, 1200], [1, 1200]],
    ["an idle stretch collects nothing", 3, 1000, [0, 1, 50_000], [50_000]]
  ])("%s", (_label, every, interval, endings, expected) => {
    expect(simulate(every, interval, endings)).toEqual(expected)
  })
})

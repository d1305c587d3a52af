/** Sizes and repetition counts for a full run and for a quick check (`--rapido`). */

export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB

export interface BenchConfig {
  readonly quick: boolean
  /** Timed repetitions of every measurement. */
  readonly reps: number
  /** Scenarios 1 and 2: one big file. */
  readonly bigBytes: number
  /** Scenario 3: many small downloads, one connection each. */
  readonly smallOps: number
  readonly smallBytes: number
  readonly smallConcurrency: number
  /**
   * Untimed operations before the first timed repetition of scenario 3: enough
   * for the JIT of the Bun servers to reach its steady state, so that the
   * repetitions measure the cost of a connection, not of compiling its code.
   */
  readonly smallWarmup: number
  /** Scenario 4: concurrent downloads of one medium file. */
  readonly fanoutClients: number
  readonly fanoutBytes: number
  /** Scenario 5: `baixar-varios` of many small files. */
  readonly manyFiles: number
  readonly manyBytes: number
}

export const FULL: BenchConfig = {
  quick: false,
  reps: 5,
  bigBytes: GiB,
  smallOps: 10_000,
  smallBytes: KiB,
  smallConcurrency: 32,
  smallWarmup: 15_000,
  fanoutClients: 200,
  fanoutBytes: 50 * MiB,
  manyFiles: 1_000,
  manyBytes: 4 * KiB
}

export const QUICK: BenchConfig = {
  quick: true,
  reps: 2,
  bigBytes: 128 * MiB,
  smallOps: 2_000,
  smallBytes: KiB,
  smallConcurrency: 32,
  smallWarmup: 200,
  fanoutClients: 200,
  fanoutBytes: 4 * MiB,
  manyFiles: 200,
  manyBytes: 4 * KiB
}

/** Space the big files need at once: source, downloaded copy, uploaded copy, plus slack. */
export const spaceNeeded = (config: BenchConfig): number =>
  3 * config.bigBytes + config.fanoutBytes + config.manyFiles * config.manyBytes + 256 * MiB

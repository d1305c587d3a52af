import type { BenchConfig } from "./config.ts"
import { auto, num } from "./format.ts"
import type { Machine } from "./machine.ts"
import type { StartupResult } from "./scenarios/startup.ts"
import { wasInterrupted } from "./system.ts"

/**
 * The shape of the results (what bench/resultados.json holds), summary
 * statistics, and the loop that measures contenders in interleaved rounds.
 */

/** "nosso": this project; "par": a peer it is compared with; "limite": a reference, not a peer (iperf3). */
export type Role = "nosso" | "par" | "limite"

export interface Extra {
  readonly label: string
  readonly unit: string
  readonly values: Array<number>
}

export interface Series {
  readonly id: string
  readonly label: string
  readonly role: Role
  /** How the load was driven, for the report (the command or generator). */
  readonly how: string
  /** Wall seconds of each timed repetition. */
  readonly seconds: Array<number>
  /** Work done by each repetition, in the scenario's work unit (bytes, operations, files). */
  readonly work: number
  /** Other numbers per repetition: CPU time, peak memory, latency. */
  readonly extras: Record<string, Extra>
  /** Repetitions that failed, with the reason. */
  readonly failures: Array<string>
}

export interface ScenarioResult {
  readonly id: string
  readonly title: string
  readonly description: string
  /** The rate shown: work per second divided by `divisor` (bytes → MiB/s). */
  readonly rateUnit: string
  readonly divisor: number
  readonly series: Array<Series>
  readonly notes: Array<string>
  error?: string
}

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

export const summarize = (values: ReadonlyArray<number>): Summary => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN }
  const middle = sorted.length >> 1
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! }
}

/** The rate of each repetition, in the scenario's unit. */
export const rates = (scenario: ScenarioResult, series: Series): Array<number> =>
  series.seconds.map((seconds) => series.work / scenario.divisor / seconds)

export const medianRate = (scenario: ScenarioResult, series: Series): number =>
  summarize(rates(scenario, series)).median

/** The peer with the highest median rate, if any peer has a result. */
export const bestPeer = (scenario: ScenarioResult): Series | undefined =>
  scenario.series
    .filter((series) => series.role === "par" && series.seconds.length > 0)
    .sort((a, b) => medianRate(scenario, b) - medianRate(scenario, a))[0]

export interface Sample {
  readonly seconds: number
  /** Values of the contender's extras for this repetition, by key. */
  readonly extras?: Record<string, number>
}

export interface Contender {
  readonly id: string
  readonly label: string
  readonly role: Role
  readonly how: string
  readonly work: number
  /** Labels and units of the extras `run` reports, by key. */
  readonly extras?: Record<string, { readonly label: string; readonly unit: string }>
  /** Untimed preparation before each repetition (removing the previous copy, say). */
  readonly before?: () => Promise<void>
  readonly run: () => Promise<Sample>
  /** Untimed check of what the repetition produced; if it fails, so does the repetition. */
  readonly check?: () => Promise<void>
  /** Untimed cleanup after each repetition, whether it worked or not. */
  readonly after?: () => Promise<void>
}

const seriesOf = (contender: Contender): Series => ({
  id: contender.id,
  label: contender.label,
  role: contender.role,
  how: contender.how,
  seconds: [],
  work: contender.work,
  extras: Object.fromEntries(
    Object.entries(contender.extras ?? {}).map(([key, { label, unit }]) => [key, { label, unit, values: [] }])
  ),
  failures: []
})

/**
 * Measures every contender `reps` times, in rounds (each round runs each
 * contender once), so that a slow drift of the machine spreads over all of
 * them instead of falling on one. A failed repetition is recorded and the
 * rest goes on.
 */
export const measureRounds = async (
  scenario: Omit<ScenarioResult, "series">,
  reps: number,
  contenders: ReadonlyArray<Contender>
): Promise<ScenarioResult> => {
  const series = contenders.map(seriesOf)
  for (let round = 1; round <= reps; round++) {
    for (const [index, contender] of contenders.entries()) {
      const target = series[index]!
      if (wasInterrupted()) throw new Error("interrompido")
      try {
        await contender.before?.()
        const sample = await contender.run()
        await contender.check?.()
        target.seconds.push(sample.seconds)
        for (const [key, value] of Object.entries(sample.extras ?? {})) target.extras[key]?.values.push(value)
        const rate = contender.work / scenario.divisor / sample.seconds
        console.log(
          `  [${round}/${reps}] ${contender.label}: ${num(sample.seconds, 3)} s (${auto(rate)} ${scenario.rateUnit})`
        )
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        target.failures.push(reason)
        console.log(`  [${round}/${reps}] ${contender.label}: FALHOU — ${reason}`)
      } finally {
        await contender.after?.().catch(() => {})
      }
    }
  }
  return { ...scenario, series }
}

/** Everything one run produced: what bench/resultados.json holds and what the report is made of. */
export interface BenchResults {
  readonly generatedAt: string
  readonly quick: boolean
  readonly config: BenchConfig
  readonly machine: Machine
  /** Where the files were: "/dev/shm" (tmpfs) or a folder on disk. */
  readonly workspace: { readonly root: string; readonly inMemory: boolean }
  readonly durationSeconds: number
  /** Share (0 to 1) of all cores busy with other work just before the run: others using the machine skew the numbers. */
  readonly busyBefore: number
  readonly startup: StartupResult | undefined
  readonly scenarios: ReadonlyArray<ScenarioResult>
}

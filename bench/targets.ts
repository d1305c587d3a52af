import { num, ratio } from "./format.ts"
import { type BenchResults, medianRate, summarize } from "./results.ts"

/**
 * The targets of the performance issue, checked against this run's medians:
 * the report says for each one what was measured and whether it was met.
 * Our client counts as a process (what a user runs); the in-process figure
 * is shown beside it.
 */

const rateOf = (results: BenchResults, scenarioId: string, seriesId: string): number | undefined => {
  const scenario = results.scenarios.find((s) => s.id === scenarioId)
  const series = scenario?.series.find((s) => s.id === seriesId && s.seconds.length > 0)
  return scenario && series ? medianRate(scenario, series) : undefined
}

const extraOf = (results: BenchResults, scenarioId: string, seriesId: string, key: string): number | undefined => {
  const series = results.scenarios.find((s) => s.id === scenarioId)?.series.find((s) => s.id === seriesId)
  const values = series?.extras[key]?.values
  return values && values.length > 0 ? summarize(values).median : undefined
}

interface Row {
  readonly target: string
  readonly measured: string
  readonly met: boolean | undefined
}

/** Ours against a peer: the process client decides, the in-process one is shown too. */
const against = (
  results: BenchResults,
  scenario: string,
  peer: string,
  peerName: string,
  rule: { readonly atLeast: number } | "ahead"
): Row => {
  const theirs = rateOf(results, scenario, peer)
  const process = rateOf(results, scenario, "nosso-processo") ?? rateOf(results, scenario, "nosso")
  const inside = rateOf(results, scenario, "nosso-em-processo")
  if (theirs === undefined || process === undefined)
    return { target: "", measured: "sem dados nesta execução", met: undefined }
  const shown =
    `${ratio(process / theirs)} do ${peerName}` +
    (inside === undefined ? "" : ` (em processo: ${ratio(inside / theirs)})`)
  const share = process / theirs
  return { target: "", measured: shown, met: rule === "ahead" ? share > 1 : share >= rule.atLeast }
}

export const targetRows = (results: BenchResults): ReadonlyArray<Row> => {
  const memory = extraOf(results, "downloads-simultaneos", "nosso", "memoria")
  return [
    {
      ...against(results, "download-grande", "nginx", "nginx", { atLeast: 1 }),
      target: "1. Download de 1 GiB: pelo menos o curl do nginx"
    },
    {
      ...against(results, "download-grande", "iperf3", "iperf3", { atLeast: 0.7 }),
      target: "1. Download de 1 GiB: pelo menos 70% do iperf3"
    },
    {
      ...against(results, "upload-grande", "pyftpdlib", "pyftpdlib", { atLeast: 1 }),
      target: "2. Upload de 1 GiB: pelo menos o pyftpdlib"
    },
    {
      ...against(results, "operacoes-pequenas", "pyftpdlib", "pyftpdlib", "ahead"),
      target: "3. 10.000 downloads de 1 KiB: à frente do pyftpdlib"
    },
    {
      target: "4. 200 downloads simultâneos: pico de memória do servidor abaixo de 150 MiB",
      measured: memory === undefined ? "sem dados nesta execução" : `${num(memory, 0)} MiB`,
      met: memory === undefined ? undefined : memory < 150
    },
    {
      ...against(results, "baixar-varios", "lftp", "lftp", "ahead"),
      target: "5. baixar-varios de 1.000 arquivos: à frente do lftp"
    },
    {
      target: "Os dois núcleos usados onde compensa, medido antes de adotar",
      measured: "dois processos na mesma porta (`SO_REUSEPORT`) medidos: não compensou aqui (veja as mudanças medidas)",
      met: undefined
    }
  ]
}

export const targetsTable = (results: BenchResults): ReadonlyArray<string> => [
  "| Meta | Medido (mediana) | Cumprida |",
  "|---|---|---|",
  ...targetRows(results).map(
    (row) => `| ${row.target} | ${row.measured} | ${row.met === undefined ? "—" : row.met ? "sim" : "**não**"} |`
  )
]

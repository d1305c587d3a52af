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

/**
 * Whether a ratio is within a limit: CPU comes in 10 ms ticks, so 0.48 / 0.32
 * is exactly 1.5 in the units measured, though not in floating point.
 */
const within = (ratio: number, limit: number) => ratio <= limit * (1 + 1e-9)

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

/** Ours against the raw Bun server of the small-operations scenario, for the connection-layer targets. */
const againstBun = (results: BenchResults): ReadonlyArray<Row> => {
  const scenario = "operacoes-pequenas"
  const ours = rateOf(results, scenario, "nosso")
  const bun = rateOf(results, scenario, "bun-cru")
  const cpu = (id: string) => extraOf(results, scenario, id, "servidorCpu")
  const p99 = (id: string) => extraOf(results, scenario, id, "p99")
  const missing = { measured: "sem dados nesta execução", met: undefined }
  const ourCpu = cpu("nosso")
  const bunCpu = cpu("bun-cru")
  const ourP99 = p99("nosso")
  const bunP99 = p99("bun-cru")
  return [
    {
      target: "Operações pequenas: op/s pelo menos 0,8× o limite do Bun",
      ...(ours === undefined || bun === undefined
        ? missing
        : { measured: `${ratio(ours / bun)} do limite do Bun`, met: ours / bun >= 0.8 })
    },
    {
      target: "Operações pequenas: CPU do servidor por operação no máximo 1,5× a do limite do Bun",
      ...(ourCpu === undefined || bunCpu === undefined || bunCpu <= 0
        ? missing
        : { measured: `${ratio(ourCpu / bunCpu)} a do limite do Bun`, met: within(ourCpu / bunCpu, 1.5) })
    },
    {
      target: "Operações pequenas: latência p99 no máximo 2× a do limite do Bun",
      ...(ourP99 === undefined || bunP99 === undefined || bunP99 <= 0
        ? missing
        : { measured: `${ratio(ourP99 / bunP99)} a do limite do Bun`, met: within(ourP99 / bunP99, 2) })
    }
  ]
}

/** The connection layer's targets for 200 downloads at once: memory near nginx's, throughput not below it. */
const fanoutTargets = (results: BenchResults, memory: number | undefined): ReadonlyArray<Row> => {
  const throughput = against(results, "downloads-simultaneos", "nginx", "nginx", { atLeast: 1 })
  return [
    {
      target: "200 downloads simultâneos: pico de memória do servidor no máximo 64 MiB",
      measured: memory === undefined ? "sem dados nesta execução" : `${num(memory, 1)} MiB`,
      met: memory === undefined ? undefined : memory <= 64
    },
    { ...throughput, target: "200 downloads simultâneos: vazão pelo menos a do nginx" }
  ]
}

export const targetRows = (results: BenchResults): ReadonlyArray<Row> => {
  const memory = extraOf(results, "downloads-simultaneos", "nosso", "memoria")
  const exe = results.startup?.executable
  const curl = results.startup?.curl
  const startupShare =
    exe !== undefined && exe.length > 0 && curl !== undefined && curl.length > 0
      ? summarize(exe).median / summarize(curl).median
      : undefined
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
    ...againstBun(results),
    ...fanoutTargets(results, memory),
    {
      target: "Partida: `dist/cliente --ajuda` em até 4× o tempo de `curl --version`",
      measured:
        startupShare === undefined
          ? "sem dados nesta execução"
          : `${num(summarize(exe!).median * 1000, 0)} ms, ${ratio(startupShare)} do curl (${num(summarize(curl!).median * 1000, 0)} ms)`,
      met: startupShare === undefined ? undefined : startupShare <= 4
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

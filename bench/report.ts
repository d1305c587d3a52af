import { readFileSync } from "node:fs"
import * as path from "node:path"
import { auto, count, formatSize, num, ratio } from "./format.ts"
import { observations } from "./observations.ts"
import {
  type BenchResults,
  bestPeer,
  medianRate,
  rates,
  type ScenarioResult,
  type Series,
  summarize
} from "./results.ts"
import { targetsTable } from "./targets.ts"

/** docs/DESEMPENHO.md, in Portuguese, from the results of one run. */

const range = (values: ReadonlyArray<number>, format: (value: number) => string) => {
  const { min, max } = summarize(values)
  return Number.isFinite(min) ? `${format(min)}–${format(max)}` : "—"
}

const table = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align?: ReadonlyArray<"l" | "r">
) =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---")).join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`)
  ].join("\n")

/** "2,1× mais lento" or "1,3× mais rápido", from our rate over the peer's. */
/** The measured changes, kept by hand in bench/historico.md (each with its before and after). */
const history = readFileSync(path.join(import.meta.dir, "historico.md"), "utf8").trimEnd()

export const verdict = (relative: number): string =>
  !Number.isFinite(relative)
    ? "—"
    : relative < 1
      ? `${ratio(1 / relative)} mais lento`
      : relative > 1
        ? `${ratio(relative)} mais rápido`
        : "empate"

const resultsTable = (scenario: ScenarioResult): string => {
  const extraKeys = [...new Set(scenario.series.flatMap((series) => Object.keys(series.extras)))]
  const extraLabel = (key: string) => {
    const extra = scenario.series.find((series) => series.extras[key])?.extras[key]
    return extra ? `${extra.label} (${extra.unit}, mediana)` : key
  }
  const header = [
    "Implementação",
    "Tempo mediano (s)",
    "Tempo mín–máx (s)",
    `${scenario.rateUnit} (mediana)`,
    `${scenario.rateUnit} (mín–máx)`,
    ...extraKeys.map(extraLabel)
  ]
  const rows = scenario.series.map((series) => {
    const label = series.role === "nosso" ? `**${series.label}**` : series.label
    if (series.seconds.length === 0) return [label, "falhou", "—", "—", "—", ...extraKeys.map(() => "—")]
    const perRep = rates(scenario, series)
    return [
      label,
      num(summarize(series.seconds).median, 3),
      range(series.seconds, (value) => num(value, 3)),
      auto(summarize(perRep).median),
      range(perRep, auto),
      ...extraKeys.map((key) => auto(summarize(series.extras[key]?.values ?? []).median))
    ]
  })
  return table(header, rows)
}

/** Our rate over each peer's (and the limit's): above 1, ours is faster. */
const ratioTable = (scenario: ScenarioResult): string => {
  const ours = scenario.series.filter((series) => series.role === "nosso")
  const others = scenario.series.filter((series) => series.role !== "nosso")
  if (others.length === 0) return ""
  const cell = (mine: Series, other: Series) => {
    const relative = medianRate(scenario, mine) / medianRate(scenario, other)
    return Number.isFinite(relative) ? `${ratio(relative)} (${verdict(relative)})` : "—"
  }
  return table(
    ["Nosso ÷ par (vazão mediana)", ...others.map((other) => other.label)],
    ours.map((mine) => [`**${mine.label}**`, ...others.map((other) => cell(mine, other))])
  )
}

const scenarioSection = (scenario: ScenarioResult, index: number, reps: number): string => {
  const parts = [`## ${index}. ${scenario.title}`, "", scenario.description, ""]
  if (scenario.error !== undefined) {
    parts.push(`**Este cenário não pôde ser medido:** ${scenario.error}`, "")
    return parts.join("\n")
  }
  parts.push(resultsTable(scenario), "")
  const ratios = ratioTable(scenario)
  if (ratios) parts.push(ratios, "", "Razão acima de 1: o nosso é mais rápido; abaixo de 1, mais lento.", "")
  parts.push(`${reps} repetições de cada, intercaladas. Como cada um foi medido:`, "")
  for (const series of scenario.series) parts.push(`- ${series.label}: ${series.how.replaceAll("|", "\\|")}`)
  for (const note of scenario.notes) parts.push(`- ${note}`)
  const failures = scenario.series.flatMap((series) => series.failures.map((failure) => `${series.label}: ${failure}`))
  if (failures.length > 0) {
    parts.push("", "**Repetições que falharam** (fora das estatísticas):", "")
    for (const failure of failures) parts.push(`- ${failure.replace(/\s+/g, " ")}`)
  }
  parts.push("")
  return parts.join("\n")
}

/** One line per scenario: each of ours against the best peer. */
const summaryLines = (results: BenchResults): Array<string> =>
  results.scenarios.flatMap((scenario) => {
    const best = bestPeer(scenario)
    if (best === undefined) return []
    const bestRate = medianRate(scenario, best)
    const ours = scenario.series
      .filter((series) => series.role === "nosso" && series.seconds.length > 0)
      .map((series) => {
        const rate = medianRate(scenario, series)
        return `${series.label.replace(/^Nosso /, "nosso ")}: ${auto(rate)} ${scenario.rateUnit}, ${ratio(rate / bestRate)} (${verdict(rate / bestRate)})`
      })
    return ours.length === 0
      ? []
      : [
          `- **${scenario.title}** — melhor par: ${best.label}, ${auto(bestRate)} ${scenario.rateUnit}; ${ours.join("; ")}.`
        ]
  })

const machineTable = (results: BenchResults): string => {
  const { machine } = results
  const versions = Object.entries(machine.versions).map(([name, version]) => [name, version])
  return table(
    ["", ""],
    [
      ["CPU", `${machine.cpu} (${machine.logicalCores} núcleos lógicos)`],
      ["Memória", formatSize(Math.round(machine.memoryBytes / (1024 * 1024)) * 1024 * 1024)],
      ["Sistema", machine.system],
      ["Kernel", machine.kernel],
      ...versions,
      [
        "CPU ocupada por outros processos antes de começar",
        `${num(results.busyBefore * 100, 0)}% (de todos os núcleos, medida por 2 s)`
      ],
      [
        "Pasta de trabalho",
        `${results.workspace.root}${results.workspace.inMemory ? " (tmpfs, na memória)" : " (disco)"}`
      ]
    ],
    ["l", "l"]
  )
}

export const renderReport = (results: BenchResults): string => {
  const { config } = results
  const when = new Date(results.generatedAt)
  const stamp = `${when.toISOString().slice(0, 16).replace("T", " ")} UTC`
  const mode = results.quick
    ? "**execução rápida** (`--rapido`: menos repetições e tamanhos menores; serve para conferir, não para comparar)"
    : "execução completa"
  const parts = [
    "# Desempenho",
    "",
    `> Gerado por \`bun run bench\` em ${stamp}, ${mode}, em ${num(results.durationSeconds / 60, 1)} min. ` +
      "Este arquivo, o gráfico `desempenho.svg` e os números brutos em `bench/resultados.json` são reescritos a cada execução. " +
      "O benchmark não faz parte dos testes.",
    "",
    "Compara o servidor e o cliente deste projeto com servidores e clientes conhecidos, todos na mesma máquina, " +
      "pela interface de loopback (127.0.0.1): nginx (HTTP, com sendfile), pyftpdlib (FTP, com sendfile), " +
      "`python3 -m http.server`, os clientes `curl` e `lftp`, e o limite de um fluxo TCP medido pelo `iperf3`. " +
      "Cada servidor roda num único processo (o nginx com um worker).",
    "",
    "## Como reproduzir",
    "",
    "```sh",
    "bun run bench            # completo (cerca de 15 min em 2 núcleos)",
    "bun run bench --rapido   # conferência rápida (cerca de 3 min)",
    "```",
    "",
    "Sem o Bun instalado, `npx bun run bench`. Os pares vêm de pacotes Debian: se faltar algum, o benchmark roda " +
      "`apt-get update` e `apt-get install -y nginx python3-pyftpdlib curl lftp iperf3` (precisa de root). " +
      "Os servidores escutam só em portas de 127.0.0.1, com configuração gerada numa pasta temporária, e são encerrados no fim " +
      "(também com Ctrl+C). Os arquivos de teste ficam em `/dev/shm` quando há espaço (senão numa pasta temporária em disco) " +
      "e são apagados no fim.",
    "",
    `Parâmetros desta execução: ${config.reps} repetições; arquivo grande de ${formatSize(config.bigBytes)}; ` +
      `${count(config.smallOps)} downloads de ${formatSize(config.smallBytes)}, ${config.smallConcurrency} em voo; ` +
      `${config.fanoutClients} downloads simultâneos de ${formatSize(config.fanoutBytes)}; ` +
      `baixar-varios de ${count(config.manyFiles)} arquivos de ${formatSize(config.manyBytes)}.`,
    "",
    "## Máquina",
    "",
    machineTable(results),
    "",
    ...(results.busyBefore > 0.1
      ? [
          "> **Atenção:** outros processos usavam a máquina quando esta execução começou (veja a CPU ocupada acima); " +
            "os números variam mais e tendem a ficar abaixo do que a máquina faz parada.",
          ""
        ]
      : []),
    "## Resumo",
    "",
    "![Vazão de cada implementação relativa ao melhor par, por cenário](desempenho.svg)",
    "",
    ...summaryLines(results),
    "",
    "Em cada tabela: mediana e faixa (mín–máx) das repetições; a vazão é calculada por repetição.",
    "",
    "## Metas",
    "",
    "As metas de desempenho do projeto, conferidas com as medianas desta execução. Vale o nosso cliente como processo " +
      "(o que o usuário roda); o número em processo vem entre parênteses.",
    "",
    ...targetsTable(results),
    "",
    ...results.scenarios.map((scenario, i) => scenarioSection(scenario, i + 1, config.reps)),
    "## Onde o tempo vai",
    "",
    ...observations(results).flatMap((line) => [`- ${line}`]),
    "",
    history
  ]
  return `${parts.join("\n")}\n`
}

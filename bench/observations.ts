import { auto, num, ratio } from "./format.ts"
import { type BenchResults, medianRate, type ScenarioResult, type Series, summarize } from "./results.ts"

/**
 * "Where the time goes": sentences computed from the numbers of this run
 * (the report is regenerated on every run, so nothing here is written by hand).
 */

interface Found {
  readonly scenario: ScenarioResult
  readonly series: Series
}

const find = (results: BenchResults, scenarioId: string, seriesId: string): Found | undefined => {
  const scenario = results.scenarios.find((s) => s.id === scenarioId)
  const series = scenario?.series.find((s) => s.id === seriesId && s.seconds.length > 0)
  return scenario && series ? { scenario, series } : undefined
}

const median = (values: ReadonlyArray<number> | undefined) => summarize(values ?? []).median
const wall = (found: Found) => median(found.series.seconds)
const extra = (found: Found, key: string) => median(found.series.extras[key]?.values)
const ms = (seconds: number) => `${auto(seconds * 1000)} ms`
const percent = (fraction: number) => `${num(fraction * 100, 0)}%`

/** How busy the server was: its CPU seconds over the wall time, as a share of one core. */
const busy = (found: Found) => extra(found, "servidorCpu") / wall(found)

/** What a share of one core says about the server. */
const cpuVerdict = (share: number) =>
  share >= 0.85
    ? "o servidor está limitado pela CPU" +
      (share > 1.02
        ? " (passa de 100% porque o Bun também usa threads auxiliares, de E/S de arquivos e de coleta de lixo)"
        : "")
    : share >= 0.5
      ? "o servidor passa boa parte do tempo na CPU"
      : "o servidor não é o gargalo"

const startupLines = (results: BenchResults): Array<string> => {
  const startup = results.startup
  if (startup === undefined) return []
  const bun = median(startup.bunAlone)
  const help = median(startup.clientHelp)
  const curl = median(startup.curl)
  const source = startup.clientSource === undefined ? undefined : median(startup.clientSource)
  return [
    `**Partida do processo cliente.** \`bun -e ""\` leva ${ms(bun)}; \`bun bin/cliente.ts --ajuda\` ` +
      `(o que \`bun run cliente\` roda: o Bun mais o cliente compilado num só arquivo com bytecode, Effect incluído) leva ${ms(help)}; ` +
      `\`curl --version\` leva ${ms(curl)}. Todo comando do nosso cliente paga uns ${ms(help)} antes do primeiro byte, ` +
      `${ms(Math.max(0, help - bun))} deles carregando o código.` +
      (source === undefined
        ? ""
        : ` Carregado das fontes, módulo a módulo (\`bun src/programs/client/main.ts --ajuda\`), o mesmo cliente leva ${ms(source)}.`)
  ]
}

const bigDownloadLines = (results: BenchResults): Array<string> => {
  const lines: Array<string> = []
  const process = find(results, "download-grande", "nosso-processo")
  const inside = find(results, "download-grande", "nosso-em-processo")
  const nginx = find(results, "download-grande", "nginx")
  const iperf = find(results, "download-grande", "iperf3")
  if (process && inside) {
    lines.push(
      `**Download grande: processo × em processo.** O processo inteiro leva ${num(wall(process), 2)} s e a transferência ` +
        `em processo ${num(wall(inside), 2)} s; a diferença é de ${ms(wall(process) - wall(inside))}` +
        (results.startup === undefined
          ? ""
          : `, dos quais só ${ms(median(results.startup.clientHelp))} são a partida medida acima`) +
        `. O cliente como processo usou ${num(extra(process, "clienteCpu"), 2)} s de CPU, contra ${num(extra(inside, "clienteCpu"), 2)} s ` +
        "em processo: num processo novo, o código que move os dados ainda não foi otimizado pelo JIT, e o processo ainda precisa encerrar."
    )
  }
  if (inside) {
    const share = busy(inside)
    lines.push(
      `**Download grande: onde vai a CPU.** Durante o download em processo, o nosso servidor usou ${num(extra(inside, "servidorCpu"), 2)} s ` +
        `de CPU em ${num(wall(inside), 2)} s de parede (${percent(share)} de um núcleo): ${cpuVerdict(share)}. O cliente usou ` +
        `${num(extra(inside, "clienteCpu"), 2)} s (${percent(extra(inside, "clienteCpu") / wall(inside))} de um núcleo).`
    )
  }
  if (nginx) {
    const client = extra(nginx, "clienteCpu") / wall(nginx)
    lines.push(
      `**Download grande: os pares.** Com o nginx (sendfile: os dados não passam pelo espaço do usuário), o servidor usou ` +
        `${percent(busy(nginx))} de um núcleo e o curl ${percent(client)}` +
        (client >= 0.85 ? ": ali o limite é o próprio curl, copiando do socket para o arquivo." : ".")
    )
  }
  if (inside && iperf) {
    const fraction = medianRate(inside.scenario, inside.series) / medianRate(iperf.scenario, iperf.series)
    lines.push(
      `**Limite do loopback.** Um fluxo TCP de memória para memória (iperf3) chega a ${auto(medianRate(iperf.scenario, iperf.series))} MiB/s; ` +
        `o nosso download em processo alcança ${percent(fraction)} disso.`
    )
  }
  return lines
}

const uploadLines = (results: BenchResults): Array<string> => {
  const inside = find(results, "upload-grande", "nosso-em-processo")
  const ftp = find(results, "upload-grande", "pyftpdlib")
  if (!inside) return []
  const share = busy(inside)
  let line =
    `**Upload grande.** Recebendo e gravando, o nosso servidor usou ${num(extra(inside, "servidorCpu"), 2)} s de CPU em ` +
    `${num(wall(inside), 2)} s de parede (${percent(share)} de um núcleo): ${cpuVerdict(share)}. O cliente em processo usou ` +
    `${num(extra(inside, "clienteCpu"), 2)} s.`
  if (ftp) line += ` O pyftpdlib usou ${num(extra(ftp, "servidorCpu"), 2)} s para receber o mesmo arquivo do curl.`
  return [line]
}

const smallLines = (results: BenchResults): Array<string> => {
  const ours = find(results, "operacoes-pequenas", "nosso")
  const nginx = find(results, "operacoes-pequenas", "nginx")
  if (!ours) return []
  const perOp = (found: Found) => (extra(found, "servidorCpu") / found.series.work) * 1e6
  let line =
    `**Operações pequenas.** Cada download de 1 KiB custa ao nosso servidor ${auto(perOp(ours))} µs de CPU ` +
    `(${percent(busy(ours))} de um núcleo durante a carga: ${cpuVerdict(busy(ours))}; latência p99 de ${auto(extra(ours, "p99"))} ms).`
  if (nginx) {
    line +=
      ` O nginx gasta ${auto(perOp(nginx))} µs por pedido (${ratio(perOp(ours) / perOp(nginx))} menos), ` +
      `com p99 de ${auto(extra(nginx, "p99"))} ms. O gerador de carga roda na mesma máquina e disputa os mesmos 2 núcleos.`
  }
  return [line]
}

const fanoutLines = (results: BenchResults): Array<string> => {
  const ours = find(results, "downloads-simultaneos", "nosso")
  const nginx = find(results, "downloads-simultaneos", "nginx")
  if (!ours) return []
  let line =
    `**Muitos downloads simultâneos.** O nosso servidor chegou a ${auto(extra(ours, "memoria"))} MiB de memória residente de pico ` +
    `e usou ${percent(busy(ours))} de um núcleo: ${cpuVerdict(busy(ours))}.`
  if (nginx) {
    line +=
      ` O nginx ficou em ${auto(extra(nginx, "memoria"))} MiB (mestre + worker) e ${percent(busy(nginx))} de um núcleo` +
      ` para a mesma carga.`
  }
  return [line]
}

const manyLines = (results: BenchResults): Array<string> => {
  const process = find(results, "baixar-varios", "nosso-processo")
  const inside = find(results, "baixar-varios", "nosso-em-processo")
  const lftp = find(results, "baixar-varios", "lftp")
  if (!process || !inside) return []
  let line =
    `**baixar-varios.** ${num(wall(process), 2)} s como processo, ${num(wall(inside), 2)} s em processo ` +
    `(${auto((wall(inside) / inside.series.work) * 1e6)} µs por arquivo, todos numa conexão só).`
  if (lftp) line += ` O lftp leva ${num(wall(lftp), 2)} s, abrindo uma conexão de dados por arquivo.`
  return [line]
}

export const observations = (results: BenchResults): Array<string> => [
  ...startupLines(results),
  ...bigDownloadLines(results),
  ...uploadLines(results),
  ...smallLines(results),
  ...fanoutLines(results),
  ...manyLines(results)
]

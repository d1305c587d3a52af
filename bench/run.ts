import * as path from "node:path"
import { cacheDirs, compiledIn } from "../bin/launch.ts"
import { renderChart } from "./chart.ts"
import { type BenchConfig, FULL, QUICK } from "./config.ts"
import { formatSize, num } from "./format.ts"
import { type InProcessClient, inProcessClient } from "./inprocess.ts"
import { describeMachine } from "./machine.ts"
import { ensurePackages, startFtp, startHttpServer, startNginx, startOurServer } from "./peers.ts"
import { renderReport } from "./report.ts"
import { type BenchResults, type ScenarioResult, summarize } from "./results.ts"
import { bigDownload } from "./scenarios/bigDownload.ts"
import { bigUpload } from "./scenarios/bigUpload.ts"
import type { Bench } from "./scenarios/common.ts"
import { fanout } from "./scenarios/fanout.ts"
import { many } from "./scenarios/many.ts"
import { scaleOutFanout, scaleOutSmall } from "./scenarios/scaleOut.ts"
import { smallOps } from "./scenarios/smallOps.ts"
import { type StartupResult, startup } from "./scenarios/startup.ts"
import { interrupt, machineBusy, stopAll, wasInterrupted } from "./system.ts"
import { makeBenchTls } from "./tls.ts"
import { createFiles, makeWorkspace, removeWorkspace, type Workspace } from "./workspace.ts"

/**
 * `bun run bench [--rapido]`: measures this project's server and client
 * against nginx, pyftpdlib, http.server, curl, lftp and iperf3 on loopback,
 * and writes docs/DESEMPENHO.md, docs/desempenho.svg and bench/resultados.json.
 */

const USAGE = `Uso: bun run bench [--rapido | --relatorio]

Mede o servidor e o cliente deste projeto contra nginx, pyftpdlib, http.server,
curl, lftp e iperf3 em 127.0.0.1, e reescreve docs/DESEMPENHO.md,
docs/desempenho.svg e bench/resultados.json.

  --rapido     menos repetições e arquivos menores (conferência, ~3 min)
  --relatorio  não mede nada: refaz o relatório e o gráfico a partir de
               bench/resultados.json
  --ajuda, -h  mostra esta ajuda`

const REPO = path.resolve(import.meta.dir, "..")
const RESULTS = path.join(REPO, "bench", "resultados.json")

const SCENARIOS: ReadonlyArray<{ readonly title: string; readonly run: (bench: Bench) => Promise<ScenarioResult> }> = [
  { title: "Download de um arquivo grande", run: bigDownload },
  { title: "Upload de um arquivo grande", run: bigUpload },
  { title: "Muitos downloads pequenos", run: smallOps },
  { title: "Downloads simultâneos", run: fanout },
  { title: "baixar-varios", run: many },
  { title: "Várias instâncias atrás do HAProxy: downloads pequenos", run: scaleOutSmall },
  { title: "Várias instâncias atrás do HAProxy: downloads simultâneos", run: scaleOutFanout }
]

const parseArgs = (argv: ReadonlyArray<string>): BenchConfig | "help" | "report" => {
  let config = FULL
  for (const arg of argv) {
    if (arg === "--rapido") config = QUICK
    else if (arg === "--relatorio") return "report"
    else if (arg === "--ajuda" || arg === "-h" || arg === "--help") return "help"
    else {
      console.error(`bench: opção desconhecida: ${arg}\n\n${USAGE}`)
      process.exit(2)
    }
  }
  return config
}

/** What has to be undone at the end, whichever way the run ends. */
const started: { workspace?: Workspace; client?: InProcessClient } = {}
let cleaning: Promise<void> | undefined

const cleanup = () =>
  (cleaning ??= (async () => {
    await started.client?.dispose().catch(() => {})
    await stopAll()
    if (started.workspace) {
      await removeWorkspace(started.workspace).catch((error: unknown) =>
        console.error(
          `não foi possível apagar ${started.workspace?.base}: ${error instanceof Error ? error.message : String(error)}`
        )
      )
    }
  })())

const interrupted = (signal: string) => {
  interrupt()
  console.log(`\n${signal}: encerrando os servidores e apagando os arquivos de teste...`)
  void cleanup().finally(() => process.exit(130))
}

/** docs/DESEMPENHO.md and docs/desempenho.svg, from the results. */
const writeReport = async (results: BenchResults) => {
  const subtitle = `${results.machine.cpu}, ${results.machine.logicalCores} núcleos; ${results.quick ? "execução rápida" : "execução completa"}, ${results.config.reps} repetições`
  await Bun.write(path.join(REPO, "docs", "DESEMPENHO.md"), renderReport(results))
  await Bun.write(path.join(REPO, "docs", "desempenho.svg"), renderChart(results.scenarios, subtitle))
}

/** Our server in TLS beside the plain one, for the TLS rows; undefined (rows left out, saying why) without openssl. */
const startOursTls = async (workspace: Workspace) => {
  try {
    const tls = await makeBenchTls(workspace.tmp)
    const server = await startOurServer(REPO, workspace.serverDir, workspace.tmp, {
      name: "servidor-tls",
      args: ["--tls-certificado", tls.certificate, "--tls-chave", tls.key]
    })
    console.log(`  ${server.name}: porta ${server.port} (pid ${server.daemon.pid})`)
    return { ...server, ca: tls.ca }
  } catch (error) {
    console.log(
      `  servidor-tls: não iniciado (${error instanceof Error ? error.message : String(error)}); as linhas de TLS ficam de fora`
    )
    return undefined
  }
}

const main = async (config: BenchConfig) => {
  const begin = performance.now()
  console.log(
    `Benchmark do servidor de arquivos: ${config.quick ? "execução rápida (--rapido)" : "execução completa"}, ${config.reps} repetições.`
  )
  const busyBefore = await machineBusy()
  if (busyBefore > 0.1) {
    console.log(
      `Atenção: a máquina já está ocupada (${num(busyBefore * 100, 0)}% da CPU antes de começar); os números vão variar mais.`
    )
  }
  await ensurePackages()
  const machine = await describeMachine()
  const workspace = (started.workspace = await makeWorkspace(config))
  console.log(
    `Criando os arquivos de teste (${formatSize(config.bigBytes)}, ${formatSize(config.fanoutBytes)}, ${config.manyFiles} pequenos)...`
  )
  await createFiles(workspace, config)

  // `bun run cliente` and `bun run servidor` start from a compiled copy, built when the sources change:
  // built here, so that no measured run pays for the build.
  for (const [name, entry] of [
    ["cliente", "src/programs/client/main.ts"],
    ["servidor", "src/programs/server/main.ts"]
  ] as const) {
    if ((await compiledIn(name, entry, cacheDirs())).output === undefined)
      console.log(`Atenção: ${name} não compilou; roda das fontes.`)
  }
  console.log("Iniciando os servidores em 127.0.0.1...")
  const [ours, nginx, ftp, http] = await Promise.all([
    startOurServer(REPO, workspace.serverDir, workspace.tmp),
    startNginx(workspace.serverDir, workspace.tmp),
    startFtp(workspace.serverDir, workspace.tmp),
    startHttpServer(workspace.serverDir, workspace.tmp)
  ])
  for (const server of [ours, nginx, ftp, http])
    console.log(`  ${server.name}: porta ${server.port} (pid ${server.daemon.pid})`)
  const oursTls = await startOursTls(workspace)
  const client = (started.client = await inProcessClient(workspace.clientDir, ours.port))
  const bench: Bench = { config, repo: REPO, ...workspace, ours, oursTls, nginx, ftp, http, inProcess: client }

  console.log("\nPartida de processos (sem transferência)...")
  let startupResult: StartupResult | undefined
  try {
    startupResult = await startup(REPO, config.reps)
    const ms = (values: Array<number>) => `${num(summarize(values).median * 1000, 0)} ms`
    console.log(
      `  bun -e "": ${ms(startupResult.bunAlone)}; cliente --ajuda: ${ms(startupResult.clientHelp)} (das fontes: ${ms(startupResult.clientSource)}); curl --version: ${ms(startupResult.curl)}` +
        (startupResult.executable === undefined ? "" : `; dist/cliente --ajuda: ${ms(startupResult.executable)}`)
    )
  } catch (error) {
    console.log(`  falhou: ${error instanceof Error ? error.message : String(error)}`)
  }

  const scenarios: Array<ScenarioResult> = []
  for (const [index, scenario] of SCENARIOS.entries()) {
    if (wasInterrupted()) break
    console.log(`\nCenário ${index + 1}: ${scenario.title}`)
    try {
      scenarios.push(await scenario.run(bench))
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      console.log(`  o cenário falhou: ${reason}`)
      scenarios.push({
        id: `cenario-${index + 1}`,
        title: scenario.title,
        description: "",
        rateUnit: "",
        divisor: 1,
        series: [],
        notes: [],
        error: reason
      })
    }
  }

  // An interrupted run leaves the previous report in place.
  if (wasInterrupted()) return
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    quick: config.quick,
    config,
    machine,
    workspace: { root: path.dirname(workspace.base), inMemory: workspace.inMemory },
    durationSeconds: (performance.now() - begin) / 1000,
    busyBefore,
    startup: startupResult,
    scenarios
  }
  await Bun.write(RESULTS, `${JSON.stringify(results, null, 2)}\n`)
  await writeReport(results)
  console.log(
    `\nPronto em ${((performance.now() - begin) / 60_000).toFixed(1).replace(".", ",")} min: docs/DESEMPENHO.md, docs/desempenho.svg e bench/resultados.json.`
  )
}

const config = parseArgs(process.argv.slice(2))
if (config === "help") {
  console.log(USAGE)
} else if (config === "report") {
  await writeReport((await Bun.file(RESULTS).json()) as BenchResults)
  console.log("docs/DESEMPENHO.md e docs/desempenho.svg refeitos a partir de bench/resultados.json.")
} else {
  process.on("SIGINT", () => interrupted("Ctrl+C"))
  process.on("SIGTERM", () => interrupted("SIGTERM"))
  let code = 0
  try {
    await main(config)
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`)
    code = 1
  } finally {
    await cleanup()
  }
  process.exit(code)
}

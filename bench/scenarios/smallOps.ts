import { count, formatSize } from "../format.ts"
import {
  acceptHttpDownload,
  acceptOurDownload,
  checkLoad,
  httpGetRequest,
  type LoadResult,
  ourDownloadRequest,
  runFtpLoad,
  runSocketLoad
} from "../load.ts"
import { startDesignFloor, startRawBunServer } from "../peers.ts"
import { type Contender, measureRounds, type Sample, type ScenarioResult } from "../results.ts"
import { type Bench, FILES, SERVER_CPU, withServerCpu } from "./common.ts"
import { startPanelServer } from "./panelSubscriber.ts"

const EXTRAS = {
  ...SERVER_CPU,
  p50: { label: "latência p50", unit: "ms" },
  p99: { label: "latência p99", unit: "ms" }
} as const

/** A load run as a sample; any failed request fails the repetition. */
const loadSample = (result: LoadResult): Sample => {
  checkLoad(result, "pedidos")
  return { seconds: result.seconds, extras: { p50: result.p50Millis, p99: result.p99Millis } }
}

/** Scenario 3: many downloads of a tiny file, one connection each, a fixed number in flight. */
export const smallOps = async (bench: Bench): Promise<ScenarioResult> => {
  const { smallOps: total, smallBytes: size, smallConcurrency: concurrency, smallWarmup } = bench.config
  /** Op 10 of the small file on `port`: our servers and the two limit servers speak it alike. */
  const op10At = (port: number) => (ops: number) =>
    runSocketLoad({
      port,
      request: ourDownloadRequest(FILES.small),
      accept: acceptOurDownload(size),
      total: ops,
      concurrency
    })
  const ours = op10At(bench.ours.port)
  const tlsCa = bench.oursTls === undefined ? undefined : await Bun.file(bench.oursTls.ca).text()
  const oursTls = (ops: number) =>
    runSocketLoad({
      port: bench.oursTls!.port,
      request: ourDownloadRequest(FILES.small),
      accept: acceptOurDownload(size),
      total: ops,
      concurrency,
      tlsCa
    })
  const nginx = (ops: number) =>
    runSocketLoad({
      port: bench.nginx.port,
      request: httpGetRequest(FILES.small),
      accept: acceptHttpDownload(size),
      total: ops,
      concurrency
    })
  const ftp = (ops: number) =>
    runFtpLoad(bench.tmp, { port: bench.ftp.port, name: FILES.small, size, total: ops, concurrency })
  // The limit row: what Bun itself needs per operation (started here, used only by this scenario).
  const raw = await startRawBunServer(bench.repo, bench.serverDir, bench.tmp)
  const floor = await startDesignFloor(bench.repo, bench.serverDir, bench.tmp)
  const atFloor = op10At(floor.port)
  const bun = op10At(raw.port)

  // The same server with the live page open: --painel and one subscriber of /eventos (started here too).
  const panel = await startPanelServer(bench)
  const oursWithPanel = op10At(panel.server.port)

  console.log(`  aquecimento: ${count(smallWarmup)} pedidos em cada servidor`)
  for (const warm of [ours, ...(bench.oursTls === undefined ? [] : [oursTls]), oursWithPanel, nginx, ftp, bun, atFloor])
    loadSample(await warm(smallWarmup))

  const contenders: Array<Contender> = [
    {
      id: "nosso",
      label: "Nosso servidor (gerador Bun)",
      role: "nosso",
      how: `gerador em Bun: Bun.connect, op 10 de ${FILES.small}, ${concurrency} em voo`,
      work: total,
      extras: EXTRAS,
      run: () => withServerCpu(bench.ours, async () => loadSample(await ours(total)))
    },
    ...(bench.oursTls === undefined
      ? []
      : [
          {
            id: "nosso-tls",
            label: "Nosso servidor em TLS (gerador Bun)",
            role: "nosso" as const,
            how: `o mesmo gerador em TLS 1.3 (Bun.connect com tls, certificado conferido): um handshake completo por pedido, ${concurrency} em voo`,
            work: total,
            extras: EXTRAS,
            run: () => withServerCpu(bench.oursTls!, async () => loadSample(await oursTls(total)))
          } satisfies Contender
        ]),
    {
      id: "nosso-painel",
      label: "Nosso servidor com o painel aberto (--painel, 1 assinante de /eventos)",
      role: "nosso",
      how: `o mesmo gerador e a mesma carga; o servidor com --painel e um leitor de GET /eventos conectado o tempo todo`,
      work: total,
      extras: EXTRAS,
      run: () => withServerCpu(panel.server, async () => loadSample(await oursWithPanel(total)))
    },
    {
      id: "nginx",
      label: "nginx (gerador Bun, HTTP GET)",
      role: "par",
      how: `o mesmo gerador em Bun: GET /${FILES.small} HTTP/1.0, ${concurrency} em voo`,
      work: total,
      extras: EXTRAS,
      run: () => withServerCpu(bench.nginx, async () => loadSample(await nginx(total)))
    },
    {
      id: "bun-cru",
      label: "Limite do Bun (servidor mínimo da op 10)",
      role: "limite",
      how:
        `bench/limits/rawServer.ts: Bun.listen, open/fstat/read síncronos, uma escrita e end; sem jaula, limites, prazos, log ou Effect; ` +
        `o mesmo gerador, ${concurrency} em voo`,
      work: total,
      extras: EXTRAS,
      run: () => withServerCpu(raw, async () => loadSample(await bun(total)))
    },
    {
      id: "piso-desenho",
      label: "Piso do desenho (limite do Bun + fibra Effect, espera da entrega e linha de log)",
      role: "limite",
      how:
        "bench/limits/designFloor.ts: o limite do Bun e só o que toda operação deve ter aqui: um programa Effect numa fibra " +
        `por conexão (Runtime.runFork), FIN e a espera do fim do cliente (#21), uma linha de log; o mesmo gerador, ${concurrency} em voo`,
      work: total,
      extras: EXTRAS,
      run: () => withServerCpu(floor, async () => loadSample(await atFloor(total)))
    },
    {
      id: "pyftpdlib",
      label: "pyftpdlib (ftplib, RETR)",
      role: "par",
      how: `Python ftplib em ${concurrency} threads: conecta, login anônimo, RETR ${FILES.small}, QUIT`,
      work: total,
      extras: EXTRAS,
      run: () => withServerCpu(bench.ftp, async () => loadSample(await ftp(total)))
    }
  ]
  try {
    return await measureRounds(
      {
        id: "operacoes-pequenas",
        title: `${count(total)} downloads de ${formatSize(size)}`,
        description:
          `${count(total)} downloads de um arquivo de ${formatSize(size)}, cada um na sua própria conexão TCP, ${concurrency} ao mesmo tempo: ` +
          "operações por segundo. Mede o custo fixo de cada operação (aceitar, ler o pedido, abrir o arquivo, responder, fechar).",
        rateUnit: "op/s",
        divisor: 1,
        notes: [
          "Nosso servidor e nginx recebem a mesma carga do mesmo gerador (Bun, uma conexão nova por pedido, resposta conferida).",
          "No FTP cada download precisa de uma conexão de controle, login, PASV e uma conexão de dados: é mais trabalho por operação, " +
            "e o gerador é Python (ftplib) com threads, que também disputa a CPU.",
          "Latências p50 e p99: do início da conexão até o fechamento, por pedido.",
          "Em TLS, cada pedido faz um handshake completo (sem retomada de sessão): é o custo de uma conexão nova por operação, como o protocolo exige.",
          "“Com o painel aberto”: o mesmo servidor com --painel e um leitor de GET /eventos conectado durante toda a carga (o custo do painel ao vivo).",
          "O limite do Bun é um servidor mínimo da op 10 em `Bun.listen` (bench/limits/rawServer.ts), sem jaula, limites, prazos, log nem Effect: " +
            "o que o próprio Bun precisa por operação, como o iperf3 é o limite dos arquivos grandes.",
          "O piso do desenho (bench/limits/designFloor.ts) é esse limite mais o que toda operação deste projeto tem de ter: um programa Effect " +
            "numa fibra por conexão, a espera do fim do cliente antes de dizer entregue, e uma linha de log. A distância entre ele e o limite " +
            "é o custo do desenho; entre o nosso servidor e ele, o custo do nosso código."
        ]
      },
      bench.config.reps,
      contenders
    )
  } finally {
    await raw.daemon.stop()
    await floor.daemon.stop()
    await panel.stop()
  }
}

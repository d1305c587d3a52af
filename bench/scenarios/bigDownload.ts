import * as path from "node:path"
import { MiB } from "../config.ts"
import { formatSize } from "../format.ts"
import { startIperfServer } from "../peers.ts"
import { type Contender, measureRounds, type ScenarioResult } from "../results.ts"
import { capture, timeCommand } from "../system.ts"
import {
  type Bench,
  CLIENT_AND_SERVER_CPU,
  commandSample,
  expectSize,
  FILES,
  removeFile,
  runOurClient,
  runOurTlsClient,
  timeInProcess,
  withServerCpu
} from "./common.ts"

/** Scenario 1: one big file, from the page cache into the client folder. */
export const bigDownload = async (bench: Bench): Promise<ScenarioResult> => {
  const size = bench.config.bigBytes
  const target = path.join(bench.clientDir, FILES.big)
  const check = () => expectSize(target, size)
  const fresh = () => removeFile(target)
  const curl = (id: string, label: string, server: Bench["nginx"], url: string): Contender => ({
    id,
    label,
    role: "par",
    how: `curl -o DESTINO ${url.replace(/:\d+\//, ":PORTA/")}`,
    work: size,
    extras: CLIENT_AND_SERVER_CPU,
    before: fresh,
    run: () => withServerCpu(server, async () => commandSample(await timeCommand(["curl", "-fsS", "-o", target, url]))),
    check
  })
  const contenders: Array<Contender> = [
    {
      id: "nosso-processo",
      label: "Nosso cliente (processo)",
      role: "nosso",
      how: `bun bin/cliente.ts … --silencioso baixar ${FILES.big}`,
      work: size,
      extras: CLIENT_AND_SERVER_CPU,
      before: fresh,
      run: () => withServerCpu(bench.ours, async () => commandSample(await runOurClient(bench, "baixar", FILES.big))),
      check
    },
    {
      id: "nosso-em-processo",
      label: "Nosso cliente (em processo)",
      role: "nosso",
      how: "programa download() do cliente dentro do processo do benchmark",
      work: size,
      extras: CLIENT_AND_SERVER_CPU,
      before: fresh,
      run: () => withServerCpu(bench.ours, () => timeInProcess(() => bench.inProcess.download(FILES.big))),
      check
    },
    ...(bench.oursTls === undefined
      ? []
      : [
          {
            id: "nosso-processo-tls",
            label: "Nosso cliente (processo, TLS)",
            role: "nosso" as const,
            how: `bun bin/cliente.ts … --tls-ca CA --silencioso baixar ${FILES.big}, ao mesmo servidor em TLS 1.3`,
            work: size,
            extras: CLIENT_AND_SERVER_CPU,
            before: fresh,
            run: () =>
              withServerCpu(bench.oursTls!, async () =>
                commandSample(await runOurTlsClient(bench.oursTls!, bench, "baixar", FILES.big))
              ),
            check
          } satisfies Contender
        ]),
    curl("nginx", "nginx (curl)", bench.nginx, `http://127.0.0.1:${bench.nginx.port}/${FILES.big}`),
    curl("pyftpdlib", "pyftpdlib (curl ftp://)", bench.ftp, `ftp://127.0.0.1:${bench.ftp.port}/${FILES.big}`),
    curl("http.server", "http.server (curl)", bench.http, `http://127.0.0.1:${bench.http.port}/${FILES.big}`),
    {
      id: "iperf3",
      label: "Limite do loopback (iperf3)",
      role: "limite",
      how: `iperf3 -c 127.0.0.1 -n ${size} (1 fluxo TCP, memória para memória)`,
      work: size,
      run: async () => {
        const server = await startIperfServer(bench.tmp)
        try {
          const { code, stdout, stderr } = await capture([
            "iperf3",
            "-c",
            "127.0.0.1",
            "-p",
            String(server.port),
            "-n",
            String(size),
            "-J"
          ])
          if (code !== 0) throw new Error(`iperf3 falhou: ${(stderr || stdout).trim().slice(0, 300)}`)
          const report = JSON.parse(stdout) as { end: { sum_received: { seconds: number; bytes: number } } }
          return { seconds: report.end.sum_received.seconds * (size / report.end.sum_received.bytes) }
        } finally {
          await server.daemon.stop()
        }
      }
    }
  ]
  return measureRounds(
    {
      id: "download-grande",
      title: `Download de um arquivo de ${formatSize(size)}`,
      description:
        `Um arquivo de ${formatSize(size)}, já no cache de páginas, baixado pela rede local (127.0.0.1) para uma pasta em tmpfs. ` +
        "O nosso cliente é medido como processo inteiro (partida do Bun incluída) e também em processo, só a transferência.",
      rateUnit: "MiB/s",
      divisor: MiB,
      notes: [
        "Tempo de parede do processo cliente, do início ao fim; para o iperf3, o tempo da transferência que ele mesmo informa.",
        "TLS: o mesmo servidor com --tls-certificado/--tls-chave e o mesmo cliente com --tls-ca (certificado EC P-256, TLS 1.3): o custo da cifra ao lado do TCP puro.",
        "CPU do servidor: tempo de CPU (usuário + sistema) do grupo de processos do servidor durante a repetição."
      ]
    },
    bench.config.reps,
    contenders
  )
}

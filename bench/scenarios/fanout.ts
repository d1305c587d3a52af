import { MiB } from "../config.ts"
import { count, formatSize } from "../format.ts"
import {
  acceptHttpDownload,
  acceptOurDownload,
  checkLoad,
  httpGetRequest,
  ourDownloadRequest,
  runSocketLoad,
  type SocketLoad
} from "../load.ts"
import type { Server } from "../peers.ts"
import { type Contender, measureRounds, type Sample, type ScenarioResult } from "../results.ts"
import { groupPeakMemory, resetPeakMemory } from "../system.ts"
import { type Bench, FILES, SERVER_CPU, withServerCpu } from "./common.ts"

const EXTRAS = {
  ...SERVER_CPU,
  memoria: { label: "memória de pico do servidor (VmHWM)", unit: "MiB" }
} as const

/**
 * Runs the load with the server's peak memory reset first, and reads the peak
 * (VmHWM, summed over the server's process group) right after.
 */
const withPeakMemory = async (server: Server, load: SocketLoad): Promise<Sample> => {
  resetPeakMemory(server.daemon.pid)
  const result = await runSocketLoad(load)
  const peak = groupPeakMemory(server.daemon.pid)
  checkLoad(result, "downloads")
  return { seconds: result.seconds, extras: { memoria: peak / MiB } }
}

/** Scenario 4: many clients downloading the same medium file at once. */
export const fanout = async (bench: Bench): Promise<ScenarioResult> => {
  const { fanoutClients: clients, fanoutBytes: size } = bench.config
  const load = (port: number, request: Uint8Array, accept: SocketLoad["accept"]): SocketLoad => ({
    port,
    request,
    accept,
    total: clients,
    concurrency: clients
  })
  const contenders: Array<Contender> = [
    {
      id: "nosso",
      label: "Nosso servidor",
      role: "nosso",
      how: `gerador em Bun: ${clients} conexões ao mesmo tempo, op 10 de ${FILES.medium}`,
      work: clients * size,
      extras: EXTRAS,
      run: () =>
        withServerCpu(bench.ours, () =>
          withPeakMemory(bench.ours, load(bench.ours.port, ourDownloadRequest(FILES.medium), acceptOurDownload(size)))
        )
    },
    {
      id: "nginx",
      label: "nginx",
      role: "par",
      how: `o mesmo gerador: ${clients} conexões ao mesmo tempo, GET /${FILES.medium} HTTP/1.0`,
      work: clients * size,
      extras: EXTRAS,
      run: () =>
        withServerCpu(bench.nginx, () =>
          withPeakMemory(bench.nginx, load(bench.nginx.port, httpGetRequest(FILES.medium), acceptHttpDownload(size)))
        )
    }
  ]
  return measureRounds(
    {
      id: "downloads-simultaneos",
      title: `${count(clients)} downloads simultâneos de ${formatSize(size)}`,
      description:
        `${count(clients)} clientes baixam ao mesmo tempo o mesmo arquivo de ${formatSize(size)} ` +
        `(${formatSize(clients * size)} no total): vazão total e memória de pico do processo servidor.`,
      rateUnit: "MiB/s",
      divisor: MiB,
      notes: [
        "Os dados recebidos são contados e descartados pelo gerador (nada é gravado do lado do cliente).",
        "Memória: VmHWM de /proc/PID/status, zerada (clear_refs) antes de cada repetição; no nginx, soma do mestre e do worker.",
        "O pyftpdlib fica fora deste cenário: um gerador em Python com 200 threads seria o gargalo, não o servidor."
      ]
    },
    bench.config.reps,
    contenders
  )
}

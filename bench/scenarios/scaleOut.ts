import { existsSync, writeFileSync } from "node:fs"
import { rm } from "node:fs/promises"
import * as path from "node:path"
import { MiB } from "../config.ts"
import { count, formatSize } from "../format.ts"
// The request bytes are the same on every path: the PROXY header is HAProxy's to add.
import { acceptOurDownload, checkLoad, ourDownloadRequest, runSocketLoad, type SocketLoad } from "../load.ts"
import type { Server } from "../peers.ts"
import { type Contender, measureRounds, type Sample, type ScenarioResult } from "../results.ts"
import { freePort, groupCpuSeconds, sleep, startDaemon, waitListening } from "../system.ts"
import { type Bench, FILES } from "./common.ts"

/**
 * Scale-out: the same small-operation and fan-out loads, sent to one
 * instance directly, and through HAProxy (deploy/haproxy.cfg's options:
 * TCP mode, leastconn, send-proxy-v2, the op 20 health check) to one and to
 * two instances with --protocolo-proxy on the same folder. Every process
 * (instances, HAProxy, load generator) shares this machine's cores.
 */

const HAPROXY = "/usr/sbin/haproxy"

/** Installs Debian's haproxy when missing, without letting the package start its system service. */
const ensureHaproxy = async (): Promise<void> => {
  if (existsSync(HAPROXY)) return
  if (process.getuid?.() !== 0)
    throw new Error("haproxy não está instalado; instale como root: apt-get install -y haproxy")
  console.log("  instalando haproxy (apt-get)...")
  const policy = "/usr/sbin/policy-rc.d"
  const ownPolicy = !existsSync(policy)
  if (ownPolicy) writeFileSync(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 })
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    const apt = (...args: Array<string>) =>
      Bun.spawn(["apt-get", "-o", "DPkg::Lock::Timeout=600", ...args], {
        env,
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit"
      }).exited
    if (
      (await apt("install", "-y", "haproxy")) !== 0 &&
      ((await apt("update")) !== 0 || (await apt("install", "-y", "haproxy")) !== 0)
    ) {
      throw new Error("apt-get install haproxy falhou")
    }
  } finally {
    if (ownPolicy) await rm(policy, { force: true })
  }
}

interface Cluster {
  readonly instances: ReadonlyArray<Server>
  readonly haproxy: Server
  /** Frontends: to the first instance alone, and to both. */
  readonly one: number
  readonly two: number
}

const backend = (name: string, ports: ReadonlyArray<number>) =>
  [
    `backend ${name}`,
    "    balance leastconn",
    "    option tcp-check",
    "    tcp-check send-binary 14",
    "    tcp-check expect binary 00",
    "    default-server send-proxy-v2 check-send-proxy check inter 2s fall 2 rise 2 maxconn 256",
    ...ports.map((port, i) => `    server instancia${i + 1} 127.0.0.1:${port}`),
    ""
  ].join("\n")

let cluster: Promise<Cluster> | undefined

/** Two instances and one HAProxy, started once for both scenarios; stopped with every other daemon at the end. */
const startCluster = (bench: Bench): Promise<Cluster> =>
  (cluster ??= (async () => {
    await ensureHaproxy()
    const instances: Array<Server> = []
    for (const name of ["instancia1", "instancia2"]) {
      const port = await freePort()
      const log = path.join(bench.tmp, `${name}.log`)
      const cmd = [
        process.execPath,
        "bin/servidor.ts",
        String(port),
        "--pasta",
        bench.serverDir,
        "--timeout",
        "60",
        "--protocolo-proxy"
      ]
      const daemon = startDaemon(name, cmd, { log, cwd: bench.repo })
      await waitListening(daemon, port, log)
      instances.push({ name, port, daemon })
    }
    const one = await freePort()
    const two = await freePort()
    const config = path.join(bench.tmp, "haproxy.cfg")
    writeFileSync(
      config,
      [
        "global",
        "    maxconn 8192",
        "defaults",
        "    mode tcp",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout check 3s",
        "frontend uma",
        `    bind 127.0.0.1:${one}`,
        "    default_backend uma",
        "frontend duas",
        `    bind 127.0.0.1:${two}`,
        "    default_backend duas",
        backend("uma", [instances[0]!.port]),
        backend(
          "duas",
          instances.map((instance) => instance.port)
        )
      ].join("\n")
    )
    const log = path.join(bench.tmp, "haproxy.log")
    const daemon = startDaemon("haproxy", [HAPROXY, "-db", "-f", config], { log })
    await waitListening(daemon, one, log)
    await waitListening(daemon, two, log)
    // The first health checks, before any measurement.
    await sleep(500)
    return { instances, haproxy: { name: "haproxy", port: one, daemon }, one, two }
  })())

const cpuOf = (servers: ReadonlyArray<Server>) =>
  servers.reduce((total, server) => total + groupCpuSeconds(server.daemon.pid), 0)

const EXTRAS = {
  servidorCpu: { label: "CPU das instâncias", unit: "s" },
  haproxyCpu: { label: "CPU do HAProxy", unit: "s" },
  p99: { label: "latência p99", unit: "ms" }
} as const

/** One load run as a sample, with the CPU the instances and HAProxy used meanwhile. */
const measured = async (load: SocketLoad, instances: ReadonlyArray<Server>, haproxy?: Server): Promise<Sample> => {
  const before = cpuOf(instances)
  const haproxyBefore = haproxy === undefined ? 0 : cpuOf([haproxy])
  const result = await runSocketLoad(load)
  checkLoad(result, "pedidos")
  return {
    seconds: result.seconds,
    extras: {
      servidorCpu: cpuOf(instances) - before,
      haproxyCpu: haproxy === undefined ? 0 : cpuOf([haproxy]) - haproxyBefore,
      p99: result.p99Millis
    }
  }
}

const contenders = (
  bench: Bench,
  found: Cluster,
  load: (port: number) => SocketLoad,
  work: number,
  how: string
): Array<Contender> => [
  {
    id: "direto",
    label: "Uma instância, direto",
    role: "par",
    how: `sem balanceador: ${how}`,
    work,
    extras: EXTRAS,
    run: () => measured(load(bench.ours.port), [bench.ours])
  },
  {
    id: "haproxy-1",
    label: "HAProxy → 1 instância",
    role: "nosso",
    how: `pelo HAProxy (send-proxy-v2, leastconn) a uma instância com --protocolo-proxy: ${how}`,
    work,
    extras: EXTRAS,
    run: () => measured(load(found.one), [found.instances[0]!], found.haproxy)
  },
  {
    id: "haproxy-2",
    label: "HAProxy → 2 instâncias",
    role: "nosso",
    how: `pelo HAProxy a duas instâncias na mesma pasta: ${how}`,
    work,
    extras: EXTRAS,
    run: () => measured(load(found.two), found.instances, found.haproxy)
  }
]

const NOTES = [
  "Tudo na mesma máquina: as instâncias, o HAProxy e o gerador de carga disputam os mesmos núcleos. Com 2 núcleos, uma segunda instância não tem núcleo livre: " +
    "o que se mede aqui é o custo do salto a mais (HAProxy) e da divisão, não um ganho.",
  "Numa máquina com mais núcleos livres que o gerador e o HAProxy ocupam, duas instâncias deveriam se aproximar do dobro de operações por segundo de uma, " +
    "até o limite do HAProxy ou do disco; em várias máquinas (pasta em NFS), a vazão soma a de cada máquina até o limite da rede ou do servidor de arquivos.",
  "CPU das instâncias e do HAProxy: soma de usuário e sistema de cada grupo de processos durante a repetição."
]

/** Scale-out, small operations: many 1 KiB downloads, one connection each. */
export const scaleOutSmall = async (bench: Bench): Promise<ScenarioResult> => {
  const found = await startCluster(bench)
  const { smallOps: total, smallBytes: size, smallConcurrency: concurrency, smallWarmup } = bench.config
  const load = (port: number): SocketLoad => ({
    port,
    request: ourDownloadRequest(FILES.small),
    accept: acceptOurDownload(size),
    total,
    concurrency
  })
  console.log(`  aquecimento: ${count(smallWarmup)} pedidos por caminho`)
  for (const port of [bench.ours.port, found.one, found.two]) await runSocketLoad({ ...load(port), total: smallWarmup })
  return measureRounds(
    {
      id: "escala-pequenas",
      title: `Várias instâncias: ${count(total)} downloads de ${formatSize(size)}`,
      description:
        `Os mesmos ${count(total)} downloads de ${formatSize(size)} (${concurrency} em voo) do cenário de operações pequenas, ` +
        "direto numa instância e pelo HAProxy a uma e a duas instâncias: operações por segundo.",
      rateUnit: "op/s",
      divisor: 1,
      notes: NOTES
    },
    bench.config.reps,
    contenders(bench, found, load, total, `op 10 de ${FILES.small}, ${concurrency} em voo`)
  )
}

/** Scale-out, fan-out: many clients downloading one medium file at once. */
export const scaleOutFanout = async (bench: Bench): Promise<ScenarioResult> => {
  const found = await startCluster(bench)
  const { fanoutClients: clients, fanoutBytes: size } = bench.config
  const load = (port: number): SocketLoad => ({
    port,
    request: ourDownloadRequest(FILES.medium),
    accept: acceptOurDownload(size),
    total: clients,
    concurrency: clients
  })
  return measureRounds(
    {
      id: "escala-simultaneos",
      title: `Várias instâncias: ${count(clients)} downloads simultâneos de ${formatSize(size)}`,
      description:
        `Os mesmos ${count(clients)} downloads simultâneos de ${formatSize(size)} do cenário de downloads simultâneos, ` +
        "direto numa instância e pelo HAProxy a uma e a duas instâncias: vazão total.",
      rateUnit: "MiB/s",
      divisor: MiB,
      notes: NOTES
    },
    bench.config.reps,
    contenders(
      bench,
      found,
      load,
      clients * size,
      `${count(clients)} conexões ao mesmo tempo, op 10 de ${FILES.medium}`
    )
  )
}

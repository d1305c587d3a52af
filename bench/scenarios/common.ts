import { rm, stat } from "node:fs/promises"
import * as path from "node:path"
import type { BenchConfig } from "../config.ts"
import type { InProcessClient } from "../inprocess.ts"
import type { Server } from "../peers.ts"
import type { Sample } from "../results.ts"
import { groupCpuSeconds, type Timed, timeCommand } from "../system.ts"

/** Everything a scenario works with: the folders, the running servers, the in-process client. */
export interface Bench {
  readonly config: BenchConfig
  /** The repository root (where src/ is). */
  readonly repo: string
  /** Served by every server. */
  readonly serverDir: string
  /** Where every client writes. */
  readonly clientDir: string
  /** Configuration files, scripts and logs. */
  readonly tmp: string
  readonly ours: Server
  /** Our server again, in TLS (bench/tls.ts), with the CA file its clients check it with; undefined without openssl. */
  readonly oursTls: (Server & { readonly ca: string }) | undefined
  readonly nginx: Server
  readonly ftp: Server
  readonly http: Server
  readonly inProcess: InProcessClient
}

/** Names of the files in the served folder. */
export const FILES = {
  big: "grande.bin",
  small: "pequeno.bin",
  medium: "medio.bin",
  upload: "envio.bin",
  uploadFtp: "envio-ftp.bin",
  manyMask: "lote-*.bin",
  many: (index: number) => `lote-${String(index).padStart(5, "0")}.bin`
} as const

/** Our client as a user runs it, one command per process, without a progress bar. */
export const ourClient = (bench: Bench, ...command: Array<string>): Array<string> => [
  process.execPath,
  "bin/cliente.ts",
  `127.0.0.1:${bench.ours.port}`,
  "--pasta",
  bench.clientDir,
  "--timeout",
  "60",
  "--silencioso",
  ...command
]

export const runOurClient = (bench: Bench, ...command: Array<string>): Promise<Timed> =>
  timeCommand(ourClient(bench, ...command), { cwd: bench.repo })

/** The same, to our TLS server, checking its certificate with the bench's CA. */
export const runOurTlsClient = (server: Server & { readonly ca: string }, bench: Bench, ...command: Array<string>) =>
  timeCommand(
    [
      process.execPath,
      "bin/cliente.ts",
      `127.0.0.1:${server.port}`,
      "--pasta",
      bench.clientDir,
      "--timeout",
      "60",
      "--silencioso",
      "--tls-ca",
      server.ca,
      ...command
    ],
    { cwd: bench.repo }
  )

/** Removes a file and any partial download of it. */
export const removeFile = async (file: string) => {
  await rm(file, { force: true })
  await rm(`${file}.parcial`, { force: true })
}

/** Fails unless the file exists with exactly this size. */
export const expectSize = async (file: string, size: number) => {
  const actual = await stat(file).then(
    (info) => info.size,
    () => -1
  )
  if (actual !== size)
    throw new Error(`${path.basename(file)}: esperado ${size} bytes, encontrado ${actual < 0 ? "nada" : actual}`)
}

export const SERVER_CPU = { servidorCpu: { label: "CPU do servidor", unit: "s" } } as const
export const CLIENT_AND_SERVER_CPU = {
  ...SERVER_CPU,
  clienteCpu: { label: "CPU do cliente", unit: "s" }
} as const

/** Runs `measure` and adds the CPU seconds the server's process group used meanwhile. */
export const withServerCpu = async (server: Server, measure: () => Promise<Sample>): Promise<Sample> => {
  const before = groupCpuSeconds(server.daemon.pid)
  const sample = await measure()
  return { ...sample, extras: { ...sample.extras, servidorCpu: groupCpuSeconds(server.daemon.pid) - before } }
}

/** Times a promise, with the CPU this (benchmark) process used meanwhile as the client's. */
export const timeInProcess = async (work: () => Promise<void>): Promise<Sample> => {
  const cpu = process.cpuUsage()
  const started = performance.now()
  await work()
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  return { seconds, extras: { clienteCpu: (used.user + used.system) / 1e6 } }
}

/** A timed command as a sample, with the client's CPU. */
export const commandSample = (timed: Timed): Sample => ({
  seconds: timed.seconds,
  extras: { clienteCpu: timed.cpuSeconds }
})

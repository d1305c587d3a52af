import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { partialNameOf } from "../src/domain/names.ts"
import { ClientLive } from "../src/programs/client/ClientLive.ts"
import type { ClientConfig } from "../src/programs/client/config.ts"
import { download } from "../src/programs/client/download.ts"
import { downloadMany } from "../src/programs/client/downloadMany.ts"
import { list } from "../src/programs/client/list.ts"
import { resume } from "../src/programs/client/resume.ts"
import { upload } from "../src/programs/client/upload.ts"
import type { FileStore } from "../src/services/FileStore.ts"
import type { Hasher } from "../src/services/Hasher.ts"
import type { Transport } from "../src/services/transport/Transport.ts"
import { seededBytes as randomBytes } from "../test/support/bytes.ts"
import { type ServerProcess, startServerProcess, stopAll } from "../test/support/processes.ts"
import { type FaultProxy, type Faults, startProxy } from "../test/support/proxy.ts"

/**
 * The soak: every operation mixed, many in-process clients at once, through
 * links with random faults (the fault proxy), against the real server as a
 * process, for a given time. Every byte that arrives is checked by MD5
 * against what it must be; what a failure leaves behind is checked too (a
 * partial must be a prefix of the file, a final name must hold the whole
 * file). Every 10 s it reports the server's memory and descriptors; at the
 * end, after the server's timeout has passed, no temporary may remain and
 * neither may have grown without bound.
 */

export interface SoakOptions {
  readonly seconds: number
  readonly clients: number
  readonly seed?: number
  /** Server and client timeout. */
  readonly timeoutSeconds?: number
  readonly log: (line: string) => void
}

export interface Sample {
  readonly at: number
  readonly rssBytes: number
  readonly descriptors: number
}

export interface SoakReport {
  readonly operations: number
  readonly succeeded: number
  readonly failures: Record<string, number>
  readonly bytesVerified: number
  /** Bytes found different from what they must be (a wrong file, a partial that is not a prefix). */
  readonly wrongBytes: number
  readonly wrong: Array<string>
  /** Timeouts on links that never stop moving: transfers cut while still moving. */
  readonly cutWhileMoving: Array<string>
  readonly temporariesLeft: Array<string>
  readonly samples: Array<Sample>
  readonly baselineDescriptors: number
  readonly finalDescriptors: number
  readonly rssFlat: boolean
  readonly descriptorsFlat: boolean
  /** Exceptions that escaped into this process's event loop (the in-process clients). */
  readonly defects: Array<string>
  /** The server process was still running at the end (it never crashed). */
  readonly serverAlive: boolean
  readonly ok: boolean
}

const KIB = 1024
const MIB = 1024 * KIB

/** Links the operations go through; "moving" ones never stop, so a timeout there is a defect. */
interface Link {
  readonly label: string
  readonly faults?: Faults
  readonly moving: boolean
}

const LINKS: ReadonlyArray<Link> = [
  { label: "direto", moving: true },
  {
    label: "lento",
    moving: true,
    faults: { up: { rate: [48 * KIB, 512 * KIB] }, down: { rate: [48 * KIB, 512 * KIB] } }
  },
  { label: "fatiado", moving: true, faults: { up: { slice: true }, down: { delay_ms: [2, 20] } } },
  {
    label: "cortado",
    moving: false,
    faults: {
      up: { cut_after: [0, 256 * KIB], cut_with: "random" },
      down: { cut_after: [0, 256 * KIB], cut_with: "random" }
    }
  },
  {
    label: "buraco",
    moving: false,
    faults: { up: { blackhole_after: [0, 256 * KIB] }, down: { blackhole_after: [0, 256 * KIB] } }
  }
]

/** A seeded PRNG (mulberry32): the same seed, the same soak. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex")

interface Known {
  readonly content: Uint8Array
  readonly md5: string
}

/** What one failure was, for the counts: tag and reason or phase. */
const causeOf = (error: unknown): string => {
  const e = error as { _tag?: string; reason?: string; phase?: string }
  const detail = e.reason ?? e.phase
  return e._tag ? (detail ? `${e._tag}/${detail}` : e._tag) : String(error)
}

const processSample = (pid: number, at: number): Sample | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const rss = Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1] ?? Number.NaN) * 1024
    const descriptors = readdirSync(`/proc/${pid}/fd`).length
    return { at, rssBytes: rss, descriptors }
  } catch {
    return undefined
  }
}

/** Every temporary of an upload under `root` (hidden `.envio-*.tmp`), at any depth. */
const temporariesUnder = (root: string) =>
  (readdirSync(root, { recursive: true }) as Array<string>).filter((entry) =>
    path.basename(entry).startsWith(".envio-")
  )

const formatMiB = (bytes: number) => `${(bytes / MIB).toFixed(1).replace(".", ",")} MiB`

export const runSoak = async (options: SoakOptions): Promise<SoakReport> => {
  const timeoutSeconds = options.timeoutSeconds ?? 5
  const random = prng(options.seed ?? 20_000)
  const root = await mkdtemp(path.join(tmpdir(), "arquivos-soak-"))
  const serverDir = path.join(root, "servidor")
  await mkdir(path.join(serverDir, "dados"), { recursive: true })

  // Many small files and a few large ones, each with its own known bytes.
  const known = new Map<string, Known>()
  for (let i = 0; i < 24; i++) {
    const size = i % 6 === 5 ? Math.floor((0.25 + random() * 1.75) * MIB) : Math.floor(random() * 64 * KIB)
    const content = randomBytes(size, 1_000 + i)
    const name = `dados/arq-${String(i).padStart(2, "0")}.bin`
    known.set(name, { content, md5: md5(content) })
    writeFileSync(path.join(serverDir, name), content)
  }
  const names = [...known.keys()]

  let server: ServerProcess | undefined
  const proxies: Array<FaultProxy> = []
  const samples: Array<Sample> = []
  const failures: Record<string, number> = {}
  const wrong: Array<string> = []
  const cutWhileMoving: Array<string> = []
  let operations = 0
  let succeeded = 0
  let bytesVerified = 0
  let wrongBytes = 0
  let sampler: ReturnType<typeof setInterval> | undefined
  // An exception escaping into the event loop (a timer, a socket callback) is a defect of the client code.
  const defects: Array<string> = []
  const onDefect = (error: unknown) => {
    defects.push(error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error))
  }
  process.on("uncaughtException", onDefect)
  process.on("unhandledRejection", onDefect)

  try {
    server = await startServerProcess(serverDir, { timeoutSeconds })
    const serverPort = server.port
    const ports = new Map<string, number>()
    for (const link of LINKS) {
      if (!link.faults) {
        ports.set(link.label, serverPort)
        continue
      }
      const proxy = await startProxy(serverPort, link.faults)
      proxies.push(proxy)
      ports.set(link.label, proxy.port)
    }

    const started = Date.now()
    const baseline = processSample(server.process.pid, 0)
    const baselineDescriptors = baseline?.descriptors ?? 0
    const report = () => {
      const sample = processSample(server!.process.pid, Math.round((Date.now() - started) / 1000))
      if (sample) samples.push(sample)
      else options.log("o processo do servidor não pôde ser medido (encerrou?)")
      const failed = operations - succeeded
      options.log(
        `[${String(sample?.at ?? 0).padStart(4)} s] operações ${operations} (falhas ${failed}) | ` +
          `conferidos ${formatMiB(bytesVerified)} | errados ${wrongBytes} | ` +
          `servidor: RSS ${sample ? formatMiB(sample.rssBytes) : "?"}, descritores ${sample?.descriptors ?? "?"}`
      )
    }
    sampler = setInterval(report, 10_000)

    const noteWrong = (what: string, bytes: number) => {
      wrong.push(what)
      wrongBytes += Math.max(1, bytes)
    }

    /** A local file under its final name must be whole; a partial must be a prefix. */
    const checkLocal = (folder: string, name: string, label: string) => {
      const expected = known.get(name)!
      const final = path.join(folder, name)
      if (existsSync(final)) {
        const bytes = readFileSync(final)
        if (md5(bytes) !== expected.md5)
          noteWrong(`${label}: ${name} local com o nome final e conteúdo errado`, bytes.length)
        else bytesVerified += bytes.length
        rmSync(final)
      }
      const partial = path.join(folder, partialNameOf(name))
      if (existsSync(partial)) {
        const bytes = readFileSync(partial)
        if (bytes.length > expected.content.length || md5(bytes) !== md5(expected.content.subarray(0, bytes.length))) {
          noteWrong(`${label}: ${partialNameOf(name)} não é um prefixo do arquivo`, bytes.length)
          rmSync(partial)
        }
      }
    }

    const worker = async (index: number) => {
      const folder = path.join(root, `cliente-${index}`)
      await mkdir(path.join(folder, "dados"), { recursive: true })
      await mkdir(path.join(folder, "enviados"), { recursive: true })
      // The worker's folder is its own: failing to open it is a broken soak, not a result.
      const services = (port: number) => Layer.orDie(ClientLive({ folder, host: "127.0.0.1", port, timeoutSeconds }))
      let uploads = 0
      while (Date.now() - started < options.seconds * 1000) {
        const link = LINKS[Math.floor(random() * LINKS.length)]!
        const port = ports.get(link.label)!
        const roll = random()
        const name = names[Math.floor(random() * names.length)]!
        let label: string
        let exit: Exit.Exit<unknown, unknown>
        const run = <A, E>(program: Effect.Effect<A, E, FileStore | ClientConfig | Hasher | Transport>) =>
          Effect.runPromiseExit(Effect.provide(program, services(port)))
        if (roll < 0.4) {
          // baixar, as the client's command does it: resume a partial if there is one.
          label = `baixar ${name} via ${link.label}`
          const partial = existsSync(path.join(folder, partialNameOf(name)))
          exit = await run(partial ? resume(name) : download(name))
          checkLocal(folder, name, label)
        } else if (roll < 0.55) {
          // retomar from a prefix of known length.
          label = `retomar ${name} via ${link.label}`
          const content = known.get(name)!.content
          const cut = Math.floor(random() * content.length)
          rmSync(path.join(folder, name), { force: true })
          writeFileSync(path.join(folder, partialNameOf(name)), content.subarray(0, cut))
          exit = await run(resume(name))
          checkLocal(folder, name, label)
        } else if (roll < 0.75) {
          const uploadName = `enviados/c${index}-${++uploads}.bin`
          label = `enviar ${uploadName} via ${link.label}`
          const size = random() < 0.8 ? Math.floor(random() * 64 * KIB) : Math.floor(random() * 2 * MIB)
          const content = randomBytes(size, index * 100_000 + uploads)
          writeFileSync(path.join(folder, uploadName), content)
          exit = await run(upload(uploadName))
          const onServer = path.join(serverDir, uploadName)
          // Whatever the client saw, a file under its final name must be whole.
          if (existsSync(onServer)) {
            const bytes = readFileSync(onServer)
            if (md5(bytes) !== md5(content)) noteWrong(`${label}: no servidor com conteúdo errado`, bytes.length)
            else bytesVerified += bytes.length
            rmSync(onServer)
          } else if (Exit.isSuccess(exit)) {
            noteWrong(`${label}: o cliente viu sucesso e o arquivo não está no servidor`, size)
          }
          rmSync(path.join(folder, uploadName))
        } else if (roll < 0.88) {
          label = `listar via ${link.label}`
          exit = await run(list)
          if (Exit.isSuccess(exit)) {
            const { entries } = exit.value as { entries: ReadonlyArray<{ nome: string; tamanho: string }> }
            for (const [knownName, file] of known) {
              const entry = entries.find((e) => e.nome === knownName)
              if (entry?.tamanho !== String(file.content.length))
                noteWrong(`${label}: ${knownName} ausente ou com tamanho errado`, 1)
            }
          }
        } else {
          const digit = Math.floor(random() * 3)
          const mask = `dados/arq-${digit}?.bin`
          label = `baixar-varios ${mask} via ${link.label}`
          exit = await run(downloadMany(mask))
          for (const candidate of names)
            if (candidate.startsWith(`dados/arq-${digit}`)) checkLocal(folder, candidate, label)
        }
        operations++
        if (Exit.isSuccess(exit)) {
          succeeded++
        } else {
          const failure = Cause.failureOption(exit.cause)
          const cause = Option.isSome(failure) ? causeOf(failure.value) : `defeito: ${Cause.pretty(exit.cause)}`
          failures[cause] = (failures[cause] ?? 0) + 1
          if (link.moving && cause.startsWith("Timeout")) cutWhileMoving.push(`${label}: ${cause}`)
          if (cause.startsWith("defeito")) noteWrong(`${label}: ${cause}`, 0)
        }
      }
    }

    report()
    await Promise.all(Array.from({ length: options.clients }, (_, i) => worker(i)))
    clearInterval(sampler)
    sampler = undefined

    // Let the server's own deadlines end what the blackholes left hanging, then look.
    for (const proxy of proxies) await proxy.stop()
    proxies.length = 0
    await Bun.sleep((timeoutSeconds + 2) * 1000)
    report()
    const final = samples.at(-1)
    const temporariesLeft = temporariesUnder(serverDir)

    const rss = samples.map((s) => s.rssBytes)
    const half = Math.max(1, Math.floor(rss.length / 2))
    const early = Math.max(...rss.slice(0, half))
    const late = Math.max(...rss.slice(half))
    const rssFlat = late <= early * 1.5 + 32 * MIB
    const finalDescriptors = final?.descriptors ?? Number.NaN
    const descriptorsFlat = finalDescriptors <= baselineDescriptors + 8

    return {
      operations,
      succeeded,
      failures,
      bytesVerified,
      wrongBytes,
      wrong,
      cutWhileMoving,
      temporariesLeft,
      samples,
      baselineDescriptors,
      finalDescriptors,
      rssFlat,
      descriptorsFlat,
      serverAlive: server.process.exitCode === null && server.process.signalCode === null,
      defects,
      ok:
        defects.length === 0 &&
        wrongBytes === 0 &&
        cutWhileMoving.length === 0 &&
        temporariesLeft.length === 0 &&
        rssFlat &&
        descriptorsFlat &&
        server.process.exitCode === null &&
        server.process.signalCode === null
    }
  } finally {
    process.off("uncaughtException", onDefect)
    process.off("unhandledRejection", onDefect)
    if (sampler) clearInterval(sampler)
    for (const proxy of proxies) await proxy.stop()
    await stopAll()
    await rm(root, { recursive: true, force: true })
  }
}

/** The report's summary lines, in Portuguese. */
export const summaryLines = (report: SoakReport): Array<string> => {
  const lines = [
    `Operações: ${report.operations} (${report.succeeded} com sucesso, ${report.operations - report.succeeded} com falha)`,
    `Bytes conferidos por MD5: ${formatMiB(report.bytesVerified)}`,
    `Bytes errados: ${report.wrongBytes}`,
    `Transferências cortadas enquanto ainda se moviam: ${report.cutWhileMoving.length}`,
    `Temporários deixados no servidor: ${report.temporariesLeft.length}`,
    `Servidor: ${report.serverAlive ? "rodando até o fim" : "CAIU durante o soak"}`,
    `Exceções escapadas nos clientes: ${report.defects.length}`,
    `Descritores do servidor: ${report.baselineDescriptors} no início, ${report.finalDescriptors} no fim` +
      (report.descriptorsFlat ? "" : " (cresceram)"),
    `Memória (RSS) do servidor: ${report.samples.map((s) => formatMiB(s.rssBytes)).join(", ")}` +
      (report.rssFlat ? "" : " (cresceu)"),
    "Falhas por causa:"
  ]
  for (const [cause, count] of Object.entries(report.failures).sort((a, b) => b[1] - a[1])) {
    lines.push(`  ${cause}: ${count}`)
  }
  for (const item of [...report.defects, ...report.wrong, ...report.cutWhileMoving, ...report.temporariesLeft].slice(
    0,
    20
  )) {
    lines.push(`  ! ${item}`)
  }
  lines.push(report.ok ? "Resultado: OK" : "Resultado: FALHOU")
  return lines
}

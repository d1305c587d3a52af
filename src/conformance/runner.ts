import { randomBytes } from "node:crypto"
import { readdirSync, rmSync } from "node:fs"
import { stat } from "node:fs/promises"
import * as path from "node:path"
import * as Either from "effect/Either"
import { readPem } from "../programs/pem.ts"
import type { CheckerArgs, CheckerTlsFiles } from "./args.ts"
import { CATALOG } from "./catalog.ts"
import { type Check, CheckFailure, CheckSkipped, type Context, type Judged, type Outcome, pass } from "./check.ts"
import { ConnectError, Probe, type ProbeTls } from "./probe.ts"

/**
 * Runs the chosen checks against one server, each bounded in time, then
 * removes what the run planted in the folder (when it knows the folder).
 */

export interface Result extends Judged {
  readonly check: Check
}

export type Run =
  | {
      readonly _tag: "Done"
      readonly results: ReadonlyArray<Result>
      readonly prefix: string
      readonly cleaned: boolean
    }
  | { readonly _tag: "Unreachable"; readonly message: string }
  | { readonly _tag: "BadFolder"; readonly message: string }

/** Categories whose checks wait on the server's deadline: they run at once, so the run stays short. */
const CONCURRENT = new Set(["prazos"])

const outcomeOf = (error: unknown): Outcome => {
  if (error instanceof CheckFailure) return { _tag: "Fail", detail: error.message }
  if (error instanceof CheckSkipped) return { _tag: "Skip", reason: error.message }
  if (error instanceof ConnectError)
    return { _tag: "Fail", detail: `${error.message} (o servidor caiu ou recusou a conexão).` }
  return {
    _tag: "Fail",
    detail: `erro inesperado durante a verificação: ${error instanceof Error ? error.message : String(error)}`
  }
}

const runOne = async (check: Check, context: Context, guardMillis: number): Promise<Result> => {
  const started = Date.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  const guard = new Promise<Outcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ _tag: "Fail", detail: `a verificação não terminou em ${guardMillis} ms.` }),
      guardMillis
    )
  })
  const outcome = await Promise.race([check.run(context).then(() => pass, outcomeOf), guard])
  clearTimeout(timer)
  return { check, outcome, millis: Date.now() - started }
}

/** Removes everything this run created in the folder: names under its prefix and what it planted. */
const cleanUp = (folder: string | undefined, prefix: string, planted: ReadonlyArray<string>) => {
  // Synchronous, so that it also runs from a Ctrl+C handler before the process exits.
  const remove = (target: string) => {
    try {
      rmSync(target, { recursive: true, force: true })
    } catch {
      // already gone, or not ours to remove
    }
  }
  for (const target of planted) remove(target)
  if (folder === undefined) return
  let entries: Array<string> = []
  try {
    entries = readdirSync(folder)
  } catch {
    return
  }
  for (const entry of entries) {
    if (entry.startsWith(prefix) || entry.startsWith(`.${prefix}`)) remove(path.join(folder, entry))
  }
}

/** The TLS files read; a string: the sentence saying which could not be read. */
const readProbeTls = (files: CheckerTlsFiles): ProbeTls | string => {
  const read = (file: string | undefined, what: string) =>
    file === undefined ? Either.right(undefined) : readPem(file, what)
  const all = Either.all({
    ca: read(files.ca, "a CA (--tls-ca)"),
    certificate: read(files.certificate, "o certificado (--tls-certificado)"),
    key: read(files.key, "a chave (--tls-chave)")
  })
  return Either.isLeft(all) ? all.left : all.right
}

export const runChecks = async (args: CheckerArgs, onResult: (result: Result) => void = () => {}): Promise<Run> => {
  if (args.folder !== undefined) {
    const info = await stat(args.folder).catch(() => undefined)
    if (!info?.isDirectory())
      return { _tag: "BadFolder", message: `--pasta: "${args.folder}" não é uma pasta nesta máquina` }
  }
  const connectMillis = Math.max(2000, Math.min(10_000, args.timeoutSeconds * 1000))
  const secure = args.tls === undefined ? undefined : readProbeTls(args.tls)
  if (typeof secure === "string") return { _tag: "Unreachable", message: secure }
  try {
    ;(await Probe.open(args.host, args.port, connectMillis, secure)).destroy()
  } catch (error) {
    return { _tag: "Unreachable", message: error instanceof Error ? error.message : String(error) }
  }
  const prefix = `conformidade-${randomBytes(4).toString("hex")}`
  const planted: Array<string> = []
  const timeoutMillis = args.timeoutSeconds * 1000
  const context: Context = {
    host: args.host,
    port: args.port,
    timeoutSeconds: args.timeoutSeconds,
    marginMillis: Math.max(1000, Math.min(10_000, timeoutMillis / 2)),
    replyMillis: Math.max(1000, Math.min(5000, timeoutMillis / 2)),
    promptMillis: Math.max(300, Math.min(2000, timeoutMillis / 2)),
    folder: args.folder === undefined ? undefined : path.resolve(args.folder),
    prefix,
    connect: () => Probe.open(args.host, args.port, connectMillis, secure),
    planted: (absolute) => void planted.push(absolute)
  }
  const guardMillis = 2 * (timeoutMillis + context.marginMillis) + 20_000
  const chosen = CATALOG.filter(
    (check) =>
      (args.only === undefined || args.only.includes(check.category)) &&
      (args.ids === undefined || args.ids.includes(check.id))
  )
  const results: Array<Result> = []
  // Ctrl+C in the middle of a run still removes what the run planted.
  const interrupted = () => {
    cleanUp(context.folder, prefix, planted)
    process.exit(130)
  }
  process.once("SIGINT", interrupted)
  process.once("SIGTERM", interrupted)
  try {
    const categories = [...new Set(chosen.map((check) => check.category))]
    for (const category of categories) {
      const checks = chosen.filter((check) => check.category === category)
      if (CONCURRENT.has(category)) {
        for (const result of await Promise.all(checks.map((check) => runOne(check, context, guardMillis)))) {
          results.push(result)
          onResult(result)
        }
      } else {
        for (const check of checks) {
          const result = await runOne(check, context, guardMillis)
          results.push(result)
          onResult(result)
        }
      }
    }
  } finally {
    process.off("SIGINT", interrupted)
    process.off("SIGTERM", interrupted)
    cleanUp(context.folder, prefix, planted)
  }
  return { _tag: "Done", results, prefix, cleaned: context.folder !== undefined }
}

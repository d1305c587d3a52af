import * as Either from "effect/Either"
import { readPem } from "../../programs/pem.ts"
import { CheckFailure, CheckSkipped, type Judged, type Outcome, pass } from "../check.ts"
import type { JudgeArgs } from "./args.ts"
import { SCENARIOS } from "./catalog.ts"
import { CannotRun, type ClientRun, commandLine, runClient } from "./launch.ts"
import type { Scenario, Seen, Timing, Verdict } from "./scenario.ts"
import { listen } from "./scripted.ts"
import { filesUnder, makeWorkspace, outside, removeWorkspace } from "./workspace.ts"

/**
 * Runs each chosen scenario: a fresh folder, a scripted server on loopback,
 * the command once, then every verdict on what was seen. Everything a
 * scenario starts is stopped and removed before the next one.
 */

export type JudgeRun =
  | { readonly _tag: "Done"; readonly results: ReadonlyArray<Judged> }
  | { readonly _tag: "CannotRun"; readonly message: string }

const outcomeOf = (judge: () => void): Outcome => {
  try {
    judge()
    return pass
  } catch (error) {
    if (error instanceof CheckFailure) return { _tag: "Fail", detail: error.message }
    if (error instanceof CheckSkipped) return { _tag: "Skip", reason: error.message }
    return {
      _tag: "Fail",
      detail: `erro inesperado no verificador: ${error instanceof Error ? error.message : String(error)}`
    }
  }
}

/** The shell's "not found" and "not executable" statuses. */
const NOT_RUNNABLE = new Set([126, 127])

const runScenario = async (
  scenario: Scenario,
  args: JudgeArgs,
  timing: Timing,
  tls: { readonly certificate: string; readonly key: string } | undefined
): Promise<{ readonly seen: Seen } | { readonly cannotRun: string }> => {
  const workspace = makeWorkspace()
  const partial = args.partial.replaceAll("{nome}", scenario.name)
  const notes = new Map<string, unknown>()
  const scripts: Array<Promise<void>> = []
  const server = listen((connection) => {
    const done = scenario.script(connection, { ...timing, workspace, notes })
    scripts.push(done.catch(() => undefined))
    return done
  }, tls)
  try {
    scenario.prepare?.(workspace, partial)
    const words = commandLine(args.command, {
      endereco: `${server.host}:${server.port}`,
      pasta: workspace.folder,
      op: scenario.op,
      nome: scenario.name
    })
    const limit = timing.timeoutMillis + timing.marginMillis + (scenario.stalls === true ? 3000 : 10_000)
    let run: ClientRun
    try {
      run = await runClient(words, process.cwd(), limit)
    } catch (error) {
      if (error instanceof CannotRun) return { cannotRun: error.message }
      throw error
    }
    if (NOT_RUNNABLE.has(run.code ?? 0) && server.connections.length === 0)
      return {
        cannotRun: `o comando terminou com status ${run.code} sem conectar (comando não encontrado ou sem permissão de execução?): ${run.stderr.trim().split("\n").at(-1) ?? ""}`
      }
    server.stop()
    await Promise.all(scripts)
    return {
      seen: {
        run,
        connections: server.connections,
        files: filesUnder(workspace.folder),
        outside: outside(workspace, scenario.watched?.(workspace) ?? []),
        notes,
        partial,
        timing
      }
    }
  } finally {
    server.stop()
    removeWorkspace(workspace)
  }
}

/** The scripted server's TLS files read; a string: the sentence saying which could not be read. */
const readServerFiles = (files: { readonly certificate: string; readonly key: string }) => {
  const read = Either.all({
    certificate: readPem(files.certificate, "o certificado (--tls-certificado)"),
    key: readPem(files.key, "a chave (--tls-chave)")
  })
  return Either.isLeft(read) ? read.left : read.right
}

export const judgeClient = async (
  args: JudgeArgs,
  onResult: (result: Judged) => void = () => {}
): Promise<JudgeRun> => {
  const timeoutMillis = args.timeoutSeconds * 1000
  const timing: Timing = { timeoutMillis, marginMillis: Math.max(2000, Math.min(10_000, timeoutMillis / 2)) }
  const chosen = (verdict: Verdict) =>
    (args.only === undefined || args.only.includes(verdict.category)) &&
    (args.ids === undefined || args.ids.includes(verdict.id))
  const tls = args.tls === undefined ? undefined : readServerFiles(args.tls)
  if (typeof tls === "string") return { _tag: "CannotRun", message: tls }
  const results: Array<Judged> = []
  for (const scenario of SCENARIOS) {
    const verdicts = scenario.verdicts.filter(chosen)
    if (verdicts.length === 0) continue
    const started = Date.now()
    const ran = await runScenario(scenario, args, timing, tls)
    if ("cannotRun" in ran) return { _tag: "CannotRun", message: ran.cannotRun }
    const millis = Date.now() - started
    for (const verdict of verdicts) {
      const result = { check: verdict, outcome: outcomeOf(() => verdict.judge(ran.seen)), millis }
      results.push(result)
      onResult(result)
    }
  }
  return { _tag: "Done", results }
}

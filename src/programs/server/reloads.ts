import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Runtime from "effect/Runtime"
import { processSignals, type Signals } from "../signals.ts"
import { notifySystemd } from "./systemdNotify.ts"

/** One thing SIGHUP re-reads or reopens (a certificate for new connections, a log file). */
export interface Reload {
  /** What it is, for the log line when it fails ("certificado TLS"). */
  readonly what: string
  /**
   * Re-reads or reopens it and says what it now holds ("--permitir-arquivo
   * lista.txt: 3 redes"); fails with a Portuguese sentence, and then what was
   * in use stays.
   */
  readonly run: Effect.Effect<string, string>
}

/** What SIGHUP does: a list others add to (TLS adds its certificate) before the server starts. */
export interface Reloads {
  readonly add: (reload: Reload) => void
  /** Runs every reload, in order, and logs one line saying what it did. */
  readonly runAll: Effect.Effect<void>
}

/** What is not re-read, in the line of a SIGHUP with nothing registered. */
const NOTHING =
  "SIGHUP recebido: nada a reler ou reabrir (as opções vêm da linha de comando e do ambiente: reinicie o servidor para mudá-las); o servidor continua atendendo."

export const makeReloads = (): Reloads => {
  const reloads: Array<Reload> = []
  const runAll = Effect.gen(function* () {
    notifySystemd("RELOADING=1")
    const done: Array<string> = []
    const failed: Array<string> = []
    for (const reload of reloads) {
      const result = yield* Effect.either(reload.run)
      if (Either.isRight(result)) done.push(result.right)
      else failed.push(`${reload.what}: ${result.left}`)
    }
    notifySystemd("READY=1")
    const text =
      reloads.length === 0
        ? NOTHING
        : `SIGHUP recebido: ${done.length > 0 ? `relido: ${done.join(", ")}` : "nada foi relido"}` +
          (failed.length > 0 ? `; falhou (continua valendo o anterior): ${failed.join("; ")}` : "") +
          "; o servidor continua atendendo."
    const line = failed.length > 0 ? Effect.logWarning(text) : Effect.logInfo(text)
    yield* line.pipe(Effect.annotateLogs({ evento: "recarga", relido: done, falhas: failed }))
  })
  return { add: (reload) => void reloads.push(reload), runAll }
}

/**
 * While the scope is open, each SIGHUP runs `reloads.runAll` (with the
 * caller's loggers) instead of ending the process, as nginx and sshd do.
 */
export const reloadOnHangup = (reloads: Reloads, signals: Signals = processSignals("SIGHUP")) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    yield* Effect.acquireRelease(
      Effect.sync(() => signals.listen(() => void Runtime.runFork(runtime)(reloads.runAll))),
      (stop) => Effect.sync(stop)
    )
  })

/**
 * Runs `effect` with SIGHUP caught: a SIGHUP that comes before the server
 * takes it over (while starting) or after (the last finalizers) is ignored
 * instead of killing the process with status 129.
 */
export const ignoringHangup = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => processSignals("SIGHUP").listen(() => {})),
    () => effect,
    (stop) => Effect.sync(stop)
  )

import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import { plural } from "../../domain/words.ts"
import { FileStore } from "../../services/FileStore.ts"
import { invokedAs } from "../invocation.ts"
import { jsonLine, loggerFor, type Nivel } from "../logger.ts"
import { INTERRUPTED_STATUS, processSignals, stoppedBy } from "../signals.ts"
import { VERSION } from "../version.ts"
import { terminalWidth, wrapText } from "../wrap.ts"
import { announce, say } from "./announce.ts"
import { SERVER_USAGE, type ServerArgs, serverArgsFrom, serverSettingsOf, usageFor } from "./args.ts"
import { SERVER_DEFAULTS, ServerConfig } from "./config.ts"
import { type Health, healthRoute } from "./http/health.ts"
import { httpUrl } from "./http/listener.ts"
import { type HttpService, serveHttpServices } from "./http/listeners.ts"
import { metricsRoute } from "./http/metricsRoute.ts"
import { collectHeap } from "./idleCollection.ts"
import { type Live, liveFrom, withAllowFile } from "./live.ts"
import { type Metrics, makeMetrics } from "./metrics.ts"
import { observeAll } from "./observer.ts"
import { factsOf } from "./panel/facts.ts"
import { makePanel } from "./panel/panel.ts"
import { ignoringHangup, reloadOnHangup } from "./reloads.ts"
import { ServerLive } from "./ServerLive.ts"
import { type Activity, serveFolder } from "./server.ts"
import { describeFolderFailure, describeHttpListenFailure, describeListenFailure } from "./startFailures.ts"
import { notifySystemd } from "./systemdNotify.ts"
import { loadTls, reloadCertificates, tlsFilesOf, tlsStartLines } from "./tls.ts"

/** The server as the person started it, for the help and the advice they may paste. */
const PROGRAM = invokedAs("servidor", "arquivos-servidor")

const program = (args: ServerArgs, activity: Activity, metrics: Metrics | undefined, live: Live) =>
  Effect.gen(function* () {
    const health: Health = { accepting: true }
    const startedAt = Date.now()
    // Runs last, once the listener and every connection are closed; only a server that started says it shut down.
    let started = false
    yield* Effect.addFinalizer(() =>
      started
        ? say(
            "encerrado",
            activity.cut === 0
              ? "Servidor encerrado; nenhuma operação foi cortada."
              : `Servidor encerrado; ${plural(activity.cut, "operação cortada", "operações cortadas")} (veja as linhas "cortado" acima).`,
            { cortadas: activity.cut }
          )
        : Effect.void
    )
    const panel = args.panel === undefined || metrics === undefined ? undefined : yield* makePanel(metrics, health)
    const services: Array<HttpService> = []
    if (args.metrics !== undefined && metrics !== undefined) {
      const routes = { "/metrics": metricsRoute(metrics, health), "/saude": healthRoute(health) }
      services.push({ option: "--metricas", address: args.metrics, routes })
    }
    if (args.panel !== undefined && panel !== undefined) {
      services.push({ option: "--painel", address: args.panel, routes: panel.routes })
    }
    // Opened before the file port, so they close after the drain: a balancer sees /saude answer 503 meanwhile.
    const http = yield* serveHttpServices(services).pipe(Effect.mapError((error) => describeHttpListenFailure(error)))
    yield* reloadOnHangup(live.reloads)
    // The TLS files are read and checked before listening: a bad one stops the start with a sentence naming it.
    const settings = yield* ServerConfig
    const tlsFiles = tlsFilesOf(args)
    const tls =
      tlsFiles === undefined
        ? undefined
        : yield* Either.match(loadTls(tlsFiles, settings.requestSeconds), {
            onLeft: (problem) => Effect.fail(problem),
            onRight: (loaded) => Effect.succeed(loaded)
          })
    const listener = yield* serveFolder({
      port: args.port,
      graceMillis: SERVER_DEFAULTS.graceMillis,
      activity,
      access: live.access,
      collect: collectHeap,
      observer: observeAll(metrics === undefined ? [] : panel === undefined ? [metrics] : [metrics, panel.state]),
      ...(args.address === undefined ? {} : { hostname: args.address }),
      ...(tls === undefined ? {} : { tls: tls.tls })
    }).pipe(
      Effect.mapError((error) =>
        error._tag === "ConnectionFailure"
          ? describeListenFailure(error, args.port, PROGRAM)
          : describeFolderFailure(error, args.folder)
      )
    )
    started = true
    if (tls !== undefined && tlsFiles !== undefined) {
      // New connections get the certificate read on SIGHUP; those in flight keep theirs.
      live.reloads.add({
        what: "certificado TLS",
        run: Effect.map(
          reloadCertificates(listener, tlsFiles, settings.requestSeconds),
          (loaded) => `certificado TLS (${tlsStartLines(loaded, tlsFiles)[0]})`
        )
      })
    }
    yield* announce(args, listener, tls === undefined ? undefined : tlsStartLines(tls, tlsFiles!))
    if (panel !== undefined) {
      panel.sources.facts = factsOf(settings, listener, (yield* FileStore).root, startedAt, tls !== undefined)
    }
    for (const [i, service] of services.entries()) {
      const url = httpUrl(http[i]!.hostname, http[i]!.port)
      yield* service.option === "--metricas"
        ? say("inicio", `Métricas: ${url}/metrics; saúde: ${url}/saude`, { metricas: `${url}/metrics` })
        : say("inicio", `Painel ao vivo: ${url}/`, { painel: `${url}/` })
    }
    yield* say("inicio", "Ctrl+C para encerrar; SIGHUP recarrega sem encerrar.")
    notifySystemd("READY=1\nSTATUS=aceitando conexões")
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        health.accepting = false
        notifySystemd("STOPPING=1")
        panel?.events.broadcast("encerrando", { aceitando: false })
        return say(
          "encerrando",
          activity.active === 0
            ? "Encerrando: novas conexões recusadas."
            : `Encerrando: novas conexões recusadas; aguardando ${plural(activity.active, "operação", "operações")} em andamento por até ${SERVER_DEFAULTS.graceMillis / 1000} s (Ctrl+C de novo sai na hora).`,
          { em_andamento: activity.active }
        )
      })
    )
    return yield* Effect.never
  })

/** A line written outside the loggers (they are gone, or never came): text as is, or one JSON object. */
const outside = (format: ServerArgs["log"], nivel: Nivel, evento: string, text: string, stream: "out" | "err") =>
  format === "json"
    ? Console.log(jsonLine({ hora: new Date().toISOString(), nivel, evento, mensagem: text }))
    : stream === "out"
      ? Console.log(text)
      : Console.error(text)

/**
 * The server until it stops, and its exit status: 0 also after Ctrl+C or
 * SIGTERM (a graceful stop, as the README says), 1 when it cannot start, 130
 * when a second Ctrl+C cuts the grace period short and leaves at once.
 */
const serve = (given: ServerArgs) =>
  Effect.gen(function* () {
    const read = withAllowFile(given)
    if (Either.isLeft(read)) {
      yield* outside(given.log, "erro", "falha-inicio", `servidor: não foi possível iniciar: ${read.left}`, "err")
      return 1
    }
    const args = read.right
    const activity: Activity = { active: 0, ended: 0, cut: 0 }
    // The page's totals are the metrics' counts: either option counts them.
    const metrics = args.metrics === undefined && args.panel === undefined ? undefined : makeMetrics()
    const running = program(args, activity, metrics, liveFrom(args)).pipe(
      Effect.scoped,
      Effect.provide(
        ServerLive({ folder: args.folder, settings: serverSettingsOf(args), logger: loggerFor(args.log) })
      ),
      Effect.catchAll((error) => {
        const text = typeof error === "string" ? error : describeFolderFailure(error, args.folder)
        const line = `servidor: não foi possível iniciar: ${text}`
        return Effect.zipRight(
          outside(
            args.log,
            "erro",
            "falha-inicio",
            args.log === "json" ? line : wrapText(line, terminalWidth(process.stderr)),
            "err"
          ),
          Effect.fail(error)
        )
      })
    )
    const stopped = yield* ignoringHangup(stoppedBy(processSignals("SIGINT", "SIGTERM"), running))
    if (stopped._tag === "Abandoned") {
      yield* outside(
        args.log,
        "aviso",
        "saida-imediata",
        `Saindo na hora: ${plural(activity.active, "operação cortada", "operações cortadas")} sem esperar.`,
        "out"
      )
      return INTERRUPTED_STATUS
    }
    return Exit.isSuccess(stopped.exit) || Exit.isInterrupted(stopped.exit) ? 0 : 1
  })

/** The whole server, from its command line to its exit status (2: a bad command line). */
export const serverMain = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.suspend(() => {
    const parsed = serverArgsFrom(argv)
    if (Either.isLeft(parsed)) {
      return Effect.as(Console.error(`servidor: ${parsed.left}\nUse --ajuda para ver as opções.`), 2)
    }
    switch (parsed.right._tag) {
      case "Help":
        return Effect.as(Console.log(usageFor(SERVER_USAGE, PROGRAM)), 0)
      case "Version":
        return Effect.as(Console.log(`arquivos-servidor ${VERSION}`), 0)
      case "Run":
        return serve(parsed.right.args)
    }
  }).pipe(Effect.catchAllCause((cause) => Effect.as(Console.error(Cause.pretty(cause)), 1)))

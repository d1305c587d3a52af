import { accessSync, constants } from "node:fs"
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
import { makeAccess } from "./access.ts"
import { reachableAddresses } from "./addresses.ts"
import { readAllowFile } from "./allowFile.ts"
import { SERVER_USAGE, type ServerArgs, serverArgsFrom, serverSettingsOf, usageFor } from "./args.ts"
import { SERVER_DEFAULTS, ServerConfig } from "./config.ts"
import { exposureWarning } from "./exposure.ts"
import { type Health, healthRoute } from "./http/health.ts"
import { httpUrl, serveHttp } from "./http/listener.ts"
import { metricsRoute } from "./http/metricsRoute.ts"
import { type Metrics, makeMetrics } from "./metrics.ts"
import { ignoringHangup, makeReloads, type Reloads, reloadOnHangup } from "./reloads.ts"
import { ServerLive } from "./ServerLive.ts"
import { type Activity, serveFolder } from "./server.ts"
import { describeFolderFailure, describeHttpListenFailure, describeListenFailure } from "./startFailures.ts"
import { notifySystemd } from "./systemdNotify.ts"

/** Whether this process may create files in `folder` (a folder it cannot write to refuses every upload). */
const writable = (folder: string) => {
  try {
    accessSync(folder, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** The server as the person started it, for the help and the advice they may paste. */
const PROGRAM = invokedAs("servidor", "arquivos-servidor")

/** A line for the operator: the text as is, or with --log json one object with `evento` and `fields`. */
const say = (evento: string, text: string, fields: Readonly<Record<string, unknown>> = {}) =>
  Effect.logInfo(text).pipe(Effect.annotateLogs({ evento, ...fields }))

const warn = (evento: string, text: string, fields: Readonly<Record<string, unknown>> = {}) =>
  Effect.logWarning(text).pipe(Effect.annotateLogs({ evento, ...fields }))

/** What the server was started with, once it listens: in text, the lines people read; in json, their fields. */
const announce = (args: ServerArgs, listener: { readonly hostname: string; readonly port: number }) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const settings = yield* ServerConfig
    const addresses = reachableAddresses(listener.hostname, listener.port)
    yield* say(
      "inicio",
      [`Servidor de arquivos escutando na porta TCP ${listener.port}, em:`, ...addresses.map((a) => `  ${a}`)].join(
        "\n"
      ),
      { versao: VERSION, porta: listener.port, enderecos: addresses }
    )
    yield* say("inicio", `Pasta servida: ${store.root}`, { pasta: store.root })
    if (!settings.readOnly && !writable(store.root)) {
      yield* warn("aviso", "Aviso: este usuário não pode gravar na pasta servida; todo upload será recusado.")
    }
    yield* say("inicio", `Timeout: ${settings.requestSeconds} s (pedido inteiro e transferência parada)`, {
      timeout_s: settings.requestSeconds
    })
    yield* say(
      "inicio",
      `Limites: ${plural(settings.maxClients, "conexão", "conexões")}${settings.maxPerAddress > 0 ? `, ${settings.maxPerAddress} por endereço` : ""}` +
        (settings.readOnly ? "; somente leitura" : "") +
        (settings.maxUploadBytes !== undefined ? `; uploads até ${settings.maxUploadBytes} bytes` : ""),
      {
        max_clientes: settings.maxClients,
        max_por_ip: settings.maxPerAddress,
        somente_leitura: settings.readOnly,
        tamanho_maximo: settings.maxUploadBytes ?? null
      }
    )
    if (settings.proxyProtocol) {
      const trusted = settings.trustedProxies.map((block) => block.text)
      yield* say("inicio", `Protocolo PROXY (v1 e v2) exigido em toda conexão; aceito só de: ${trusted.join(", ")}`, {
        proxies_confiaveis: trusted
      })
    }
    const allowed = settings.allow?.map((block) => block.text)
    const access = [
      ...(allowed === undefined
        ? []
        : [
            `só clientes de ${allowed.length === 0 ? "nenhuma rede" : allowed.join(", ")}` +
              (args.allowFile === undefined ? "" : ` (de ${args.allowFile}, relido a cada SIGHUP)`)
          ]),
      ...(settings.noOverwrite ? ["uploads não substituem arquivos existentes"] : [])
    ]
    if (access.length > 0) {
      yield* say("inicio", `Acesso: ${access.join("; ")}`, {
        permitir: allowed ?? null,
        sem_sobrescrever: settings.noOverwrite
      })
    }
    // TLS (issue 24) makes a server private in transit: then `tls: config.tls !== undefined`.
    const exposed = exposureWarning({ ...settings, address: args.address, tls: false })
    if (exposed !== undefined) yield* warn("aviso", exposed)
    yield* say(
      "inicio",
      args.log === "json"
        ? "Log: um objeto JSON por linha na saída padrão; horas em UTC (ISO 8601, com Z)."
        : "Log: uma linha por operação; horas em UTC (ISO 8601, com Z).",
      { log: args.log }
    )
  })

/** What the server may change while it runs: who may connect (SIGHUP re-reads --permitir-arquivo). */
interface Live {
  readonly access: { allowed: (address: string) => boolean }
  readonly reloads: Reloads
}

/** The reloads of what `args` gives: the allow-list file, when there is one. */
const liveFrom = (args: ServerArgs): Live => {
  const access = { allowed: makeAccess(args.allow) }
  const reloads = makeReloads()
  const file = args.allowFile
  if (file !== undefined) {
    reloads.add({
      what: "--permitir-arquivo",
      run: Effect.suspend(() =>
        Either.match(readAllowFile(file), {
          onLeft: (why) => Effect.fail(why),
          onRight: (blocks) =>
            Effect.sync(() => {
              access.allowed = makeAccess(blocks)
              return `--permitir-arquivo "${file}" (${plural(blocks.length, "rede", "redes")})`
            })
        })
      )
    })
  }
  return { access, reloads }
}

const program = (args: ServerArgs, activity: Activity, metrics: Metrics | undefined, live: Live) =>
  Effect.gen(function* () {
    const health: Health = { accepting: true }
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
    // Opened before the file port, so it closes after the drain: a balancer sees /saude answer 503 meanwhile.
    const http =
      args.metrics === undefined || metrics === undefined
        ? undefined
        : yield* serveHttp(args.metrics, {
            "/metrics": metricsRoute(metrics, health),
            "/saude": healthRoute(health)
          }).pipe(Effect.mapError((error) => describeHttpListenFailure(error)))
    yield* reloadOnHangup(live.reloads)
    const listener = yield* serveFolder({
      port: args.port,
      graceMillis: SERVER_DEFAULTS.graceMillis,
      activity,
      access: live.access,
      observer: metrics,
      ...(args.address === undefined ? {} : { hostname: args.address })
    }).pipe(
      Effect.mapError((error) =>
        error._tag === "ConnectionFailure"
          ? describeListenFailure(error, args.port, PROGRAM)
          : describeFolderFailure(error, args.folder)
      )
    )
    started = true
    yield* announce(args, listener)
    if (http !== undefined) {
      const url = httpUrl(http.hostname ?? "127.0.0.1", http.port ?? 0)
      yield* say("inicio", `Métricas: ${url}/metrics; saúde: ${url}/saude`, { metricas: `${url}/metrics` })
    }
    yield* say("inicio", "Ctrl+C para encerrar; SIGHUP recarrega sem encerrar.")
    notifySystemd("READY=1\nSTATUS=aceitando conexões")
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        health.accepting = false
        notifySystemd("STOPPING=1")
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

/** The arguments with --permitir-arquivo read into `allow`; Left: why it could not be read. */
const withAllowFile = (args: ServerArgs): Either.Either<ServerArgs, string> =>
  args.allowFile === undefined
    ? Either.right(args)
    : Either.map(readAllowFile(args.allowFile), (allow) => ({ ...args, allow }))

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
    const activity: Activity = { active: 0, cut: 0 }
    const metrics = args.metrics === undefined ? undefined : makeMetrics()
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

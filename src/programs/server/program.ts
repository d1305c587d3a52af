import { accessSync, constants } from "node:fs"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import { identity } from "effect/Function"
import { plural } from "../../domain/words.ts"
import { FileStore } from "../../services/FileStore.ts"
import { invokedAs } from "../invocation.ts"
import { loggerFor } from "../logger.ts"
import { INTERRUPTED_STATUS, processSignals, stoppedBy } from "../signals.ts"
import { VERSION } from "../version.ts"
import { terminalWidth, wrapText } from "../wrap.ts"
import { reachableAddresses } from "./addresses.ts"
import { SERVER_USAGE, type ServerArgs, serverArgsFrom, serverSettingsOf, usageFor } from "./args.ts"
import { SERVER_DEFAULTS, ServerConfig } from "./config.ts"
import { ServerLive } from "./ServerLive.ts"
import { type Activity, serveFolder } from "./server.ts"
import { describeFolderFailure, describeListenFailure } from "./startFailures.ts"
import { loadTls, tlsFilesOf, tlsStartLines } from "./tls.ts"

/** Whether this process may create files in `folder` (a folder it cannot write to refuses every upload). */
const writable = (folder: string) => {
  try {
    accessSync(folder, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** Runs `effect` with Console.log going to stderr, so that stdout carries only the log. */
const logToStderr = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.console, (base) =>
    Effect.withConsole(effect, {
      ...base,
      log: (...args: ReadonlyArray<unknown>) => base.error(...args),
      unsafe: { ...base.unsafe, log: (...args: ReadonlyArray<unknown>) => base.unsafe.error(...args) }
    })
  )

/** The server as the person started it, for the help and the advice they may paste. */
const PROGRAM = invokedAs("servidor", "arquivos-servidor")

const program = (args: ServerArgs, activity: Activity) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const settings = yield* ServerConfig
    // Runs last, once the listener and every connection are closed; only a server that started says it shut down.
    let started = false
    yield* Effect.addFinalizer(() =>
      started
        ? Console.log(
            activity.cut === 0
              ? "Servidor encerrado; nenhuma operação foi cortada."
              : `Servidor encerrado; ${plural(activity.cut, "operação cortada", "operações cortadas")} (veja as linhas "cortado" acima).`
          )
        : Effect.void
    )
    // The TLS files are read and checked before listening: a bad one stops the start with a sentence naming it.
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
    yield* Console.log(
      `Servidor de arquivos escutando na porta TCP ${listener.port}${tls === undefined ? "" : " (TLS)"}, em:`
    )
    for (const address of reachableAddresses(listener.hostname, listener.port)) yield* Console.log(`  ${address}`)
    if (tls !== undefined && tlsFiles !== undefined)
      for (const line of tlsStartLines(tls, tlsFiles)) yield* Console.log(line)
    yield* Console.log(`Pasta servida: ${store.root}`)
    if (!settings.readOnly && !writable(store.root)) {
      yield* Console.log("Aviso: este usuário não pode gravar na pasta servida; todo upload será recusado.")
    }
    yield* Console.log(`Timeout: ${settings.requestSeconds} s (pedido inteiro e transferência parada)`)
    yield* Console.log(
      `Limites: ${plural(settings.maxClients, "conexão", "conexões")}${settings.maxPerAddress > 0 ? `, ${settings.maxPerAddress} por endereço` : ""}` +
        (settings.readOnly ? "; somente leitura" : "") +
        (settings.maxUploadBytes !== undefined ? `; uploads até ${settings.maxUploadBytes} bytes` : "")
    )
    if (settings.proxyProtocol) {
      const trusted = settings.trustedProxies.map((block) => block.text).join(", ")
      yield* Console.log(`Protocolo PROXY (v1 e v2) exigido em toda conexão; aceito só de: ${trusted}`)
    }
    const access = [
      ...(settings.allow === undefined
        ? []
        : [`só clientes de ${settings.allow.map((block) => block.text).join(", ")}`]),
      ...(settings.noOverwrite ? ["uploads não substituem arquivos existentes"] : [])
    ]
    if (access.length > 0) yield* Console.log(`Acesso: ${access.join("; ")}`)
    yield* Console.log(
      args.log === "json"
        ? "Log: um objeto JSON por linha na saída padrão; horas em UTC (ISO 8601, com Z)."
        : "Log: uma linha por operação; horas em UTC (ISO 8601, com Z)."
    )
    yield* Console.log("Ctrl+C para encerrar.")
    yield* Effect.addFinalizer(() =>
      Console.log(
        activity.active === 0
          ? "Encerrando: novas conexões recusadas."
          : `Encerrando: novas conexões recusadas; aguardando ${plural(activity.active, "operação", "operações")} em andamento por até ${SERVER_DEFAULTS.graceMillis / 1000} s (Ctrl+C de novo sai na hora).`
      )
    )
    return yield* Effect.never
  })

/**
 * The server until it stops, and its exit status: 0 also after Ctrl+C or
 * SIGTERM (a graceful stop, as the README says), 1 when it cannot start, 130
 * when a second Ctrl+C cuts the grace period short and leaves at once.
 */
const serve = (args: ServerArgs) =>
  Effect.gen(function* () {
    const activity: Activity = { active: 0, cut: 0 }
    const running = program(args, activity).pipe(
      Effect.scoped,
      // With --log json, stdout carries only the JSON lines: the messages for people go to stderr.
      args.log === "json" ? logToStderr : identity,
      Effect.provide(
        ServerLive({ folder: args.folder, settings: serverSettingsOf(args), logger: loggerFor(args.log) })
      ),
      Effect.catchAll((error) => {
        const text = typeof error === "string" ? error : describeFolderFailure(error, args.folder)
        return Effect.zipRight(
          Console.error(wrapText(`servidor: não foi possível iniciar: ${text}`, terminalWidth(process.stderr))),
          Effect.fail(error)
        )
      })
    )
    const stopped = yield* stoppedBy(processSignals("SIGINT", "SIGTERM"), running)
    if (stopped._tag === "Abandoned") {
      // With --log json, stdout carries only the JSON lines.
      const say = args.log === "json" ? Console.error : Console.log
      yield* say(`Saindo na hora: ${plural(activity.active, "operação cortada", "operações cortadas")} sem esperar.`)
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

import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { identity } from "effect/Function"
import { plural } from "../../domain/describe.ts"
import { FileStore } from "../../services/FileStore.ts"
import { loggerFor } from "../logger.ts"
import { VERSION } from "../version.ts"
import { reachableAddresses } from "./addresses.ts"
import { SERVER_USAGE, type ServerArgs, serverArgsFrom, serverSettingsOf } from "./args.ts"
import { SERVER_DEFAULTS } from "./config.ts"
import { Collector } from "./memory.ts"
import { ServerLive } from "./ServerLive.ts"
import { type Activity, serveFolder } from "./server.ts"
import { describeFolderFailure, describeListenFailure } from "./startup.ts"

/** Runs `effect` with Console.log going to stderr, so that stdout carries only the log. */
const logToStderr = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.console, (base) =>
    Effect.withConsole(effect, {
      ...base,
      log: (...args: ReadonlyArray<unknown>) => base.error(...args),
      unsafe: { ...base.unsafe, log: (...args: ReadonlyArray<unknown>) => base.unsafe.error(...args) }
    })
  )

const GRACE_MILLIS = SERVER_DEFAULTS.graceMillis

/**
 * A second signal this soon after the first is the same Ctrl+C delivered
 * twice (`bun run` and `npm run` pass the terminal's SIGINT on to a child
 * that already got it from the terminal), not a person pressing it again.
 */
const SAME_SIGNAL_MILLIS = 300

/** Exit status when a second Ctrl+C cuts the shutdown short (128 + SIGINT). */
const FORCED = 130

const program = (args: ServerArgs, activity: Activity) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    // Runs last, once the listener and every connection are closed.
    yield* Effect.addFinalizer(() =>
      Console.log(
        activity.cut === 0
          ? "Servidor encerrado; nenhuma operação foi cortada."
          : `Servidor encerrado; ${plural(activity.cut, "operação cortada", "operações cortadas")} (veja as linhas "cortado" acima).`
      )
    )
    const listener = yield* serveFolder({
      port: args.port,
      graceMillis: GRACE_MILLIS,
      collector: new Collector(),
      activity,
      ...(args.address === undefined ? {} : { hostname: args.address })
    }).pipe(
      Effect.mapError((error) =>
        error._tag === "ConnectionFailure"
          ? describeListenFailure(error, args.port)
          : describeFolderFailure(error, args.folder)
      )
    )
    yield* Console.log(`Servidor de arquivos escutando na porta TCP ${listener.port}, em:`)
    for (const address of reachableAddresses(listener.hostname, listener.port)) yield* Console.log(`  ${address}`)
    yield* Console.log(`Pasta servida: ${store.root}`)
    yield* Console.log(`Timeout: ${args.timeoutSeconds} s (pedido inteiro e transferência parada)`)
    yield* Console.log(
      `Limites: ${plural(args.maxClients, "conexão", "conexões")}${args.maxPerAddress > 0 ? `, ${args.maxPerAddress} por endereço` : ""}` +
        (args.readOnly ? "; somente leitura" : "") +
        (args.maxUploadBytes !== undefined ? `; uploads até ${args.maxUploadBytes} bytes` : "")
    )
    if (args.proxyProtocol) {
      const trusted = (args.trustedProxies ?? SERVER_DEFAULTS.trustedProxies).map((block) => block.text).join(", ")
      yield* Console.log(`Protocolo PROXY (v1 e v2) exigido em toda conexão; aceito só de: ${trusted}`)
    }
    const access = [
      ...(args.allow === undefined ? [] : [`só clientes de ${args.allow.map((block) => block.text).join(", ")}`]),
      ...(args.noOverwrite ? ["uploads não substituem arquivos existentes"] : [])
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
          : `Encerrando: novas conexões recusadas; aguardando ${plural(activity.active, "operação", "operações")} em andamento por até ${GRACE_MILLIS / 1000} s (Ctrl+C de novo sai na hora).`
      )
    )
    return yield* Effect.never
  })

const parsed = serverArgsFrom(process.argv.slice(2))
if (Either.isLeft(parsed)) {
  console.error(`servidor: ${parsed.left}\nUse --ajuda para ver as opções.`)
  process.exit(2)
} else if (parsed.right._tag === "Help") {
  console.log(SERVER_USAGE)
} else if (parsed.right._tag === "Version") {
  console.log(`arquivos-servidor ${VERSION}`)
} else {
  const args = parsed.right.args
  const activity: Activity = { active: 0, cut: 0 }
  const layers = ServerLive({ folder: args.folder, settings: serverSettingsOf(args), logger: loggerFor(args.log) })
  const fiber = Effect.runFork(
    program(args, activity).pipe(
      Effect.scoped,
      // With --log json, stdout carries only the JSON lines: the messages for people go to stderr.
      args.log === "json" ? logToStderr : identity,
      Effect.provide(layers),
      Effect.catchAll((error) => {
        const text = typeof error === "string" ? error : describeFolderFailure(error, args.folder)
        return Effect.zipRight(Console.error(`servidor: não foi possível iniciar: ${text}`), Effect.fail(error))
      })
    )
  )
  // Ctrl+C or SIGTERM: a graceful stop (status 0, as the README says). A second Ctrl+C while
  // operations are still given their grace period leaves at once.
  let firstSignalAt: number | undefined
  const onSignal = () => {
    const now = Date.now()
    if (firstSignalAt === undefined) {
      firstSignalAt = now
      Effect.runFork(Fiber.interrupt(fiber))
    } else if (now - firstSignalAt >= SAME_SIGNAL_MILLIS) {
      // With --log json, stdout carries only the JSON lines.
      const say = args.log === "json" ? console.error : console.log
      say(`Saindo na hora: ${plural(activity.active, "operação cortada", "operações cortadas")} sem esperar.`)
      process.exit(FORCED)
    }
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    process.exit(Exit.isSuccess(exit) || Exit.isInterrupted(exit) ? 0 : 1)
  })
}

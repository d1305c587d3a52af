import * as path from "node:path"
import { BunRuntime } from "@effect/platform-bun"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import { LOOPBACK } from "../../domain/cidr.ts"
import { BunTransportLive } from "../../services/BunTransport.ts"
import { FileStore } from "../../services/FileStore.ts"
import { FileStoreLive } from "../../services/FileStoreLive.ts"
import { HasherLive } from "../../services/Hasher.ts"
import { loggerFor } from "../logger.ts"
import { VERSION } from "../version.ts"
import { reachableAddresses } from "./addresses.ts"
import { SERVER_USAGE, type ServerArgs, serverArgsFrom } from "./args.ts"
import { defaultSettings, ServerConfig } from "./config.ts"
import { Collector } from "./memory.ts"
import { serveFolder } from "./server.ts"

/** Runs `effect` with Console.log going to stderr, so that stdout carries only the log. */
const logToStderr = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.console, (base) =>
    Effect.withConsole(effect, {
      ...base,
      log: (...args: ReadonlyArray<unknown>) => base.error(...args),
      unsafe: { ...base.unsafe, log: (...args: ReadonlyArray<unknown>) => base.unsafe.error(...args) }
    })
  )

/** How long operations in flight may take to finish on Ctrl+C or SIGTERM. */
const GRACE_MILLIS = 5_000

const program = (args: ServerArgs) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const listener = yield* serveFolder({
      port: args.port,
      graceMillis: GRACE_MILLIS,
      collector: new Collector(),
      ...(args.address === undefined ? {} : { hostname: args.address })
    })
    yield* Console.log(`Servidor de arquivos escutando na porta TCP ${listener.port}, em:`)
    for (const address of reachableAddresses(listener.hostname, listener.port)) yield* Console.log(`  ${address}`)
    yield* Console.log(`Pasta servida: ${store.root}`)
    yield* Console.log(`Timeout: ${args.timeoutSeconds} s (pedido inteiro e transferência parada)`)
    yield* Console.log(
      `Limites: ${args.maxClients} conexões${args.maxPerAddress > 0 ? `, ${args.maxPerAddress} por endereço` : ""}` +
        (args.readOnly ? "; somente leitura" : "") +
        (args.maxUploadBytes !== undefined ? `; uploads até ${args.maxUploadBytes} bytes` : "")
    )
    if (args.proxyProtocol) {
      const trusted = (args.trustedProxies ?? LOOPBACK).map((block) => block.text).join(", ")
      yield* Console.log(`Protocolo PROXY (v1 e v2) exigido em toda conexão; aceito só de: ${trusted}`)
    }
    const access = [
      ...(args.allow === undefined ? [] : [`só clientes de ${args.allow.map((block) => block.text).join(", ")}`]),
      ...(args.noOverwrite ? ["uploads não substituem arquivos existentes"] : [])
    ]
    if (access.length > 0) yield* Console.log(`Acesso: ${access.join("; ")}`)
    yield* Console.log("Ctrl+C para encerrar.")
    yield* Effect.addFinalizer(() =>
      Console.log("Encerrando: novas conexões recusadas, aguardando operações em andamento...")
    )
    return yield* Effect.never
  })

const parsed = serverArgsFrom(process.argv.slice(2))
if (Either.isLeft(parsed)) {
  console.error(`servidor: ${parsed.left}\n\n${SERVER_USAGE}`)
  process.exit(2)
} else if (parsed.right._tag === "Help") {
  console.log(SERVER_USAGE)
} else if (parsed.right._tag === "Version") {
  console.log(`arquivos-servidor ${VERSION}`)
} else {
  const args = parsed.right.args
  const layers = Layer.mergeAll(
    FileStoreLive(path.resolve(args.folder)),
    HasherLive,
    BunTransportLive,
    Layer.succeed(ServerConfig, {
      ...defaultSettings(args.timeoutSeconds),
      maxClients: args.maxClients,
      maxPerAddress: args.maxPerAddress,
      readOnly: args.readOnly,
      maxUploadBytes: args.maxUploadBytes,
      proxyProtocol: args.proxyProtocol,
      trustedProxies: args.trustedProxies ?? LOOPBACK,
      noOverwrite: args.noOverwrite,
      allow: args.allow
    }),
    loggerFor(args.log)
  )
  program(args).pipe(
    Effect.scoped,
    // With --log json, stdout carries only the JSON lines: the messages for people go to stderr.
    args.log === "json" ? logToStderr : identity,
    Effect.provide(layers),
    Effect.catchAll((error) =>
      Console.error(`servidor: não foi possível iniciar: ${"detail" in error ? error.detail : String(error)}`).pipe(
        // process.exit returns never, which the language service takes for a Promise.
        // @effect-diagnostics-next-line lazyPromiseInEffectSync:off
        Effect.zipRight(Effect.sync(() => process.exit(1)))
      )
    ),
    BunRuntime.runMain({ disableErrorReporting: true })
  )
}

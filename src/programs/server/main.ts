import * as path from "node:path"
import { BunRuntime } from "@effect/platform-bun"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { BunTransportLive } from "../../services/BunTransport.ts"
import { FileStore } from "../../services/FileStore.ts"
import { FileStoreLive } from "../../services/FileStoreLive.ts"
import { HasherLive } from "../../services/Hasher.ts"
import { PlainLogger } from "../logger.ts"
import { reachableAddresses } from "./addresses.ts"
import { parseServerArgs, SERVER_USAGE, type ServerArgs } from "./args.ts"
import { defaultSettings, ServerConfig } from "./config.ts"
import { Collector } from "./memory.ts"
import { serveFolder } from "./server.ts"

/** How long operations in flight may take to finish on Ctrl+C or SIGTERM. */
const GRACE_MILLIS = 5_000

const program = (args: ServerArgs) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const listener = yield* serveFolder({ port: args.port, graceMillis: GRACE_MILLIS, collector: new Collector() })
    yield* Console.log(`Servidor de arquivos escutando na porta TCP ${listener.port}, em:`)
    for (const address of reachableAddresses(listener.hostname, listener.port)) yield* Console.log(`  ${address}`)
    yield* Console.log(`Pasta servida: ${store.root}`)
    yield* Console.log(`Timeout: ${args.timeoutSeconds} s (pedido inteiro e transferência parada)`)
    yield* Console.log(
      `Limites: ${args.maxClients} conexões${args.maxPerAddress > 0 ? `, ${args.maxPerAddress} por endereço` : ""}` +
        (args.readOnly ? "; somente leitura" : "") +
        (args.maxUploadBytes !== undefined ? `; uploads até ${args.maxUploadBytes} bytes` : "")
    )
    yield* Console.log("Ctrl+C para encerrar.")
    yield* Effect.addFinalizer(() =>
      Console.log("Encerrando: novas conexões recusadas, aguardando operações em andamento...")
    )
    return yield* Effect.never
  })

const parsed = parseServerArgs(process.argv.slice(2))
if (Either.isLeft(parsed)) {
  console.error(`servidor: ${parsed.left}\n\n${SERVER_USAGE}`)
  process.exit(2)
} else if (parsed.right._tag === "Help") {
  console.log(SERVER_USAGE)
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
      maxUploadBytes: args.maxUploadBytes
    }),
    PlainLogger
  )
  program(args).pipe(
    Effect.scoped,
    Effect.provide(layers),
    Effect.catchAll((error) =>
      Console.error(`servidor: não foi possível iniciar: ${"detail" in error ? error.detail : String(error)}`).pipe(
        Effect.zipRight(Effect.sync(() => process.exit(1)))
      )
    ),
    BunRuntime.runMain({ disableErrorReporting: true })
  )
}

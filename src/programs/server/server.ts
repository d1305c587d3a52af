import { Context, Effect, Scope } from "effect"
import { FileStore } from "../../services/FileStore.ts"
import type { Hasher } from "../../services/Hasher.ts"
import { encodeStatus } from "../../domain/encode.ts"
import { Status } from "../../domain/protocol.ts"
import { type Connection, Transport } from "../../services/Transport.ts"
import { makeAdmission } from "./admission.ts"
import { ServerConfig } from "./config.ts"
import { handleConnection } from "./connection.ts"

export interface ServeOptions {
  readonly port: number
  /** Defaults to every address: "::" (dual stack), or "0.0.0.0" where IPv6 is missing. */
  readonly hostname?: string
  readonly graceMillis: number
}

/**
 * Serves the folder until the scope closes. Closing stops accepting, lets
 * operations in flight finish within the grace period, interrupts the rest
 * (their temporaries are removed by their own scopes) and sweeps once more.
 */
export const serveFolder = (options: ServeOptions) =>
  Effect.gen(function* () {
    const transport = yield* Transport
    const store = yield* FileStore
    // Only the services: the server's own Scope must not reach the connections,
    // each of which closes its own scope (files, temporaries) when it ends.
    const context = Context.omit(Scope.Scope)(yield* Effect.context<FileStore | Hasher | ServerConfig>())
    yield* store.sweepTemporaries
    yield* Effect.addFinalizer(() => Effect.ignore(store.sweepTemporaries))
    const config = Context.get(context, ServerConfig)
    const admit = makeAdmission({ maxClients: config.maxClients, maxPerAddress: config.maxPerAddress })
    const handle = (connection: Connection) =>
      Effect.gen(function* () {
        const admission = yield* admit(connection)
        if (admission === "Admitted") return yield* handleConnection(connection).pipe(Effect.provide(context))
        // Over a limit: answered at once, where the first status is due, and closed.
        yield* Effect.ignore(connection.write(encodeStatus(Status.Error)))
        const which = admission === "TooManyClients" ? `${config.maxClients} conexões` : `${config.maxPerAddress} por endereço`
        yield* Effect.logInfo(`${new Date().toISOString()} ${connection.remote} recusado: limite de ${which}`)
      })
    const listen = (hostname: string) =>
      transport.serve({ hostname, port: options.port, graceMillis: options.graceMillis }, handle)
    return yield* options.hostname !== undefined
      ? listen(options.hostname)
      : Effect.orElse(listen("::"), () => listen("0.0.0.0"))
  })

import { Context, Effect, Scope } from "effect"
import { FileStore } from "../../services/FileStore.ts"
import type { Hasher } from "../../services/Hasher.ts"
import { Transport } from "../../services/Transport.ts"
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
    const handle = (connection: Parameters<typeof handleConnection>[0]) =>
      handleConnection(connection).pipe(Effect.provide(context))
    const listen = (hostname: string) =>
      transport.serve({ hostname, port: options.port, graceMillis: options.graceMillis }, handle)
    return yield* options.hostname !== undefined
      ? listen(options.hostname)
      : Effect.orElse(listen("::"), () => listen("0.0.0.0"))
  })

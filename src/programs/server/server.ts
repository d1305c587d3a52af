import * as Effect from "effect/Effect"
import { encodeStatus } from "../../domain/encode.ts"
import { Status } from "../../domain/protocol.ts"
import { FileStore } from "../../services/FileStore.ts"
import { type Connection, Transport } from "../../services/Transport.ts"
import { makeAdmission } from "./admission.ts"
import { ServerConfig } from "./config.ts"
import { handleConnection } from "./connection.ts"
import type { Collector } from "./memory.ts"

export interface ServeOptions {
  readonly port: number
  /** Defaults to every address: "::" (dual stack), or "0.0.0.0" where IPv6 is missing. */
  readonly hostname?: string
  readonly graceMillis: number
  /** Told when each connection ends, to collect their garbage in time (the real server passes one). */
  readonly collector?: Collector
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
    yield* store.sweepTemporaries
    yield* Effect.addFinalizer(() => Effect.ignore(store.sweepTemporaries))
    const config = yield* ServerConfig
    const admit = makeAdmission({ maxClients: config.maxClients, maxPerAddress: config.maxPerAddress })
    const handle = (connection: Connection) =>
      Effect.gen(function* () {
        const admission = yield* admit(connection)
        if (admission === "Admitted") return yield* handleConnection(connection)
        // Over a limit: answered at once, where the first status is due, and closed.
        yield* Effect.ignore(connection.write(encodeStatus(Status.Error)))
        const which =
          admission === "TooManyClients" ? `${config.maxClients} conexões` : `${config.maxPerAddress} por endereço`
        yield* Effect.logInfo(`${new Date().toISOString()} ${connection.remote} recusado: limite de ${which}`)
      }).pipe(Effect.ensuring(Effect.sync(() => options.collector?.connectionEnded())))
    const listen = (hostname: string) =>
      transport.serve({ hostname, port: options.port, graceMillis: options.graceMillis }, handle)
    return yield* options.hostname !== undefined
      ? listen(options.hostname)
      : Effect.orElse(listen("::"), () => listen("0.0.0.0"))
  })

import * as Effect from "effect/Effect"
import { plural } from "../../domain/describe.ts"
import { encodeStatus } from "../../domain/encode.ts"
import { Status } from "../../domain/protocol.ts"
import { FileStore } from "../../services/FileStore.ts"
import { type Connection, Transport } from "../../services/Transport.ts"
import { makeAdmission } from "./admission.ts"
import { ServerConfig } from "./config.ts"
import { handleConnection } from "./connection.ts"
import { formatLogLine } from "./logLine.ts"
import type { Collector } from "./memory.ts"

/** Operations in flight, and how many a shutdown cut: for the shutdown messages. */
export interface Activity {
  active: number
  cut: number
}

export interface ServeOptions {
  readonly port: number
  /** Defaults to every address: "::" (dual stack), or "0.0.0.0" where IPv6 is missing. */
  readonly hostname?: string
  readonly graceMillis: number
  /** Told when each connection ends, to collect their garbage in time (the real server passes one). */
  readonly collector?: Collector
  /** Kept up to date when given (the real server passes one). */
  readonly activity?: Activity
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
        if (admission === "Admitted") {
          const activity = options.activity
          if (activity === undefined) return yield* handleConnection(connection)
          activity.active++
          return yield* handleConnection(connection).pipe(
            // Only a shutdown interrupts a connection (when the grace period ends).
            Effect.onInterrupt(() => Effect.sync(() => activity.cut++)),
            Effect.ensuring(Effect.sync(() => activity.active--))
          )
        }
        // Over a limit: answered at once, where the first status is due, and closed.
        yield* Effect.ignore(connection.write(encodeStatus(Status.Error)))
        // The request is not read: the line says who was turned away and why, in the shape of every other line.
        const which =
          admission === "TooManyClients"
            ? `${plural(config.maxClients, "conexão", "conexões")} ao mesmo tempo`
            : `${config.maxPerAddress} por endereço`
        const record = { op: "?", name: "-", bytes: 0, result: `recusado: limite de ${which}` }
        yield* Effect.logInfo(formatLogLine(Date.now(), connection.remote, record, 0))
      }).pipe(Effect.ensuring(Effect.sync(() => options.collector?.connectionEnded())))
    const listen = (hostname: string) =>
      transport.serve({ hostname, port: options.port, graceMillis: options.graceMillis }, handle)
    return yield* options.hostname !== undefined
      ? listen(options.hostname)
      : Effect.orElse(listen("::"), () => listen("0.0.0.0"))
  })

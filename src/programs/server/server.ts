import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { encodeStatus } from "../../domain/encode.ts"
import type { ClientEvent } from "../../domain/messages.ts"
import { Status } from "../../domain/protocol.ts"
import { plural } from "../../domain/words.ts"
import { FileStore } from "../../services/FileStore.ts"
import { type Connection, type Peer, type ServerTls, Transport } from "../../services/transport/Transport.ts"
import type { Wire } from "../wire.ts"
import { addressMatcher, makeAccess } from "./access.ts"
import { makeAdmission } from "./admission.ts"
import { ServerConfig } from "./config.ts"
import { type Activity, handleConnection, type OperationContext, serverWire } from "./connection.ts"
import { collectWhenIdle } from "./idleCollection.ts"
import { refusalLog } from "./logLine.ts"
import type { RefusalReason, ServerObserver } from "./observer.ts"
import { makeOperationLog } from "./operationLog.ts"
import { acceptProxied } from "./proxied.ts"
import { sweepAndLog, sweepPeriodically } from "./sweeps.ts"

export type { Activity } from "./connection.ts"

export interface ServeOptions {
  readonly port: number
  /** Defaults to every address: "::" (dual stack), or "0.0.0.0" where IPv6 is missing. */
  readonly hostname?: string
  readonly graceMillis: number
  /** Kept up to date when given (the real server passes one). */
  readonly activity?: Activity
  /** Who may connect, replaced on SIGHUP when read from a file; by default the settings' `allow`. */
  readonly access?: { allowed: (address: string) => boolean }
  /** Told of every operation and refusal (metrics); none: no call is made. */
  readonly observer?: ServerObserver | undefined
  /** Undefined: plain TCP. */
  readonly tls?: ServerTls | undefined
  /** Collects the heap once the server goes idle after serving (./idleCollection.ts); undefined: never. */
  readonly collect?: (() => void) | undefined
}

/**
 * Serves the folder until the scope closes. Closing stops accepting, lets
 * operations in flight finish within the grace period, interrupts the rest
 * (their temporaries are removed by their own scopes) and sweeps once more.
 * While serving, it also sweeps periodically (./sweeps.ts), so a crashed
 * peer's temporaries go away without a restart. Sweeps never touch the
 * temporaries of other live processes sharing the folder
 * (services/files/owners.ts).
 */
export const serveFolder = (options: ServeOptions) =>
  Effect.gen(function* () {
    const transport = yield* Transport
    const store = yield* FileStore
    yield* sweepAndLog(store.sweepTemporaries)
    yield* Effect.addFinalizer(() => Effect.ignore(sweepAndLog(store.sweepTemporaries)))
    // Interrupted before the sweep at stop (finalizers run last first).
    yield* Effect.forkScoped(sweepPeriodically(store))
    const config = yield* ServerConfig
    const admit = makeAdmission({ maxClients: config.maxClients, maxPerAddress: config.maxPerAddress })
    const access = options.access ?? { allowed: makeAccess(config.allow) }
    const trusted = addressMatcher(config.trustedProxies)
    const observer = options.observer
    observer?.attach({ connections: admit.held })
    // A function of its own, so that acceptProxied needs no observer (and gets none without one).
    const onRefused =
      observer === undefined
        ? undefined
        : (client: string, reason: RefusalReason, result: string) => observer.refused(client, reason, result)
    const context: OperationContext = {
      config,
      log: yield* makeOperationLog,
      clock: yield* Effect.clock,
      activity: options.activity ?? { active: 0, ended: 0, cut: 0 },
      observer
    }
    if (options.collect !== undefined) yield* Effect.forkScoped(collectWhenIdle(context.activity, options.collect))
    /** Refused: answered at once, where the first status is due, and closed. */
    const refuse = (connection: Connection, client: string, result: string, reason: RefusalReason) =>
      Effect.ignore(
        Effect.suspend(() => {
          observer?.refused(client, reason, result)
          return connection.write(encodeStatus(Status.Error))
        })
      ).pipe(Effect.zipRight(refusalLog(client, result, connection.certificate)), Effect.zipRight(connection.close))
    /** Who the client is (behind a balancer, the one its header names), then its operation. */
    const serveClient = (connection: Connection, wire: Wire<ClientEvent>, peer: Peer) =>
      // Who may connect is judged on the client's address: behind a balancer, the one its header named.
      access.allowed(peer.address)
        ? admit.fromAddress(peer.address)(handleConnection(peer, wire, context), () =>
            refuse(
              connection,
              peer.remote,
              `recusado: limite de ${config.maxPerAddress} por endereço`,
              "limite-por-endereco"
            )
          )
        : refuse(connection, peer.remote, "recusado: endereço fora de --permitir", "permitir")
    const handle = (connection: Connection) =>
      admit
        .place(
          Effect.suspend(() => {
            const wire = serverWire(connection, config, context.clock)
            if (!config.proxyProtocol) return serveClient(connection, wire, connection)
            return Effect.flatMap(
              acceptProxied(connection, wire, config, trusted, onRefused),
              Option.match({ onNone: () => Effect.void, onSome: (peer) => serveClient(connection, wire, peer) })
            )
          }),
          () =>
            refuse(
              connection,
              connection.remote,
              `recusado: limite de ${plural(config.maxClients, "conexão", "conexões")} ao mesmo tempo`,
              "limite-conexoes"
            )
        )
        .pipe(
          // A defect is a bug: logged, and it ends this connection alone.
          Effect.catchAllDefect((defect) => Effect.logError("falha interna numa conexão", defect))
        )
    // A silent client costs no fiber until its request deadline; then its handler fails it.
    const listen = (hostname: string) =>
      transport.serve(
        {
          hostname,
          port: options.port,
          graceMillis: options.graceMillis,
          firstBytesMillis: config.requestSeconds * 1000,
          tls: options.tls
        },
        handle
      )
    return yield* options.hostname !== undefined
      ? listen(options.hostname)
      : Effect.orElse(listen("::"), () => listen("0.0.0.0"))
  })

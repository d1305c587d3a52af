import { Cause, Effect, Exit, Layer, Logger, LogLevel, Option, type Scope, TestClock, TestContext } from "effect"
import { concat } from "../../src/domain/encode.ts"
import type { ConnectionFailure } from "../../src/domain/errors.ts"
import { ClientConfig } from "../../src/programs/client/config.ts"
import type { ClientServices } from "../../src/programs/client/context.ts"
import { ServerConfig, type ServerSettings, serverSettings } from "../../src/programs/server/config.ts"
import { serveFolder } from "../../src/programs/server/server.ts"
import { FileStore } from "../../src/services/FileStore.ts"
import {
  type MemoryFileStore,
  type MemoryFileStoreOptions,
  makeMemoryFileStore
} from "../../src/services/FileStoreMemory.ts"
import { type Hasher, HasherLive } from "../../src/services/Hasher.ts"
import {
  type LinkOptions,
  type MemoryLink,
  MemoryNetwork,
  makeMemoryTransport
} from "../../src/services/transport/MemoryTransport.ts"
import { type Connection, Transport, type TransportService } from "../../src/services/transport/Transport.ts"
import { runExit } from "./effect.ts"

/**
 * In-process program tests: the real server (`serveFolder`) and the real
 * client programs in one Effect, over the in-memory transport and file
 * stores, with a `TestClock`. Every deadline (the server's request and idle
 * deadlines, the client's connect and idle ones) is kept by the Clock, so a
 * test forks what would wait, moves the clock with `TestClock.adjust`, and
 * looks: nothing sleeps.
 */

export interface WorldOptions {
  /** The server's request and idle deadlines, and the client's; default 5 s. */
  readonly timeoutSeconds?: number
  /** The client's own timeout, when it differs from the server's. */
  readonly clientTimeoutSeconds?: number
  readonly settings?: Partial<ServerSettings>
  /** The server's files, by name. */
  readonly serverFiles?: Record<string, Uint8Array | string>
  readonly serverStore?: MemoryFileStoreOptions
  /** The client's local files, by name. */
  readonly clientFiles?: Record<string, Uint8Array | string>
  readonly clientStore?: MemoryFileStoreOptions
  /** Pipe options of every connection (segmentation, capacity). */
  readonly links?: LinkOptions
  /** Instead of the real server, a peer that plays this script on every connection. */
  readonly script?: Script
  readonly graceMillis?: number
}

export interface World {
  readonly network: MemoryNetwork
  readonly transport: TransportService
  readonly port: number
  /** The services of the world's server, to start another one on the same network (`serveFolder`). */
  readonly serverLayer: Layer.Layer<Transport | FileStore | Hasher | ServerConfig>
  /** The server's store (an empty one when a scripted peer stands in for the server). */
  readonly server: MemoryFileStore
  /** The client's store. */
  readonly local: MemoryFileStore
  /** Every line the server logged, in order. */
  readonly logs: Array<string>
  /** With a script: what each connection sent the scripted peer, in connection order. */
  readonly received: Array<Uint8Array>
  /** Runs a client program (in its own scope) against the server, and gives its exit. */
  readonly client: <A, E>(
    program: Effect.Effect<A, E, ClientServices>,
    options?: { readonly timeoutSeconds?: number; readonly port?: number }
  ) => Effect.Effect<Exit.Exit<A, E>>
  /** A raw connection to the server, for byte-exact exchanges; closed with the scope. */
  readonly connect: () => Effect.Effect<Connection, ConnectionFailure, Scope.Scope>
  /** The newest connection's link, to hold or reset it. */
  readonly lastLink: () => MemoryLink
  /** The server log lines that contain `text`. */
  readonly logged: (text: string) => ReadonlyArray<string>
}

/**
 * Runs `body` in a world of its own (a network, a server over an in-memory
 * folder, a client), under a TestClock; resolves with its value, or rejects
 * with its failure (an `expect` that threw inside is rethrown as it was).
 */
export const inMemory = async <A, E>(
  options: WorldOptions,
  body: (world: World) => Effect.Effect<A, E, Scope.Scope>
): Promise<A> => {
  const logs: Array<string> = []
  const capture = Logger.make(({ logLevel, message }) => {
    if (LogLevel.lessThan(logLevel, LogLevel.Info)) return
    logs.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
  })
  const program = Effect.gen(function* () {
    const network = new MemoryNetwork(options.links)
    // Made here, under the TestClock: the transport's watchdog keeps time by it.
    const transport = yield* makeMemoryTransport(network)
    const timeoutSeconds = options.timeoutSeconds ?? 5
    const settings: ServerSettings = serverSettings(timeoutSeconds, options.settings)
    const server = makeMemoryFileStore(options.serverFiles ?? {}, options.serverStore)
    const serverLayer = Layer.mergeAll(
      Layer.succeed(Transport, transport),
      Layer.succeed(FileStore, server),
      HasherLive,
      Layer.succeed(ServerConfig, settings)
    )
    const received: Array<Uint8Array> = []
    const port =
      options.script === undefined
        ? (yield* serveFolder({ hostname: "127.0.0.1", port: 0, graceMillis: options.graceMillis ?? 0 }).pipe(
            Effect.provide(serverLayer)
          )).port
        : (yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 0, firstBytesMillis: 0 },
            scripted(options.script, received, network)
          )).port
    const local = makeMemoryFileStore(options.clientFiles ?? {}, options.clientStore)
    const clientLayer = (seconds: number, to: number) =>
      Layer.mergeAll(
        Layer.succeed(Transport, transport),
        Layer.succeed(FileStore, local),
        HasherLive,
        Layer.succeed(ClientConfig, { host: "127.0.0.1", port: to, timeoutSeconds: seconds })
      )
    const world: World = {
      network,
      transport,
      port,
      serverLayer,
      server,
      local,
      logs,
      received,
      client: (clientProgram, clientOptions) =>
        clientProgram.pipe(
          Effect.scoped,
          Effect.provide(
            clientLayer(
              clientOptions?.timeoutSeconds ?? options.clientTimeoutSeconds ?? timeoutSeconds,
              clientOptions?.port ?? port
            )
          ),
          Effect.exit
        ),
      connect: () => transport.connect("127.0.0.1", port),
      lastLink: () => {
        const link = network.lastLink
        if (link === undefined) throw new Error("no connection was made")
        return link
      },
      logged: (text) => logs.filter((line) => line.includes(text))
    }
    return yield* body(world)
  })
  const exit = await Effect.runPromiseExit(
    program.pipe(
      Effect.scoped,
      Effect.provide(Layer.merge(Logger.replace(Logger.defaultLogger, capture), TestContext.TestContext))
    )
  )
  if (Exit.isSuccess(exit)) return exit.value
  // A failed `expect` is a defect here: rethrow the original error, so the test shows it plainly.
  throw Cause.squash(exit.cause)
}

/** Moves the TestClock; the deadlines that fall in between fire, in order. */
export const elapse = (millis: number) => TestClock.adjust(`${millis} millis`)

/**
 * Lets what is under way run until every fiber waits (a few turns of the
 * event loop, as `TestClock.adjust` does before it moves), without moving
 * the clock: for a look after an event that no fiber of the test awaits.
 */
export const settle = TestClock.adjust(0)

// ---------------------------------------------------------------------------
// One connection, both ends in the test's hands

/** Runs `effect` in a scope, without log output, under a TestClock; gives its exit. */
export const runVirtual = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<Exit.Exit<A, E>> =>
  runExit(Effect.provide(effect, TestContext.TestContext))

/** A server on a new network that hands each connection to the test, and a client connected to it. */
export const connectedPair = (options: LinkOptions = {}) =>
  Effect.gen(function* () {
    const network = new MemoryNetwork(options)
    const transport = yield* makeMemoryTransport(network)
    const accepted: Array<Connection> = []
    let wake: (() => void) | undefined
    const { port } = yield* transport.serve(
      { hostname: "127.0.0.1", port: 0, graceMillis: 0, firstBytesMillis: 0 },
      (connection) =>
        Effect.zipRight(
          Effect.sync(() => {
            accepted.push(connection)
            wake?.()
          }),
          Effect.never
        )
    )
    const client = yield* transport.connect("127.0.0.1", port)
    const server = yield* Effect.async<Connection>((resume) => {
      wake = () => resume(Effect.succeed(accepted[0]!))
      if (accepted.length > 0) wake()
    })
    return { network, transport, port, client, server, link: network.lastLink! }
  })

// ---------------------------------------------------------------------------
// Raw exchanges over a memory connection

/** Everything the peer sends until it closes its side. */
export const readAll = (connection: Connection): Effect.Effect<Uint8Array, ConnectionFailure> =>
  Effect.gen(function* () {
    const parts: Array<Uint8Array> = []
    for (;;) {
      const segment = yield* connection.read()
      if (Option.isNone(segment)) return concat(parts)
      parts.push(segment.value)
    }
  })

/** Exactly `count` bytes (fewer only if the peer closes first). */
export const readBytes = (connection: Connection, count: number): Effect.Effect<Uint8Array, ConnectionFailure> =>
  Effect.gen(function* () {
    const parts: Array<Uint8Array> = []
    let have = 0
    while (have < count) {
      const segment = yield* connection.read()
      if (Option.isNone(segment)) break
      parts.push(segment.value)
      have += segment.value.length
    }
    return concat(parts)
  })

/**
 * Sends `request` on a new connection and collects the whole reply until the
 * server closes; then closes, as a client does, and lets the server hear it
 * (a download's log line is written once the client's close arrives).
 */
export const exchange = (world: World, request: Uint8Array, options: { readonly halfClose?: boolean } = {}) =>
  Effect.tap(
    Effect.scoped(
      Effect.gen(function* () {
        const connection = yield* world.connect()
        if (request.length > 0) yield* connection.write(request)
        if (options.halfClose) world.lastLink().shutdownWrite("client")
        return yield* readAll(connection)
      })
    ),
    () => settle
  )

// ---------------------------------------------------------------------------
// A scripted peer standing in for a server

export type Step =
  | { readonly _tag: "Send"; readonly bytes: Uint8Array }
  /** Waits until the client has sent this many bytes in all. */
  | { readonly _tag: "Receive"; readonly total: number }

export const send = (...parts: ReadonlyArray<Uint8Array | string | number>): Step => ({
  _tag: "Send",
  bytes: concat(
    parts.map((part) =>
      typeof part === "string" ? new TextEncoder().encode(part) : typeof part === "number" ? Uint8Array.of(part) : part
    )
  )
})

export const receive = (total: number): Step => ({ _tag: "Receive", total })

export interface Script {
  /** What to answer once the client's first bytes have arrived. */
  readonly reply: ReadonlyArray<Step>
  /** Then: close (FIN), stay open and silent, or reset the connection. */
  readonly then: "close" | "stall" | "reset"
}

/**
 * A peer that plays `script` on every connection, recording what each one
 * received (every byte, also after the reply) in `received`.
 */
const scripted =
  (script: Script, received: Array<Uint8Array>, network: MemoryNetwork) =>
  (connection: Connection): Effect.Effect<void> =>
    Effect.scoped(
      Effect.gen(function* () {
        const index = received.push(new Uint8Array(0)) - 1
        const link = network.links.find((each) => `${each.clientAddress}:${each.clientPort}` === connection.remote)
        let wake: (() => void) | undefined
        const collect = Effect.gen(function* () {
          for (;;) {
            const segment = yield* connection.read()
            if (Option.isNone(segment)) return
            received[index] = concat([received[index]!, segment.value])
            wake?.()
          }
        })
        const until = (total: number) =>
          Effect.async<void>((resume) => {
            const check = () => {
              if (received[index]!.length >= total) {
                wake = undefined
                resume(Effect.void)
              }
            }
            wake = check
            check()
          })
        yield* Effect.forkScoped(Effect.ignore(collect))
        yield* until(1)
        for (const step of script.reply) {
          if (step._tag === "Receive") yield* until(step.total)
          else yield* Effect.ignore(connection.write(step.bytes))
        }
        if (script.then === "stall") return yield* Effect.never
        if (script.then === "reset" && link !== undefined) {
          // What was sent reaches the client first: the reset cuts what follows, not the reply.
          while (link.toClient.delivered() < link.toClient.written()) yield* Effect.yieldNow()
          link.reset()
        }
      })
    )

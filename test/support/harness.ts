import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Effect, Exit, Layer, Logger, Scope } from "effect"
import { ClientLive } from "../../src/programs/client/ClientLive.ts"
import type { ClientServices } from "../../src/programs/client/context.ts"
import { type ServerSettings, serverSettings } from "../../src/programs/server/config.ts"
import { ServerLive } from "../../src/programs/server/ServerLive.ts"
import { serveFolder } from "../../src/programs/server/server.ts"

/**
 * A real server on 127.0.0.1 with an ephemeral port over a fresh temporary
 * folder, plus a client folder, for end-to-end tests over loopback TCP.
 */

export type { ClientServices } from "../../src/programs/client/context.ts"

export interface TestServer {
  readonly port: number
  readonly serverDir: string
  readonly clientDir: string
  /** Every log line the server wrote, in order. */
  readonly logs: Array<string>
  /** Runs a client program against this server, from the client folder. */
  readonly client: <A, E>(
    program: Effect.Effect<A, E, ClientServices>,
    options?: { readonly timeoutSeconds?: number }
  ) => Promise<Exit.Exit<A, E>>
  readonly close: () => Promise<void>
}

export interface TestServerOptions {
  readonly timeoutSeconds?: number
  readonly maxMatches?: number
  readonly graceMillis?: number
  /** Overrides of the server's settings (limits, read-only, upload size). */
  readonly settings?: Partial<ServerSettings>
}

export const tempDir = (label: string) => mkdtemp(path.join(tmpdir(), `arquivos-${label}-`))

/** A logger that appends each log line to `logs` (and writes nothing). */
export const logInto = (logs: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => {
      logs.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
    })
  )

export const startServer = async (options: TestServerOptions = {}): Promise<TestServer> => {
  const serverDir = await tempDir("servidor")
  const clientDir = await tempDir("cliente")
  const logs: Array<string> = []
  const scope = Effect.runSync(Scope.make())
  const timeoutSeconds = options.timeoutSeconds ?? 5
  const settings = serverSettings(timeoutSeconds, {
    ...(options.maxMatches === undefined ? {} : { maxMatches: options.maxMatches }),
    ...options.settings
  })
  const listener = await Effect.runPromise(
    serveFolder({ hostname: "127.0.0.1", port: 0, graceMillis: options.graceMillis ?? 500 }).pipe(
      Scope.extend(scope),
      Effect.provide(ServerLive({ folder: serverDir, settings, logger: logInto(logs) }))
    )
  )
  return {
    port: listener.port,
    serverDir,
    clientDir,
    logs,
    client: (program, clientOptions = {}) =>
      Effect.runPromiseExit(
        program.pipe(
          Effect.scoped,
          Effect.provide(
            // The client folder is the test's own: failing to open it is a broken test, not a result.
            Layer.orDie(
              ClientLive({
                folder: clientDir,
                host: "127.0.0.1",
                port: listener.port,
                timeoutSeconds: clientOptions.timeoutSeconds ?? timeoutSeconds
              })
            )
          )
        )
      ),
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await rm(serverDir, { recursive: true, force: true })
      await rm(clientDir, { recursive: true, force: true })
    }
  }
}

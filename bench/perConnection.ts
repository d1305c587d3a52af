import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Scope from "effect/Scope"
import { SERVER_DEFAULTS, type ServerSettings } from "../src/programs/server/config.ts"
import { ServerLive } from "../src/programs/server/ServerLive.ts"
import { serveFolder } from "../src/programs/server/server.ts"

/**
 * `bun bench/perConnection.ts [N]`: what one small download costs the
 * server's own code, without sockets or a kernel in the way. The real server
 * (serveFolder over the live layers, the live transport's socket callbacks,
 * serving.ts, the handler, the log line) takes N connections from stand-in
 * sockets that hand over a whole op 10 request at once and take every byte
 * written; the file is read from disk as in production. Prints the CPU per
 * connection, and the bytes allocated per connection as JavaScriptCore's
 * collector counted them (the measure is re-run with BUN_JSC_logGC).
 *
 * For an A/B of a change on the per-connection path: stable where the full
 * benchmark's socket rounds are not (a loaded machine moves them by tens of
 * percent).
 */

const N = Number(process.argv[2] ?? 100_000)
const WARMUP = 20_000
const NAME = "pequeno.bin"

if (process.env.BUN_JSC_logGC === undefined && process.env.PER_CONNECTION_CHILD === undefined) {
  // The allocation count: the same run, with the collector telling how much each cycle allocated.
  const child = Bun.spawn([process.execPath, import.meta.path, String(N)], {
    env: { ...process.env, BUN_JSC_logGC: "1", PER_CONNECTION_CHILD: "1" },
    stdout: "ignore",
    stderr: "pipe"
  })
  const log = await new Response(child.stderr).text()
  await child.exited
  const allocated = [...log.matchAll(/bytes allocated this cycle: (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
  console.log(`${(allocated / (N + WARMUP)).toFixed(0)} bytes alocados por conexão (aquecimento incluído)`)
}

const folder = `${await Bun.$`mktemp -d`.text()}`.trim()
await Bun.write(`${folder}/${NAME}`, new Uint8Array(1024).fill(7))

// The listener is the stand-in: its socket callbacks are taken and called by hand.
let socketHandlers: Record<string, (...args: Array<unknown>) => void> | undefined
const realListen = Bun.listen
;(Bun as unknown as { listen: unknown }).listen = (options: { socket: typeof socketHandlers }) => {
  socketHandlers = options.socket
  return { hostname: "127.0.0.1", port: 1, stop() {} }
}
const settings: ServerSettings = { ...SERVER_DEFAULTS, requestSeconds: 30, idleSeconds: 30 }
const scope = Effect.runSync(Scope.make())
await Effect.runPromise(
  serveFolder({ hostname: "127.0.0.1", port: 0, graceMillis: 100 }).pipe(
    Scope.extend(scope),
    // The log line is formatted and handed to a logger, which drops it: its write is the system's cost, not ours.
    Effect.provide(
      ServerLive({
        folder,
        settings,
        logger: Logger.replace(
          Logger.defaultLogger,
          Logger.make(() => {})
        )
      })
    )
  )
)
;(Bun as unknown as { listen: unknown }).listen = realListen
const handlers = socketHandlers!

const name = new TextEncoder().encode(NAME)
const request = new Uint8Array(5 + name.length)
request[0] = 10
new DataView(request.buffer).setUint32(1, name.length)
request.set(name, 5)

let sent = 0
const connectOnce = () => {
  const socket: Record<string, unknown> = {
    data: undefined,
    readyState: 1,
    remoteAddress: "127.0.0.1",
    remotePort: 40_000,
    localPort: 1,
    localFamily: "IPv4",
    write: (bytes: Uint8Array, offset = 0, length = bytes.length - offset) => {
      sent += length
      return length
    },
    end: () => close(),
    shutdown: () => close(),
    terminate: () => close(),
    setNoDelay: () => {},
    pause: () => {},
    resume: () => {}
  }
  const close = () => {
    if (socket.readyState === -1) return
    socket.readyState = -1
    handlers.close!(socket)
  }
  handlers.open!(socket)
  handlers.data!(socket, request)
}
/** In turns of 32, as a loaded server takes them, with the event loop run in between. */
const run = async (count: number) => {
  for (let done = 0; done < count; done += 32) {
    for (let i = 0; i < Math.min(32, count - done); i++) connectOnce()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

await run(WARMUP)
const before = process.cpuUsage()
await run(N)
const cpu = process.cpuUsage(before)
if (sent !== (N + WARMUP) * 1029) throw new Error(`respostas incompletas: ${sent} bytes`)
if (process.env.PER_CONNECTION_CHILD === undefined) {
  console.log(`${((cpu.user + cpu.system) / N).toFixed(1)} µs de CPU por conexão (${N} conexões)`)
}
await Bun.$`rm -rf ${folder}`
process.exit(0)

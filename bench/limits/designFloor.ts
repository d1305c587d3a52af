import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import { answer, type Pending, requestedName } from "./opTen.ts"

/**
 * The floor of the design, for small operations: what any server built the
 * way this project must be built pays per op 10, with none of the rest of the
 * product. On top of rawServer.ts (the Bun limit) it adds only what the
 * issues require of every operation:
 * - one Effect program per connection, in its own fiber, started with
 *   `Runtime.runFork` when the request is already queued (#20);
 * - after the reply, FIN and a wait for the client's end before the
 *   operation counts as delivered (#21);
 * - one log line per operation, naming the client's address and port.
 * No jail, limits, deadlines, decoder or admission: the gap between this
 * server and ours is what our own code costs; the gap between it and the Bun
 * limit is what the design costs. Usage: bun bench/limits/designFloor.ts PORT FOLDER
 */

const port = Number(process.argv[2] ?? 0)
const folder = path.resolve(process.argv[3] ?? ".")

interface State extends Pending {
  /** The client's address and port, read when it connects (as ours does: two system calls). */
  peer: string
  ended: boolean
  onEnd: (() => void) | undefined
}

type Socket = import("bun").Socket<State>

/** The client's end, or at once when it already came. */
const peerEnd = (state: State) =>
  Effect.async<void>((resume) => {
    if (state.ended) return resume(Effect.void)
    state.onEnd = () => resume(Effect.void)
  })

/** One connection's program: reply, FIN, the client's end, the log line. */
const operation = (socket: Socket, name: string) =>
  Effect.flatMap(
    Effect.sync(() => {
      const reply = answer(folder, name)
      socket.write(reply)
      socket.shutdown()
      return reply.length
    }),
    (bytes) =>
      Effect.map(peerEnd(socket.data), () => {
        console.log(`${new Date().toISOString()} ${socket.data.peer} baixar ${name} ok ${bytes} bytes`)
        socket.end()
      })
  )

// As ours: the fibers keep no runtime metrics.
const runFork = Runtime.runFork(Runtime.disableRuntimeFlag(Runtime.defaultRuntime, RuntimeFlags.RuntimeMetrics))

const ended = (socket: Socket) => {
  const state = socket.data
  if (state.ended) return
  state.ended = true
  state.onEnd?.()
}

const server = Bun.listen<State>({
  hostname: "127.0.0.1",
  port,
  allowHalfOpen: true,
  socket: {
    open(socket) {
      socket.data = {
        pending: new Uint8Array(0),
        peer: `${socket.remoteAddress}:${socket.remotePort}`,
        ended: false,
        onEnd: undefined
      }
    },
    data(socket, bytes) {
      const name = requestedName(socket.data, bytes)
      if (name !== undefined) runFork(operation(socket, name))
    },
    end: ended,
    error() {},
    close: ended
  }
})
console.log(`design floor listening on ${server.port}`)

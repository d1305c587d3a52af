import * as path from "node:path"
import { answer, type Pending, requestedName } from "./opTen.ts"

/**
 * The Bun limit for small operations: a minimal server for op 10 on
 * `Bun.listen`, with none of the product's machinery (no jail, no limits, no
 * deadlines, no log, no Effect). It reads the request, opens the file with
 * synchronous calls, answers status, size and data in one write, and closes.
 * `bun run bench` measures it beside this project's server, as iperf3 is the
 * limit row for big transfers. Usage: bun bench/limits/rawServer.ts PORT FOLDER
 */

const port = Number(process.argv[2] ?? 0)
const folder = path.resolve(process.argv[3] ?? ".")

const server = Bun.listen<Pending>({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(socket) {
      socket.data = { pending: new Uint8Array(0) }
    },
    data(socket, bytes) {
      const name = requestedName(socket.data, bytes)
      if (name !== undefined) socket.end(answer(folder, name))
    },
    error() {},
    close() {}
  }
})
console.log(`raw listening on ${server.port}`)

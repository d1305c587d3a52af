import { closeSync, fstatSync, openSync, readSync } from "node:fs"
import * as path from "node:path"

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

interface State {
  pending: Uint8Array
}

const answer = (name: string): Uint8Array => {
  let fd: number | undefined
  try {
    fd = openSync(path.join(folder, name), "r")
    const size = fstatSync(fd).size
    const out = new Uint8Array(5 + size)
    out[0] = 0
    new DataView(out.buffer).setUint32(1, size)
    let at = 0
    while (at < size) {
      const got = readSync(fd, out, 5 + at, size - at, at)
      if (got === 0) break
      at += got
    }
    return out
  } catch {
    return Uint8Array.of(1)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

const server = Bun.listen<State>({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(socket) {
      socket.data = { pending: new Uint8Array(0) }
    },
    data(socket, bytes) {
      const state = socket.data
      const all = state.pending.length === 0 ? bytes : Buffer.concat([state.pending, bytes])
      if (all.length < 5) {
        state.pending = all
        return
      }
      const length = new DataView(all.buffer, all.byteOffset).getUint32(1)
      if (all[0] !== 10 || all.length < 5 + length) {
        state.pending = all
        return
      }
      const name = new TextDecoder().decode(all.subarray(5, 5 + length))
      socket.end(answer(name))
    },
    error() {},
    close() {}
  }
})
console.log(`raw listening on ${server.port}`)

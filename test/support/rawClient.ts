import * as net from "node:net"

/** A connection held open (for per-address limits): resolves once connected, with what it received so far. */
export const holdOpen = (port: number, first: Uint8Array, localAddress?: string) =>
  new Promise<{ readonly socket: net.Socket; readonly received: () => Uint8Array; readonly closed: () => boolean }>(
    (resolve, reject) => {
      const chunks: Array<Buffer> = []
      let closed = false
      const socket = net.connect({ host: "127.0.0.1", port, ...(localAddress !== undefined ? { localAddress } : {}) })
      socket.on("data", (chunk: Buffer) => chunks.push(chunk))
      socket.on("error", () => {})
      socket.on("close", () => (closed = true))
      socket.once("error", reject)
      socket.once("connect", () => {
        socket.write(first)
        resolve({ socket, received: () => new Uint8Array(Buffer.concat(chunks)), closed: () => closed })
      })
    }
  )

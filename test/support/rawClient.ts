import * as net from "node:net"

/**
 * A raw client for exchanges through a balancer or with a PROXY header: binds
 * to a chosen loopback address, sends bytes (in paced pieces if asked),
 * collects everything until the peer closes, and reports whether it had to
 * give up. Bounded: after `limitMillis` the socket is destroyed.
 */
export interface RawReply {
  readonly reply: Uint8Array
  readonly timedOut: boolean
  readonly millis: number
}

export interface RawClientOptions {
  readonly host?: string
  readonly localAddress?: string
  readonly pieces?: ReadonlyArray<Uint8Array>
  readonly pauseMillis?: number
  readonly limitMillis?: number
}

export const rawSend = (port: number, bytes: Uint8Array, options: RawClientOptions = {}): Promise<RawReply> =>
  new Promise((resolve) => {
    const began = performance.now()
    const received: Array<Buffer> = []
    let timedOut = false
    const socket = net.connect({
      host: options.host ?? "127.0.0.1",
      port,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {})
    })
    const timer = setTimeout(() => {
      timedOut = true
      socket.destroy()
    }, options.limitMillis ?? 10_000)
    socket.on("data", (chunk: Buffer) => received.push(chunk))
    socket.on("error", () => {})
    socket.on("close", () => {
      clearTimeout(timer)
      resolve({ reply: new Uint8Array(Buffer.concat(received)), timedOut, millis: performance.now() - began })
    })
    socket.on("connect", async () => {
      for (const piece of options.pieces ?? [bytes]) {
        if (socket.destroyed) return
        socket.write(piece)
        if (options.pauseMillis) await new Promise((wake) => setTimeout(wake, options.pauseMillis))
      }
    })
  })

/** `bytes` cut into pieces of `size`. */
export const piecesOf = (bytes: Uint8Array, size: number): ReadonlyArray<Uint8Array> =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))

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

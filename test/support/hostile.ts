import { readdir } from "node:fs/promises"
import * as net from "node:net"
import { Effect, type Exit, Layer } from "effect"
import { ClientLive } from "../../src/programs/client/ClientLive.ts"
import { type ClientServices, startServer, type TestServer, type TestServerOptions } from "./harness.ts"
import { eventually, guard } from "./waiting.ts"

/**
 * Helpers for the end-to-end tests that go beyond the harness: a scripted
 * misbehaving server, a client runner over any folder and port, a raw socket
 * with exact reads, and small utilities (seeded bytes, folder trees, polling).
 */

// ---------------------------------------------------------------------------
// Small utilities

/** Polls `check` until it holds or `limitMillis` passes (see waiting.ts). */
export const waitFor = (check: () => boolean | Promise<boolean>, limitMillis = 2_000): Promise<boolean> =>
  eventually(check, { millis: limitMillis })

export { seededBytes } from "./bytes.ts"

/** Every entry under `dir`, recursively, hidden ones included, as sorted relative paths. */
export const tree = async (dir: string): Promise<ReadonlyArray<string>> =>
  (await readdir(dir, { recursive: true })).map(String).sort()

/** A u32 in big-endian. */
export const be32 = (value: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value, false)
  return out
}

export const bytesOf = (...parts: ReadonlyArray<Uint8Array | string | number>): Uint8Array => {
  const pieces = parts.map((part) =>
    typeof part === "string" ? new TextEncoder().encode(part) : typeof part === "number" ? Uint8Array.of(part) : part
  )
  return new Uint8Array(Buffer.concat(pieces))
}

/** A length-prefixed UTF-8 string, as names travel on the wire. */
export const named = (text: string): Uint8Array => {
  const bytes = new TextEncoder().encode(text)
  return bytesOf(be32(bytes.length), bytes)
}

export const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

// ---------------------------------------------------------------------------
// Servers and clients

/** Starts a real server, runs `body`, and always closes the server. */
export const withServer = async (body: (server: TestServer) => Promise<void>, options?: TestServerOptions) => {
  const server = await startServer(options)
  try {
    await body(server)
  } finally {
    await server.close()
  }
}

export type ClientRunner = <A, E>(program: Effect.Effect<A, E, ClientServices>) => Promise<Exit.Exit<A, E>>

/** A client over `folder` talking to 127.0.0.1:`port`: the client's own composition root. */
export const clientFor = async (port: number, folder: string, timeoutSeconds = 5): Promise<ClientRunner> => {
  // The folder is the test's own: failing to open it is a broken test, not a result.
  const layer = Layer.orDie(ClientLive({ folder, host: "127.0.0.1", port, timeoutSeconds }))
  return (program) => Effect.runPromiseExit(program.pipe(Effect.scoped, Effect.provide(layer)))
}

// ---------------------------------------------------------------------------
// The scripted misbehaving server

export type Step =
  | { readonly _tag: "Send"; readonly bytes: Uint8Array }
  | { readonly _tag: "Pause"; readonly millis: number }

export const send = (...parts: ReadonlyArray<Uint8Array | string | number>): Step => ({
  _tag: "Send",
  bytes: bytesOf(...parts)
})
export const pause = (millis: number): Step => ({ _tag: "Pause", millis })

export interface HostileScript {
  /** What to answer, once the client's first bytes have arrived. */
  readonly reply: ReadonlyArray<Step>
  /** After the reply: close gracefully (FIN), or keep the connection open and silent. */
  readonly then: "close" | "stall"
}

export interface HostileServer {
  readonly port: number
  /** The bytes each connection sent, in connection order. */
  readonly received: Array<Uint8Array>
  /** Stops listening and destroys every connection still open. */
  readonly close: () => Promise<void>
}

const writeAsync = (socket: net.Socket, bytes: Uint8Array) =>
  new Promise<void>((resolve) => {
    if (socket.destroyed) return resolve()
    socket.write(bytes, () => resolve())
  })

/** A server on 127.0.0.1 that plays the same byte script on every connection. */
export const startHostile = async (script: HostileScript): Promise<HostileServer> => {
  const sockets = new Set<net.Socket>()
  const received: Array<Uint8Array> = []
  const play = async (socket: net.Socket) => {
    for (const step of script.reply) {
      if (socket.destroyed) return
      if (step._tag === "Send") await writeAsync(socket, step.bytes)
      else await Bun.sleep(step.millis)
    }
    if (script.then === "close" && !socket.destroyed) socket.end()
  }
  const server = net.createServer((socket) => {
    sockets.add(socket)
    const index = received.push(new Uint8Array(0)) - 1
    let started = false
    socket.on("error", () => {})
    socket.on("close", () => sockets.delete(socket))
    socket.on("data", (chunk: Buffer) => {
      received[index] = bytesOf(received[index]!, new Uint8Array(chunk))
      if (!started) {
        started = true
        void play(socket)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

// ---------------------------------------------------------------------------
// A raw client socket with exact reads

export interface RawSocket {
  readonly write: (bytes: Uint8Array) => Promise<void>
  /** Resolves with exactly `n` bytes, or rejects after `limitMillis` or when the peer closes first. */
  readonly read: (n: number, limitMillis?: number) => Promise<Uint8Array>
  /** Bytes received and not yet read. */
  readonly buffered: () => number
  readonly isClosed: () => boolean
  /** Abrupt close (no graceful shutdown): the peer sees the connection drop. */
  readonly destroy: () => void
}

export const openRaw = (port: number): Promise<RawSocket> =>
  new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0)
    let closed = false
    let wake: (() => void) | undefined
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      wake?.()
    })
    socket.on("error", () => {})
    socket.on("close", () => {
      closed = true
      wake?.()
    })
    socket.once("connect", () =>
      resolve({
        write: (bytes) => writeAsync(socket, bytes),
        read: (n, limitMillis = 3_000) =>
          new Promise((resolveRead, rejectRead) => {
            const cancel = guard(limitMillis, () => {
              wake = undefined
              rejectRead(new Error(`raw read: wanted ${n} bytes, have ${buffer.length} after ${limitMillis} ms`))
            })
            const attempt = () => {
              if (buffer.length >= n) {
                const out = new Uint8Array(buffer.subarray(0, n))
                buffer = buffer.subarray(n)
                cancel()
                wake = undefined
                resolveRead(out)
              } else if (closed) {
                cancel()
                wake = undefined
                rejectRead(new Error(`raw read: wanted ${n} bytes, the peer closed after ${buffer.length}`))
              }
            }
            wake = attempt
            attempt()
          }),
        buffered: () => buffer.length,
        isClosed: () => closed,
        destroy: () => socket.destroy()
      })
    )
    socket.once("error", reject)
  })

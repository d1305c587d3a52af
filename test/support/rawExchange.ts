import * as net from "node:net"
import { guard } from "./waiting.ts"

/**
 * The one raw exchange of the tests: connects to a loopback server (from a
 * chosen local address, if asked), sends the request (in pieces, paced, if
 * asked), optionally half-closes, and collects every byte until the server
 * closes. Bounded: after `limitMillis` the socket is destroyed, and the
 * result says so.
 */

export interface RawExchangeOptions {
  readonly host?: string
  readonly localAddress?: string
  /** The request in these pieces, one write each (default: one write of the request). */
  readonly pieces?: ReadonlyArray<Uint8Array>
  /** Or cut into pieces of this many bytes. */
  readonly pieceBytes?: number
  /** A pause between pieces, so each leaves as its own segment. */
  readonly pauseMillis?: number
  /** FIN after the request (as `shutdown(SHUT_WR)` or `nc -N`); the reply is still read whole. Default false. */
  readonly halfClose?: boolean
  /** Give up after this long (default 10 s). */
  readonly limitMillis?: number
  /** Stop reading (and close) once this many bytes have arrived. */
  readonly maxBytes?: number
}

export interface RawReply {
  readonly reply: Uint8Array
  /** The server had not closed when the limit passed. */
  readonly timedOut: boolean
  readonly millis: number
  /** The code of the socket's error (ECONNREFUSED, ECONNRESET...), when it had one. */
  readonly error?: string | undefined
}

/** `bytes` cut into pieces of `size`. */
export const piecesOf = (bytes: Uint8Array, size: number): ReadonlyArray<Uint8Array> =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size))

export const rawExchange = (port: number, request: Uint8Array, options: RawExchangeOptions = {}): Promise<RawReply> =>
  new Promise((resolve) => {
    const began = performance.now()
    const received: Array<Buffer> = []
    let timedOut = false
    const socket = net.connect({
      host: options.host ?? "127.0.0.1",
      port,
      allowHalfOpen: true,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {})
    })
    const cancel = guard(options.limitMillis ?? 10_000, () => {
      timedOut = true
      socket.destroy()
    })
    let size = 0
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk)
      size += chunk.length
      if (size >= (options.maxBytes ?? Number.POSITIVE_INFINITY)) socket.destroy()
    })
    socket.on("end", () => socket.end())
    let error: string | undefined
    socket.on("error", (cause: Error & { code?: string }) => {
      error ??= cause.code ?? cause.message
    })
    socket.on("close", () => {
      cancel()
      resolve({ reply: new Uint8Array(Buffer.concat(received)), timedOut, millis: performance.now() - began, error })
    })
    socket.on("connect", async () => {
      socket.setNoDelay(true)
      const pieces =
        options.pieces ?? (options.pieceBytes !== undefined ? piecesOf(request, options.pieceBytes) : [request])
      for (const [index, piece] of pieces.entries()) {
        if (socket.destroyed) return
        socket.write(piece)
        if (options.pauseMillis && index < pieces.length - 1) await Bun.sleep(options.pauseMillis)
      }
      if (options.halfClose && !socket.destroyed) socket.end()
    })
  })

import type { Socket, TCPSocketListener } from "bun"
import * as Either from "effect/Either"
import { Decoder } from "../../domain/decoder.ts"
import { concat } from "../../domain/encode.ts"
import type { ClientEvent, Request } from "../../domain/messages.ts"
import { clientStream } from "../../domain/operations.ts"

/**
 * The judge's own scripted server: raw TCP on Bun sockets, one listener per
 * scenario. Each connection decodes what the client sends with the
 * protocol's own grammar (src/domain), keeps the raw bytes for the report,
 * and lets the scenario's script answer byte by byte, in segments, late or
 * never.
 */

export class ScriptedConnection {
  private readonly chunks: Array<Uint8Array> = []
  private readonly decoder = new Decoder<ClientEvent>(clientStream())
  readonly events: Array<ClientEvent> = []
  /** Why the request broke the grammar, when it did. */
  problem: string | undefined
  closed = false
  private waiters: Array<() => void> = []
  private unsent: Uint8Array = new Uint8Array(0)
  private drained: Array<() => void> = []

  constructor(readonly socket: Socket<undefined>) {}

  /** Every byte the client sent on this connection. */
  get raw(): Uint8Array {
    return concat(this.chunks)
  }

  get request(): Request | undefined {
    for (const event of this.events) if (event._tag === "Request") return event.request
    return undefined
  }

  received(bytes: Uint8Array) {
    this.chunks.push(bytes)
    // Past the end of the request, bytes are only kept in `raw`.
    if (this.problem === undefined && !this.decoder.isDone) {
      const fed = this.decoder.feed(bytes)
      if (Either.isLeft(fed)) this.problem = fed.left.detail
      else this.events.push(...fed.right)
    }
    this.wake()
  }

  ended() {
    this.closed = true
    this.wake()
    for (const resolve of this.drained.splice(0)) resolve()
  }

  /** Wakes whoever waits (the client ended its side: its request may now be known to be cut). */
  wake() {
    for (const waiter of this.waiters.splice(0)) waiter()
  }

  /** Waits until `ready()` holds, the client closes, or `millis` pass; says whether it holds. */
  async until(ready: () => boolean, millis: number): Promise<boolean> {
    const deadline = Date.now() + millis
    while (!ready() && !this.closed && this.problem === undefined && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, deadline - Date.now()))
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.waiters.push(done)
      })
    }
    return ready()
  }

  /** The request (its header: for op 30, the name), or undefined when it never came whole. */
  async waitRequest(millis: number): Promise<Request | undefined> {
    await this.until(() => this.request !== undefined, millis)
    return this.request
  }

  /** op 30: waits for the whole body (size, data, end). */
  async waitUploadEnd(millis: number): Promise<boolean> {
    return this.until(() => this.events.some((event) => event._tag === "End"), millis)
  }

  /** Writes everything, waiting for the socket to take it (Bun's write takes what fits). */
  async send(bytes: Uint8Array): Promise<void> {
    if (this.closed || bytes.length === 0) return
    const taken = this.socket.write(bytes)
    if (taken >= bytes.length) return
    this.unsent = bytes.subarray(Math.max(0, taken))
    await new Promise<void>((resolve) => this.drained.push(resolve))
  }

  drain() {
    while (this.unsent.length > 0 && !this.closed) {
      const taken = this.socket.write(this.unsent)
      if (taken <= 0) return
      this.unsent = this.unsent.subarray(taken)
    }
    for (const resolve of this.drained.splice(0)) resolve()
  }

  /** Sends `bytes` a few at a time, with a pause between writes, so they arrive in tiny segments. */
  async sendInPieces(bytes: Uint8Array, size: number, pauseMillis: number): Promise<void> {
    for (let at = 0; at < bytes.length && !this.closed; at += size) {
      await this.send(bytes.subarray(at, at + size))
      await Bun.sleep(pauseMillis)
    }
  }

  /** Ends the reply: FIN after everything written. */
  end() {
    if (!this.closed) this.socket.end()
  }
}

export interface ScriptedServer {
  readonly host: string
  readonly port: number
  readonly connections: ReadonlyArray<ScriptedConnection>
  stop(): void
}

/**
 * Listens on loopback; `script` answers each connection (errors inside it
 * only end that connection). With `tls` (PEM text), the protocol goes inside
 * TLS: each connection is handed to its script once its handshake is done.
 */
export const listen = (
  script: (connection: ScriptedConnection) => Promise<void>,
  tls?: { readonly certificate: string; readonly key: string }
): ScriptedServer => {
  const connections: Array<ScriptedConnection> = []
  const of = new WeakMap<Socket<undefined>, ScriptedConnection>()
  const listener: TCPSocketListener<undefined> = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    ...(tls === undefined ? {} : { tls: { cert: tls.certificate, key: tls.key } }),
    socket: {
      open(socket) {
        socket.setNoDelay(true)
        const connection = new ScriptedConnection(socket)
        of.set(socket, connection)
        connections.push(connection)
        script(connection)
          .catch(() => undefined)
          .finally(() => connection.end())
      },
      data(socket, data) {
        of.get(socket)?.received(new Uint8Array(data))
      },
      drain(socket) {
        of.get(socket)?.drain()
      },
      close(socket) {
        of.get(socket)?.ended()
      },
      error(socket) {
        of.get(socket)?.ended()
      },
      end(socket) {
        // The client's FIN: nothing more will come; the reply may still go out.
        of.get(socket)?.wake()
      }
    }
  })
  return {
    host: "127.0.0.1",
    port: listener.port,
    connections,
    stop: () => {
      listener.stop(true)
      for (const connection of connections) connection.ended()
    }
  }
}

import * as net from "node:net"
import * as tls from "node:tls"

/**
 * One raw TCP connection to the server under test, seen byte by byte: what it
 * sent, whether it closed (FIN) or reset, and waits that are always bounded.
 * The checker trusts nothing about the server, so every read takes a deadline.
 */

export class ConnectError extends Error {}

export type Ending = "open" | "closed" | "reset"

/** `--tls`: the server under test speaks the protocol inside TLS; its certificate is checked against `ca` (PEM) or the system's CAs. */
export interface ProbeTls {
  readonly ca?: string | undefined
  /** A client certificate and key (PEM), for a server that asks for one. */
  readonly certificate?: string | undefined
  readonly key?: string | undefined
}

export interface ReadResult {
  /** The bytes asked for, or fewer when the connection ended or time ran out. */
  readonly bytes: Uint8Array
  readonly complete: boolean
  readonly ending: Ending
}

/** Why a TLS connection to the server under test failed, in Portuguese (the system's own words are English). */
const tlsProblem = (error: Error & { code?: string }): string => {
  const text = `${error.code ?? ""} ${error.message}`
  return /CERT|SELF_SIGNED|ALTNAME|ISSUER|VERIFY|EXPIRED/i.test(text)
    ? "o certificado do servidor não foi aceito (é de outra CA? use --tls-ca; venceu? vale para esse nome?)"
    : /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA)/i.test(text)
      ? "o servidor exige um certificado de cliente que ele aceite (--tls-certificado e --tls-chave)"
      : "o handshake TLS não se completou (o servidor usa TLS nessa porta?)"
}

export class Probe {
  private readonly chunks: Array<Buffer> = []
  private buffered = 0
  /** Total bytes received since the connection opened. */
  received = 0
  ending: Ending = "open"
  private waiters: Array<() => void> = []

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (data: Buffer) => {
      this.chunks.push(data)
      this.buffered += data.length
      this.received += data.length
      this.wake()
    })
    socket.on("end", () => {
      if (this.ending === "open") this.ending = "closed"
      this.wake()
    })
    socket.on("error", () => {
      if (this.ending === "open") this.ending = "reset"
      this.wake()
    })
    socket.on("close", () => {
      if (this.ending === "open") this.ending = "closed"
      this.wake()
    })
  }

  static open(host: string, port: number, millis: number, secure?: ProbeTls): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const socket =
        secure === undefined
          ? net.connect({ host, port })
          : tls.connect({
              host,
              port,
              // A name, not an IP literal, goes in SNI; both are checked against the certificate.
              ...(net.isIP(host) === 0 ? { servername: host } : {}),
              rejectUnauthorized: true,
              minVersion: "TLSv1.2",
              ...(secure.ca === undefined ? {} : { ca: secure.ca }),
              ...(secure.certificate === undefined ? {} : { cert: secure.certificate }),
              ...(secure.key === undefined ? {} : { key: secure.key })
            })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new ConnectError(`sem conexão com ${host}:${port} em ${millis} ms`))
      }, millis)
      socket.once(secure === undefined ? "connect" : "secureConnect", () => {
        clearTimeout(timer)
        socket.removeAllListeners("error")
        resolve(new Probe(socket))
      })
      socket.once("error", (error) => {
        clearTimeout(timer)
        socket.destroy()
        reject(
          new ConnectError(
            `não foi possível conectar a ${host}:${port}: ${secure === undefined ? error.message : tlsProblem(error)}`
          )
        )
      })
    })
  }

  private wake() {
    for (const waiter of this.waiters.splice(0)) waiter()
  }

  /** Resolves on the next event (data, end, error) or after `millis`. */
  private next(millis: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, millis))
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.waiters.push(done)
    })
  }

  /** Writes everything, waiting for drain; false when the connection is already gone. */
  async write(bytes: Uint8Array, millis = 10_000): Promise<boolean> {
    if (this.ending !== "open" || this.socket.destroyed || !this.socket.writable) return false
    try {
      const flushed = this.socket.write(bytes)
      if (!flushed) {
        const deadline = Date.now() + millis
        while (this.socket.writableLength > 0 && this.ending === "open" && Date.now() < deadline) {
          await Promise.race([new Promise((r) => this.socket.once("drain", r)), this.next(deadline - Date.now())])
        }
      }
      return this.ending === "open"
    } catch {
      return false
    }
  }

  private takeBuffered(n: number): Uint8Array {
    const all = Buffer.concat(this.chunks)
    this.chunks.length = 0
    const out = all.subarray(0, n)
    const rest = all.subarray(n)
    if (rest.length > 0) this.chunks.push(rest)
    this.buffered = rest.length
    return new Uint8Array(out)
  }

  /** Exactly `n` bytes, or what arrived before the connection ended or `millis` passed. */
  async read(n: number, millis: number): Promise<ReadResult> {
    const deadline = Date.now() + millis
    while (this.buffered < n && this.ending === "open" && Date.now() < deadline) {
      await this.next(deadline - Date.now())
    }
    const bytes = this.takeBuffered(Math.min(n, this.buffered))
    return { bytes, complete: bytes.length === n, ending: this.ending }
  }

  /** Everything until the connection ends (or `millis` passes), at most `limit` bytes kept. */
  async readToEnd(millis: number, limit = 64 * 1024 * 1024): Promise<ReadResult> {
    const deadline = Date.now() + millis
    while (this.ending === "open" && Date.now() < deadline && this.buffered <= limit) {
      await this.next(deadline - Date.now())
    }
    const bytes = this.takeBuffered(Math.min(limit, this.buffered))
    return { bytes, complete: this.ending !== "open", ending: this.ending }
  }

  /** Waits until the connection ends; the bytes that arrived meanwhile are kept for `read`. */
  async waitEnd(millis: number): Promise<Ending> {
    const deadline = Date.now() + millis
    while (this.ending === "open" && Date.now() < deadline) await this.next(deadline - Date.now())
    return this.ending
  }

  get pending(): number {
    return this.buffered
  }

  /** Stops reading from the kernel (the server's writes then stall). */
  pause() {
    this.socket.pause()
  }

  resume() {
    this.socket.resume()
  }

  /** Ends our sending side (FIN) but keeps reading. */
  end() {
    try {
      this.socket.end()
    } catch {
      // already gone
    }
  }

  /** Drops the connection at once (RST when bytes are unread). */
  destroy() {
    this.socket.resetAndDestroy?.() ?? this.socket.destroy()
    if (this.ending === "open") this.ending = "closed"
  }
}

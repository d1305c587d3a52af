import * as path from "node:path"
import { PYTHON } from "./peers.ts"
import { capture } from "./system.ts"

/**
 * Load generators. Our server and nginx get the same one: a few lines of Bun
 * that open a new TCP connection per request (`Bun.connect`), send the
 * request, read until the server closes and check the answer, with a fixed
 * number in flight. FTP needs a control and a data connection per file, so
 * pyftpdlib gets Python's ftplib in threads instead.
 */

/** Why a request failed: no connection, the socket failed, or an answer that is not the expected one. */
export type LoadFailure = "connect" | "socket" | "answer"

export interface LoadResult {
  readonly seconds: number
  readonly ops: number
  readonly errors: number
  /** The failures by kind (the socket generator tells them apart; the FTP one does not). */
  readonly failures?: Readonly<Record<LoadFailure, number>>
  readonly bytes: number
  readonly p50Millis: number
  readonly p99Millis: number
}

/** Fails a repetition with any failed request: how many, of what kind. */
export const checkLoad = (result: LoadResult, what: string): void => {
  if (result.errors === 0) return
  const kinds = result.failures
  const why =
    kinds === undefined
      ? ""
      : ` (ao conectar: ${kinds.connect}; erro no socket: ${kinds.socket}; resposta errada: ${kinds.answer})`
  throw new Error(`${result.errors} de ${result.ops} ${what} falharam${why}`)
}

export interface SocketLoad {
  readonly port: number
  /** Sent as soon as the connection opens. */
  readonly request: Uint8Array
  readonly total: number
  readonly concurrency: number
  /** Whether an answer (its first bytes, and its whole length) is the expected one. */
  readonly accept: (head: Uint8Array, length: number) => boolean
  /** Over TLS: the CA (PEM text) the server's certificate is checked with; the request goes once the handshake is done. */
  readonly tlsCa?: string | undefined
}

const HEAD_BYTES = 32

/** One request on a fresh connection; resolves with the bytes received, or why it failed. */
const once = (load: SocketLoad): Promise<number | LoadFailure> =>
  new Promise((resolve) => {
    let head = new Uint8Array(0)
    let length = 0
    let settled = false
    const finish = (outcome: number | LoadFailure) => {
      if (settled) return
      settled = true
      resolve(outcome)
    }
    Bun.connect({
      hostname: "127.0.0.1",
      port: load.port,
      // Without a handshake handler, Bun calls open once the handshake is done.
      ...(load.tlsCa === undefined
        ? {}
        : { tls: { ca: load.tlsCa, serverName: "127.0.0.1", rejectUnauthorized: true } }),
      socket: {
        open(socket) {
          socket.write(load.request)
        },
        data(_socket, bytes) {
          if (head.length < HEAD_BYTES) {
            const grown = new Uint8Array(Math.min(HEAD_BYTES, head.length + bytes.length))
            grown.set(head)
            grown.set(bytes.subarray(0, grown.length - head.length), head.length)
            head = grown
          }
          length += bytes.length
        },
        end(socket) {
          socket.end()
        },
        close() {
          finish(load.accept(head, length) ? length : "answer")
        },
        error() {
          finish("socket")
        },
        connectError() {
          finish("connect")
        }
      }
    }).catch(() => finish("connect"))
  })

const percentile = (sorted: ArrayLike<number>, p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

/** Runs `total` requests, `concurrency` at a time, and times the whole batch. */
export const runSocketLoad = async (load: SocketLoad): Promise<LoadResult> => {
  const latencies = new Float64Array(load.total)
  let next = 0
  let errors = 0
  let bytes = 0
  const failures: Record<LoadFailure, number> = { connect: 0, socket: 0, answer: 0 }
  const worker = async () => {
    while (next < load.total) {
      const index = next++
      const started = performance.now()
      const received = await once(load)
      latencies[index] = performance.now() - started
      if (typeof received === "number") bytes += received
      else {
        errors++
        failures[received]++
      }
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: Math.min(load.concurrency, load.total) }, worker))
  const seconds = (performance.now() - started) / 1000
  latencies.sort()
  return {
    seconds,
    ops: load.total,
    errors,
    failures,
    bytes,
    p50Millis: percentile(latencies, 0.5),
    p99Millis: percentile(latencies, 0.99)
  }
}

/** op 10 of PROTOCOL.md, encoded here by hand: 0x0A, u32 big-endian name length, the name. */
export const ourDownloadRequest = (name: string): Uint8Array => {
  const encoded = new TextEncoder().encode(name)
  const request = new Uint8Array(5 + encoded.length)
  request[0] = 0x0a
  new DataView(request.buffer).setUint32(1, encoded.length)
  request.set(encoded, 5)
  return request
}

/** Status 0x00, the u32 size, then exactly `size` bytes. */
export const acceptOurDownload = (size: number) => (head: Uint8Array, length: number) =>
  head[0] === 0x00 &&
  head.length >= 5 &&
  new DataView(head.buffer, head.byteOffset).getUint32(1) === size &&
  length === 5 + size

/** HTTP/1.0, so that nginx closes the connection after the answer (one connection per request). */
export const httpGetRequest = (name: string): Uint8Array =>
  new TextEncoder().encode(`GET /${name} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`)

/** A 200 status line and at least the body's size. */
export const acceptHttpDownload = (size: number) => (head: Uint8Array, length: number) =>
  new TextDecoder().decode(head).startsWith("HTTP/1.1 200") && length > size

const FTP_LOAD = `import ftplib, json, sys, threading, time

port, name, total, concurrency, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
lock = threading.Lock()
state = {"next": 0, "errors": 0, "bytes": 0}
latencies = []

def take():
    with lock:
        if state["next"] >= total:
            return False
        state["next"] += 1
        return True

def worker():
    while take():
        started = time.perf_counter()
        received = 0
        try:
            # One control connection per file: connect, anonymous login, RETR, QUIT.
            ftp = ftplib.FTP()
            ftp.connect("127.0.0.1", port, timeout=60)
            ftp.login()
            chunks = []
            ftp.retrbinary("RETR " + name, chunks.append)
            ftp.quit()
            received = sum(len(c) for c in chunks)
            ok = received == size
        except Exception:
            ok = False
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            if ok:
                state["bytes"] += received
            else:
                state["errors"] += 1

started = time.perf_counter()
threads = [threading.Thread(target=worker) for _ in range(min(concurrency, total))]
for t in threads:
    t.start()
for t in threads:
    t.join()
seconds = time.perf_counter() - started
latencies.sort()
pick = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")
print(json.dumps({"seconds": seconds, "ops": total, "errors": state["errors"], "bytes": state["bytes"],
                  "p50Millis": pick(0.5), "p99Millis": pick(0.99)}))
`

/** FTP RETR of one file `total` times, one control connection per file, with ftplib in `concurrency` threads. */
export const runFtpLoad = async (
  tmp: string,
  load: {
    readonly port: number
    readonly name: string
    readonly size: number
    readonly total: number
    readonly concurrency: number
  }
): Promise<LoadResult> => {
  const script = path.join(tmp, "ftp_load.py")
  await Bun.write(script, FTP_LOAD)
  const args = [load.port, load.name, load.total, load.concurrency, load.size].map(String)
  const { code, stdout, stderr } = await capture([PYTHON, script, ...args])
  if (code !== 0) throw new Error(`gerador FTP falhou: ${stderr.trim().slice(0, 500)}`)
  return JSON.parse(stdout) as LoadResult
}

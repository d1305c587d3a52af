import type { Subprocess } from "bun"
import * as net from "node:net"
import * as path from "node:path"

/**
 * Real processes for the scale-out tests and the benchmark: server instances
 * (the real entry point) and one HAProxy with its own configuration, all on
 * loopback, each stopped by its own pid.
 */

export const PROJECT = path.resolve(import.meta.dir, "../..")
const SERVER_MAIN = "src/programs/server/main.ts"

/** Everything a process wrote to one stream so far, with a bounded wait for a pattern. */
export class Output {
  text = ""
  readonly done: Promise<void>

  constructor(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder()
    this.done = (async () => {
      for await (const chunk of stream) this.text += decoder.decode(chunk, { stream: true })
      this.text += decoder.decode()
    })()
  }

  async waitFor(pattern: RegExp, millis: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + millis
    for (;;) {
      const match = this.text.match(pattern)
      if (match) return match
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in output:\n${this.text.slice(-4000)}`)
      await Bun.sleep(20)
    }
  }

  /** The lines written so far. */
  lines(): ReadonlyArray<string> {
    return this.text.split("\n").filter((line) => line !== "")
  }
}

/** A TCP port free on 127.0.0.1 right now (bound and released). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

export interface Instance {
  readonly port: number
  readonly process: Subprocess<"ignore", "pipe", "pipe">
  readonly stdout: Output
  readonly stderr: Output
}

/** Starts the real server on 127.0.0.1:`port` and waits until it listens. */
export const startInstance = async (port: number, args: ReadonlyArray<string>): Promise<Instance> => {
  const child = Bun.spawn([process.execPath, SERVER_MAIN, String(port), ...args], {
    cwd: PROJECT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe"
  })
  const instance = { port, process: child, stdout: new Output(child.stdout), stderr: new Output(child.stderr) }
  try {
    await instance.stdout.waitFor(/escutando na porta TCP \d+/, 20_000)
  } catch (error) {
    child.kill("SIGKILL")
    throw new Error(`${String(error)}\nstderr:\n${instance.stderr.text}`)
  }
  return instance
}

/** Stops a process by its pid: SIGTERM, then SIGKILL if it is still there after `millis`. */
export const stop = async (child: Subprocess, millis = 5_000) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill("SIGTERM")
  const late = await Promise.race([child.exited.then(() => false), Bun.sleep(millis).then(() => true)])
  if (late) {
    child.kill("SIGKILL")
    await child.exited
  }
}

/** Where HAProxy is, or why it is not there. */
export const findHaproxy = (): { readonly path: string } | { readonly missing: string } => {
  const found = Bun.which("haproxy") ?? Bun.which("haproxy", { PATH: "/usr/sbin:/usr/local/sbin:/sbin" })
  if (found === null) return { missing: "haproxy não está instalado (o .ci/run instala o pacote Debian haproxy)" }
  const version = Bun.spawnSync([found, "-v"])
  if (version.exitCode !== 0) return { missing: `haproxy -v falhou: ${version.stderr.toString().trim()}` }
  return { path: found }
}

export interface Balancer {
  readonly process: Subprocess<"ignore", "pipe", "pipe">
  readonly output: Output
  /** Each server's state as HAProxy sees it ("UP", "DOWN", "UP 1/2"...), by backend and server name. */
  readonly status: (backend: string, server: string) => Promise<string | undefined>
  /** Waits until the server's state starts with `state`. */
  readonly waitStatus: (backend: string, server: string, state: "UP" | "DOWN", millis: number) => Promise<void>
}

/** Asks HAProxy's stats socket for "show stat" and returns the CSV rows as records. */
const showStat = (socketPath: string): Promise<ReadonlyArray<Record<string, string>>> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    const socket = net.connect({ path: socketPath })
    const timer = setTimeout(() => socket.destroy(new Error("stats socket: no answer")), 3_000)
    socket.on("connect", () => socket.write("show stat\n"))
    socket.on("data", (chunk: Buffer) => parts.push(chunk))
    socket.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on("close", () => {
      clearTimeout(timer)
      const [header, ...rows] = Buffer.concat(parts).toString("utf8").split("\n").filter((line) => line !== "")
      const columns = (header ?? "").replace(/^# /, "").split(",")
      resolve(rows.map((row) => Object.fromEntries(row.split(",").map((value, i) => [columns[i] ?? String(i), value]))))
    })
  })

/**
 * Runs HAProxy in the foreground (-db) with `config`, which must include
 * `stats socket <socketPath>` in its global section; waits until it accepts
 * on `probePort`.
 */
export const startHaproxy = async (
  binary: string,
  configPath: string,
  socketPath: string,
  probePort: number
): Promise<Balancer> => {
  const child = Bun.spawn([binary, "-db", "-f", configPath], { stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  const output = new Output(child.stderr)
  new Output(child.stdout)
  const status = async (backend: string, server: string) => {
    const rows = await showStat(socketPath)
    return rows.find((row) => row.pxname === backend && row.svname === server)?.status
  }
  const deadline = Date.now() + 10_000
  for (;;) {
    const ready = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port: probePort })
      socket.on("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.on("error", () => resolve(false))
    })
    if (ready && (await status("x", "y").then(() => true, () => false))) break
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`haproxy did not start:\n${output.text}`)
    }
    await Bun.sleep(50)
  }
  return {
    process: child,
    output,
    status,
    waitStatus: async (backend, server, state, millis) => {
      const until = Date.now() + millis
      for (;;) {
        const now = await status(backend, server)
        if (now?.startsWith(state) && !(state === "UP" && now.includes("/"))) return
        if (Date.now() > until) throw new Error(`${backend}/${server} is ${now}, not ${state}, after ${millis} ms`)
        await Bun.sleep(50)
      }
    }
  }
}

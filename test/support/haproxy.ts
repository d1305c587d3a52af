import * as net from "node:net"
import type { Subprocess } from "bun"
import { Lines } from "./processes.ts"
import { eventually, guard } from "./waiting.ts"

/**
 * One HAProxy for the scale-out tests, with its own configuration, on
 * loopback, stopped by its own pid (see `stop` in processes.ts).
 */

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
  readonly output: Lines
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
    const cancel = guard(3_000, () => socket.destroy(new Error("stats socket: no answer")))
    socket.on("connect", () => socket.write("show stat\n"))
    socket.on("data", (chunk: Buffer) => parts.push(chunk))
    socket.on("error", (error) => {
      cancel()
      reject(error)
    })
    socket.on("close", () => {
      cancel()
      const [header, ...rows] = Buffer.concat(parts)
        .toString("utf8")
        .split("\n")
        .filter((line) => line !== "")
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
  const output = new Lines(child.stderr)
  new Lines(child.stdout)
  const status = async (backend: string, server: string) => {
    const rows = await showStat(socketPath)
    return rows.find((row) => row.pxname === backend && row.svname === server)?.status
  }
  const accepting = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port: probePort })
      socket.on("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.on("error", () => resolve(false))
    })
  const answering = () =>
    status("x", "y").then(
      () => true,
      () => false
    )
  // Up once it accepts on the probe port and its stats socket answers (or it died).
  await eventually(async () => child.exitCode !== null || ((await accepting()) && (await answering())), {
    millis: 10_000,
    every: 50
  })
  if (child.exitCode !== null || !(await answering())) {
    child.kill("SIGKILL")
    throw new Error(`haproxy did not start:\n${output.text}`)
  }
  return {
    process: child,
    output,
    status,
    waitStatus: async (backend, server, state, millis) => {
      let now: string | undefined
      const reached = async () => {
        now = await status(backend, server)
        return now?.startsWith(state) === true && !(state === "UP" && now.includes("/"))
      }
      if (!(await eventually(reached, { millis, every: 50 }))) {
        throw new Error(`${backend}/${server} is ${now}, not ${state}, after ${millis} ms`)
      }
    }
  }
}

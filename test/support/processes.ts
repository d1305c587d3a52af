import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import type { Subprocess } from "bun"
import { CLIENT_MAIN, ROOT } from "../client/cli.ts"

/**
 * The real server and client as separate processes, for the tests of real
 * links, disks and crashes: a server on an ephemeral loopback port whose log
 * lines are collected, and clients run to their end or killed on purpose.
 * Everything started here is stopped by its own pid.
 */

const SERVER_MAIN = "src/programs/server/main.ts"

/** What one stream printed so far, line by line, with bounded waits. */
export class Lines {
  text = ""
  readonly done: Promise<void>

  constructor(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder()
    this.done = (async () => {
      for await (const chunk of stream) this.text += decoder.decode(chunk, { stream: true })
      this.text += decoder.decode()
    })().catch(() => {})
  }

  /** The lines written so far. */
  lines(): ReadonlyArray<string> {
    return this.text.split("\n").filter((line) => line !== "")
  }

  async waitFor(pattern: RegExp, millis = 10_000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + millis
    for (;;) {
      const match = this.text.slice(from).match(pattern)
      if (match) return match
      if (Date.now() > deadline) throw new Error(`waited ${millis} ms for ${pattern}; the output was:\n${this.text}`)
      await Bun.sleep(20)
    }
  }
}

export interface ServerProcess {
  readonly port: number
  readonly folder: string
  readonly process: Subprocess<"ignore", "pipe", "pipe">
  readonly stdout: Lines
  readonly stderr: Lines
  /** SIGKILL, as a crash would. */
  readonly kill: () => Promise<void>
  /** SIGTERM, then SIGKILL if it is still running after 10 s; returns the exit code. */
  readonly stop: () => Promise<number | null>
}

const running = new Set<Subprocess>()

/** Stops whatever a test left running (for afterEach/afterAll). */
export const stopAll = async () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    await Promise.race([child.exited, Bun.sleep(2_000)])
  }
  running.clear()
}

export const startServerProcess = async (
  folder: string,
  options: { readonly timeoutSeconds?: number; readonly args?: ReadonlyArray<string>; readonly port?: number } = {}
): Promise<ServerProcess> => {
  const child = Bun.spawn(
    [
      process.execPath,
      SERVER_MAIN,
      String(options.port ?? 0),
      "--pasta",
      folder,
      "--timeout",
      String(options.timeoutSeconds ?? 3),
      ...(options.args ?? [])
    ],
    { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" }
  )
  running.add(child)
  const stdout = new Lines(child.stdout)
  const stderr = new Lines(child.stderr)
  const port = Number((await stdout.waitFor(/porta TCP (\d+)/, 15_000))[1])
  await stdout.waitFor(/Ctrl\+C para encerrar/, 5_000)
  const kill = async () => {
    child.kill("SIGKILL")
    await child.exited
  }
  const stop = async () => {
    child.kill("SIGTERM")
    const code = await Promise.race([child.exited, Bun.sleep(10_000).then(() => null)])
    if (code === null) await kill()
    return code
  }
  return { port, folder, process: child, stdout, stderr, kill, stop }
}

export interface ClientRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

export interface ClientProcess {
  readonly process: Subprocess<"ignore", "pipe", "pipe">
  readonly stdout: Lines
  readonly stderr: Lines
  /** Waits for the end (SIGKILL after `limitMillis`, code null then). */
  readonly result: Promise<ClientRun>
}

/** Starts the real client with `args` (address first); killed after `limitMillis`. */
export const startClient = (args: ReadonlyArray<string>, limitMillis = 60_000): ClientProcess => {
  const started = Date.now()
  const child = Bun.spawn([process.execPath, CLIENT_MAIN, ...args], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1" }
  })
  running.add(child)
  const stdout = new Lines(child.stdout)
  const stderr = new Lines(child.stderr)
  let killed = false
  const timer = setTimeout(() => {
    killed = true
    child.kill("SIGKILL")
  }, limitMillis)
  const result = (async () => {
    const code = await child.exited
    clearTimeout(timer)
    await Promise.all([stdout.done, stderr.done])
    running.delete(child)
    return { code: killed ? null : code, stdout: stdout.text, stderr: stderr.text, millis: Date.now() - started }
  })()
  return { process: child, stdout, stderr, result }
}

/** Runs the client to its end. */
export const runClient = (args: ReadonlyArray<string>, limitMillis?: number) => startClient(args, limitMillis).result

export const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex")

export const md5OfFile = (file: string) => md5(readFileSync(file))

/** Every entry under `folder`, recursively, hidden ones included, as relative paths. */
export const everyEntry = (folder: string): Array<string> =>
  (readdirSync(folder, { recursive: true }) as Array<string>).map((entry) => entry.split(path.sep).join("/")).sort()

/** Deterministic bytes (a seeded xorshift), so every file differs from every other. */
export const randomBytes = (length: number, seed: number) => {
  const out = new Uint8Array(length)
  let x = seed | 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** A TCP port free on 127.0.0.1 right now (bound and released). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))
      )
    })
  })

export interface Instance {
  readonly port: number
  readonly process: Subprocess<"ignore", "pipe", "pipe">
  readonly stdout: Lines
  readonly stderr: Lines
}

/** Starts the real server on 127.0.0.1:`port` and waits until it listens. */
export const startInstance = async (port: number, args: ReadonlyArray<string>): Promise<Instance> => {
  const child = Bun.spawn([process.execPath, SERVER_MAIN, String(port), ...args], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe"
  })
  const instance = { port, process: child, stdout: new Lines(child.stdout), stderr: new Lines(child.stderr) }
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

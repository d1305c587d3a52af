import { readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"
import type { Subprocess } from "bun"
import { CLIENT_MAIN, ROOT } from "../client/cli.ts"
import { md5Hex } from "./md5.ts"
import { guard, within } from "./waiting.ts"

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
  /** Told whenever text arrives, and at the end of the stream. */
  private readonly listeners = new Set<() => void>()

  constructor(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder()
    this.done = (async () => {
      for await (const chunk of stream) {
        this.text += decoder.decode(chunk, { stream: true })
        this.tell()
      }
      this.text += decoder.decode()
    })()
      .catch(() => {})
      .finally(() => this.tell())
  }

  private tell() {
    for (const listener of this.listeners) listener()
  }

  /** The lines written so far. */
  lines(): ReadonlyArray<string> {
    return this.text.split("\n").filter((line) => line !== "")
  }

  /** The first match of `pattern` after `from`, as soon as it is printed; throws after `millis` or at the end without it. */
  async waitFor(pattern: RegExp, millis = 10_000, from = 0): Promise<RegExpMatchArray> {
    let listener: (() => void) | undefined
    let ended = false
    void this.done.then(() => {
      ended = true
    })
    const seen = new Promise<RegExpMatchArray | undefined>((resolve) => {
      listener = () => {
        const match = this.text.slice(from).match(pattern)
        if (match) resolve(match)
        else if (ended) resolve(undefined)
      }
      this.listeners.add(listener)
      listener()
    })
    try {
      const match = await within(seen, millis, () => undefined)
      if (match) return match
      throw new Error(`waited ${millis} ms for ${pattern}; the output was:\n${this.text}`)
    } finally {
      if (listener) this.listeners.delete(listener)
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
    await within(child.exited, 2_000, () => undefined)
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
    const code = await within(child.exited, 10_000, () => null)
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
  const cancel = guard(limitMillis, () => {
    killed = true
    child.kill("SIGKILL")
  })
  const result = (async () => {
    const code = await child.exited
    cancel()
    await Promise.all([stdout.done, stderr.done])
    running.delete(child)
    return { code: killed ? null : code, stdout: stdout.text, stderr: stderr.text, millis: Date.now() - started }
  })()
  return { process: child, stdout, stderr, result }
}

/** Runs the client to its end. */
export const runClient = (args: ReadonlyArray<string>, limitMillis?: number) => startClient(args, limitMillis).result

export const md5OfFile = (file: string) => md5Hex(readFileSync(file))

/** Every entry under `folder`, recursively, hidden ones included, as relative paths. */
export const everyEntry = (folder: string): Array<string> =>
  (readdirSync(folder, { recursive: true }) as Array<string>).map((entry) => entry.split(path.sep).join("/")).sort()

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
  const late = await within(
    child.exited.then(() => false),
    millis,
    () => true
  )
  if (late) {
    child.kill("SIGKILL")
    await child.exited
  }
}

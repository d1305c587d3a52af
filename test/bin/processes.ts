import * as net from "node:net"
import * as path from "node:path"
import type { Subprocess } from "bun"
import { eventually, guard } from "../support/waiting.ts"

/** The one free-port helper of the tests (support/ports.ts), for the tests that start processes from here. */
export { freePort } from "../support/ports.ts"

/**
 * Helpers for tests that run the programs as a user does: the compiled
 * executables in dist/, and `bun run`. Every process is bounded in time and
 * killed by its own pid when the test ends.
 */

export const ROOT = path.resolve(import.meta.dir, "../..")
export const SERVER_EXE = path.join(ROOT, "dist", "servidor")
export const CLIENT_EXE = path.join(ROOT, "dist", "cliente")

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end (killed after `millis`), from the project root unless told otherwise. */
export const run = async (
  cmd: ReadonlyArray<string>,
  options: {
    readonly env?: Record<string, string | undefined>
    readonly cwd?: string
    readonly millis?: number
    /** Written to the command's stdin; without it, stdin is /dev/null. */
    readonly stdin?: string
  } = {}
): Promise<Ran> => {
  const child = Bun.spawn([...cmd], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe"
  })
  const cancel = guard(options.millis ?? 20_000, () => child.kill("SIGKILL"))
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited
    ])
    return { code: child.signalCode === null ? code : null, stdout, stderr }
  } finally {
    cancel()
  }
}

/** A long-running process whose output is collected as it comes. */
export interface Daemon {
  readonly process: Subprocess<"ignore", "pipe", "pipe">
  stdout: string
  stderr: string
  /** Waits (bounded) until stdout matches. */
  readonly waitFor: (pattern: RegExp, millis?: number) => Promise<RegExpMatchArray>
  readonly stop: () => Promise<void>
}

const running = new Set<Daemon>()

export const spawnDaemon = (
  cmd: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string | undefined>; readonly cwd?: string } = {}
): Daemon => {
  const child = Bun.spawn([...cmd], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe"
  })
  const daemon: Daemon = {
    process: child,
    stdout: "",
    stderr: "",
    waitFor: async (pattern, millis = 15_000) => {
      let match: RegExpMatchArray | null = null
      await eventually(() => (match = daemon.stdout.match(pattern)) !== null || child.exitCode !== null, { millis })
      if (match) return match
      throw new Error(`no ${pattern} in the output:\n${daemon.stdout}\n${daemon.stderr}`)
    },
    stop: async () => {
      running.delete(daemon)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      await child.exited
    }
  }
  const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) daemon[key] += decoder.decode(chunk, { stream: true })
  }
  void pump(child.stdout, "stdout")
  void pump(child.stderr, "stderr")
  running.add(daemon)
  return daemon
}

/** Stops every daemon still running (for afterEach). */
export const stopAll = () => Promise.all([...running].map((daemon) => daemon.stop()))

/** Waits (bounded) until a TCP connection to host:port succeeds. */
export const waitListening = async (host: string, port: number, millis = 15_000): Promise<void> => {
  const deadline = Date.now() + millis
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port })
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port}`)
    await Bun.sleep(50)
  }
}

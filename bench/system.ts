import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs"

/**
 * Processes and the kernel: running commands, timing them, starting long-lived
 * peers in their own process groups (and stopping every one of them), and
 * reading CPU time and peak memory from /proc.
 */

export interface Captured {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to completion and returns what it printed. */
export const capture = async (
  cmd: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: Record<string, string | undefined> } = {}
): Promise<Captured> => {
  const child = Bun.spawn([...cmd], { ...options, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited
  ])
  return { code, stdout, stderr }
}

/** Whether a command can be found and started. */
export const commandWorks = async (cmd: ReadonlyArray<string>): Promise<boolean> => {
  try {
    return (await capture(cmd)).code === 0
  } catch {
    return false
  }
}

export interface Timed {
  readonly seconds: number
  /** User plus system CPU time of the process, in seconds. */
  readonly cpuSeconds: number
}

/**
 * Runs a command and measures its wall time, from spawn to exit. Standard
 * output goes nowhere; a non-zero exit is an error carrying what it printed on
 * standard error.
 */
export const timeCommand = async (
  cmd: ReadonlyArray<string>,
  options: { readonly cwd?: string } = {}
): Promise<Timed> => {
  const started = performance.now()
  const child = Bun.spawn([...cmd], { ...options, stdin: "ignore", stdout: "ignore", stderr: "pipe" })
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited])
  const seconds = (performance.now() - started) / 1000
  if (code !== 0) throw new Error(`${cmd.join(" ")} saiu com status ${code}: ${stderr.trim().slice(0, 500)}`)
  const usage = child.resourceUsage()
  const cpuSeconds = usage === undefined ? NaN : Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6
  return { seconds, cpuSeconds }
}

/**
 * A free TCP port on 127.0.0.1, below the kernel's ephemeral range: the
 * tests' helper, for the same reason (a port the kernel picked may be taken
 * as the local port of a connection before its server binds it).
 */
export { freePort } from "../test/support/ports.ts"

/** Whether some socket listens on this TCP port, read from /proc/net/tcp{,6} (no connection is made). */
const listening = (port: number): boolean => {
  const hex = port.toString(16).toUpperCase().padStart(4, "0")
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = ""
    try {
      text = readFileSync(table, "utf8")
    } catch {
      continue
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/)
      // local_address is "ADDR:PORT"; state 0A is LISTEN.
      if (fields[1]?.endsWith(`:${hex}`) && fields[3] === "0A") return true
    }
  }
  return false
}

export const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/** A long-lived process started by the benchmark, leader of its own process group. */
export interface Daemon {
  readonly name: string
  readonly pid: number
  readonly exited: Promise<number>
  readonly stop: () => Promise<void>
}

const running = new Set<Daemon>()

/** Set on Ctrl+C: no new measurement starts (the cleanup is already under way). */
let interrupted = false
export const interrupt = () => {
  interrupted = true
}
export const wasInterrupted = () => interrupted

/**
 * Starts a process in its own process group, with standard output and error
 * going to a log file, and registers it so that `stopAll` ends it.
 */
export const startDaemon = (
  name: string,
  cmd: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly log: string }
): Daemon => {
  const log = openSync(options.log, "a")
  const child = Bun.spawn([...cmd], {
    cwd: options.cwd ?? process.cwd(),
    detached: true,
    stdin: "ignore",
    stdout: log,
    stderr: log
  })
  closeSync(log)
  let stopping: Promise<void> | undefined
  const daemon: Daemon = {
    name,
    pid: child.pid,
    exited: child.exited,
    stop: () =>
      (stopping ??= (async () => {
        running.delete(daemon)
        if (child.exitCode === null && child.signalCode === null) {
          killGroup(child.pid, "SIGTERM")
          const ended = await Promise.race([child.exited.then(() => true), sleep(7_000).then(() => false)])
          if (!ended) killGroup(child.pid, "SIGKILL")
        }
        // Whatever the leader left behind in its group (an nginx worker, say).
        killGroup(child.pid, "SIGKILL")
      })())
  }
  running.add(daemon)
  return daemon
}

const killGroup = (pgid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // The group is already gone.
  }
}

/** Stops every daemon still running, all of them even if one fails. */
export const stopAll = async (): Promise<void> => {
  await Promise.allSettled([...running].map((daemon) => daemon.stop()))
}

/** Waits until the port is listening, failing early if the daemon exits first. */
export const waitListening = async (daemon: Daemon, port: number, log: string, limitMillis = 15_000): Promise<void> => {
  let exited = false
  void daemon.exited.then(() => (exited = true))
  const deadline = performance.now() + limitMillis
  while (!listening(port)) {
    if (exited || performance.now() > deadline) {
      let tail = ""
      try {
        tail = readFileSync(log, "utf8").trim().split("\n").slice(-8).join("\n")
      } catch {}
      throw new Error(`${daemon.name} não começou a escutar na porta ${port}${tail ? `:\n${tail}` : ""}`)
    }
    await sleep(25)
  }
}

/** Process ids of every live process in a process group. */
const groupMembers = (pgid: number): Array<number> => {
  const members: Array<number> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      // Fields after the parenthesised command: state ppid pgrp ...
      const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      if (Number(after[2]) === pgid) members.push(Number(entry))
    } catch {
      // The process ended while we looked.
    }
  }
  return members
}

const CLOCK_TICKS = 100

/** User plus system CPU seconds used so far by every process of the group. */
export const groupCpuSeconds = (pgid: number): number => {
  let ticks = 0
  for (const pid of groupMembers(pgid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command.
      ticks += Number(after[11]) + Number(after[12])
    } catch {}
  }
  return ticks / CLOCK_TICKS
}

/** Sum over the group of each process's peak resident memory (VmHWM), in bytes. */
export const groupPeakMemory = (pgid: number): number => {
  let kib = 0
  for (const pid of groupMembers(pgid)) {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
      kib += Number(match?.[1] ?? 0)
    } catch {}
  }
  return kib * 1024
}

/** Resets the peak resident memory of every process of the group to its current size. */
export const resetPeakMemory = (pgid: number): void => {
  for (const pid of groupMembers(pgid)) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, "5")
    } catch {}
  }
}

/** Busy and total CPU ticks of the whole machine, from /proc/stat. */
const cpuTicks = (): { busy: number; total: number } => {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((sum, value) => sum + value, 0)
  // idle and iowait are the 4th and 5th fields.
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total }
}

/** The share (0 to 1) of all the machine's cores that was busy during the next `millis`. */
export const machineBusy = async (millis = 2_000): Promise<number> => {
  const before = cpuTicks()
  await sleep(millis)
  const after = cpuTicks()
  return (after.busy - before.busy) / Math.max(1, after.total - before.total)
}

/** Free bytes on the file system holding `folder`, as `df` reports them. */
export const freeBytes = async (folder: string): Promise<number> => {
  const { stdout } = await capture(["df", "-B1", "--output=avail", folder])
  return Number(stdout.trim().split("\n").pop())
}

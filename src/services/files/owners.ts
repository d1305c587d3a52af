import { randomBytes } from "node:crypto"
import { mkdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import { hostname } from "node:os"
import * as path from "node:path"

/**
 * Who writes the temporaries of a folder that several server processes may
 * share (on one machine, or on many over NFS), and which of them are gone.
 *
 * Each store that writes uploads is an *instance*, with a random id of 12 hex
 * digits. Its temporaries are named `.envio-<instance><16 random hex>.tmp`
 * (created with O_EXCL, so two writers never share one whatever the names),
 * and while it has any temporary open it keeps a mark, `.instancias/<instance>`,
 * whose modification time the file system moves forward every
 * `REFRESH_MILLIS`; the mark is removed when its last temporary is closed. The
 * mark holds the machine (host name, boot id, pid namespace), the process id
 * and the process's start time (in clock ticks since boot, from `/proc`).
 *
 * A sweep deletes a temporary only when its instance is gone:
 * - its mark is missing, or
 * - its mark was last refreshed more than `STALE_MILLIS` before the sweeper's
 *   own mark (both times come from the same file system's clock, so clocks of
 *   different machines never enter the comparison), or
 * - it ran on this very machine and pid namespace and its process is dead
 *   (a restart after a kill -9 sweeps at once, without waiting for staleness):
 *   gone from `/proc`, a zombie not yet reaped by its parent (state `Z` or
 *   `X` in `/proc/PID/stat`: `kill(pid, 0)` still succeeds for one), or the
 *   pid now taken by another process (its start time differs from the mark's).
 * A temporary without an instance in its name (from an older version) is
 * deleted only when the file itself has not been written for `STALE_MILLIS`.
 *
 * A server sweeps at start, at stop and every `STALE_MILLIS` while it runs
 * (`sweepIfAnyGone`: it walks the folder only when some other instance's mark
 * shows that instance gone, so while nothing crashed it costs one listing of
 * the marks folder), so a crashed peer's temporaries and mark go away while
 * the other instances keep running.
 *
 * The bound is long next to the refresh so that a busy machine, or an NFS
 * client's attribute cache (it may show a modification time up to a minute
 * old by default), never makes a live mark look stale.
 *
 * So a live instance's temporaries are never touched unless it stops
 * refreshing for minutes (a process frozen with SIGSTOP, a suspended VM):
 * then its uploads in flight fail when they try to publish (the rename finds
 * no temporary) and are answered as failures; no file under a real name is
 * ever half-written either way.
 */

export const MARKS_FOLDER = ".instancias"
export const REFRESH_MILLIS = 10_000
export const STALE_MILLIS = 120_000

export const TEMP_PREFIX = ".envio-"
export const TEMP_SUFFIX = ".tmp"
const TEMP_NAME = /^\.envio-([0-9a-f]{12})[0-9a-f]{16}\.tmp$/

/** What a mark says about the process behind it. */
export interface Machine {
  readonly host: string
  readonly boot: string
  readonly pidNamespace: string
}

interface Mark extends Machine {
  readonly pid: number
  /** Absent in marks of older versions, and when `/proc` could not tell. */
  readonly start?: string | undefined
}

const readOr = (read: () => string, fallback: string) => {
  try {
    return read().trim()
  } catch {
    return fallback
  }
}

/** This machine and pid namespace: a pid can only be checked by a process that shares all three. */
export const thisMachine = (): Machine => ({
  host: hostname(),
  boot: readOr(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"), ""),
  pidNamespace: readOr(() => readlinkSync("/proc/self/ns/pid"), "")
})

const sameMachine = (a: Machine, b: Machine) =>
  a.host === b.host && a.boot !== "" && a.boot === b.boot && a.pidNamespace !== "" && a.pidNamespace === b.pidNamespace

interface ProcStat {
  readonly state: string
  readonly threads: number
  readonly start: string
}

/** A process's state letter, thread count and start time, from `/proc/PID/stat`; undefined when that cannot be read. */
const procStat = (pid: number): ProcStat | undefined => {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // "PID (COMM) STATE PPID …": COMM may hold spaces and parentheses, so fields count from the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  const state = fields[0]
  const start = fields[19]
  return state === undefined || start === undefined ? undefined : { state, threads: Number(fields[17]), start }
}

/** The start time a mark records for `pid` (undefined when `/proc` cannot tell). */
const startOf = (pid: number) => procStat(pid)?.start

/**
 * Whether the process a mark names is dead. `/proc` decides when it can be
 * read: a zombie (`Z`) or a dying process (`X`) is dead although
 * `kill(pid, 0)` succeeds for it, and so is a pid another process has taken
 * since. A `Z` with other threads still counted is a main thread that ended
 * while the process runs on (or a killed process whose threads are still on
 * their way out): alive for now, so the next sweep decides. Without `/proc`
 * (no entry, or hidden by `hidepid` when owned by another user), only the
 * signal can tell, and a process that exists counts as alive.
 */
const processGone = (pid: number, start: string | undefined): boolean => {
  const stat = procStat(pid)
  if (stat !== undefined) {
    // A main thread that ended while other threads run also shows "Z": then the process lives.
    const dead = (stat.state === "Z" || stat.state === "X") && !(stat.threads > 1)
    return dead || (start !== undefined && stat.start !== start)
  }
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as { code?: string }).code === "ESRCH"
  }
}

/** The owner's instance id in a temporary's name; null for a temporary of an older version; undefined when it is no temporary. */
export const ownerOf = (base: string): string | null | undefined => {
  if (
    !(
      base.startsWith(TEMP_PREFIX) &&
      base.endsWith(TEMP_SUFFIX) &&
      base.length > TEMP_PREFIX.length + TEMP_SUFFIX.length
    )
  ) {
    return undefined
  }
  return TEMP_NAME.exec(base)?.[1] ?? null
}

export interface Instance {
  readonly id: string
  /** A fresh name for a temporary of this instance. */
  readonly temporaryName: () => string
  /**
   * A temporary is about to be created: the mark exists and is kept fresh
   * until every hold is released (call the function returned, once, after
   * the temporary is gone or renamed). Throws, holding nothing, when the
   * mark cannot be written.
   */
  readonly hold: () => () => void
  /** The mark's modification time after refreshing it, in the file system's clock (made and removed if not held). */
  readonly now: () => number
  /** Whether a hold is in place. */
  readonly holding: () => boolean
}

export interface InstanceOptions {
  readonly machine?: Machine
  readonly pid?: number
  readonly refreshMillis?: number
}

/** An instance over `root`; it leaves no mark until it holds a temporary. */
export const makeInstance = (root: string, options: InstanceOptions = {}): Instance => {
  const id = randomBytes(6).toString("hex")
  const folder = path.join(root, MARKS_FOLDER)
  const markPath = path.join(folder, id)
  const pid = options.pid ?? process.pid
  const content = JSON.stringify({
    ...(options.machine ?? thisMachine()),
    pid,
    start: startOf(pid)
  } satisfies Mark)
  // Rewriting the content (not utimes with our clock) lets the file system stamp the time.
  const touch = () => {
    try {
      writeFileSync(markPath, content)
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error
      mkdirSync(folder, { recursive: true })
      writeFileSync(markPath, content)
    }
    return statSync(markPath).mtimeMs
  }
  const unmark = () => {
    rmSync(markPath, { force: true })
    try {
      rmdirSync(folder)
    } catch {
      // Other instances' marks are in it, or it is gone already.
    }
  }
  let holds = 0
  let timer: ReturnType<typeof setInterval> | undefined
  return {
    id,
    temporaryName: () => `${TEMP_PREFIX}${id}${randomBytes(8).toString("hex")}${TEMP_SUFFIX}`,
    hold: () => {
      // First the mark (which may fail: a full or read-only disk), then the count.
      if (holds === 0) touch()
      if (holds++ === 0) {
        timer = setInterval(() => {
          try {
            touch()
          } catch {
            // A full or unreachable disk: tried again at the next tick.
          }
        }, options.refreshMillis ?? REFRESH_MILLIS)
        // The refresh never keeps the process alive.
        timer.unref()
      }
      let released = false
      return () => {
        if (released) return
        released = true
        if (--holds > 0) return
        clearInterval(timer)
        timer = undefined
        unmark()
      }
    },
    now: () => {
      const time = touch()
      if (holds === 0) unmark()
      return time
    },
    holding: () => holds > 0
  }
}

const mtimeOf = async (full: string): Promise<number | undefined> => {
  try {
    return (await fs.lstat(full)).mtimeMs
  } catch {
    return undefined
  }
}

/** The file system's time by the sweeper's own mark; undefined for a read-only folder. */
const clockOf = (self: Instance): number | undefined => {
  try {
    return self.now()
  } catch (error) {
    // A read-only folder can hold nothing to remove, and nothing can be removed from it.
    if ((error as { code?: string }).code === "EROFS") return undefined
    // A full disk (no room for the mark): this machine's clock stands in for the file system's.
    return Date.now()
  }
}

const MARK_NAME = /^[0-9a-f]{12}$/

/** Whether the instance `id` is gone (see above), judged once per sweep. */
const judge = (marks: string, self: Instance, machine: Machine, now: number) => {
  const verdicts = new Map<string, boolean>()
  return async (id: string): Promise<boolean> => {
    const known = verdicts.get(id)
    if (known !== undefined) return known
    let verdict: boolean
    if (id === self.id) verdict = false
    else {
      const full = path.join(marks, id)
      const refreshed = await mtimeOf(full)
      if (refreshed === undefined) verdict = true
      else if (now - refreshed > STALE_MILLIS) verdict = true
      else {
        let mark: Partial<Mark> = {}
        try {
          mark = JSON.parse(await fs.readFile(full, "utf8")) as Partial<Mark>
        } catch {
          // Unreadable or being rewritten: judged by its time alone.
        }
        verdict =
          typeof mark.pid === "number" &&
          sameMachine(machine, {
            host: String(mark.host),
            boot: String(mark.boot),
            pidNamespace: String(mark.pidNamespace)
          }) &&
          processGone(mark.pid, typeof mark.start === "string" ? mark.start : undefined)
      }
    }
    verdicts.set(id, verdict)
    return verdict
  }
}

/** Removes the temporaries of gone instances under `root`, then their marks; returns how many temporaries. */
const removeAbandoned = async (
  root: string,
  self: Instance,
  gone: (id: string) => Promise<boolean>,
  now: number
): Promise<number> => {
  const marks = path.join(root, MARKS_FOLDER)
  let removed = 0
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) {
        if (dir !== root || entry.name !== MARKS_FOLDER) await walk(full)
        continue
      }
      if (!entry.isFile()) continue
      const owner = ownerOf(entry.name)
      if (owner === undefined) continue
      const abandoned = owner === null ? now - ((await mtimeOf(full)) ?? now) > STALE_MILLIS : await gone(owner)
      if (abandoned) {
        await fs.rm(full, { force: true })
        removed++
      }
    }
  }
  await walk(root)
  // Marks of instances that are gone: after their temporaries, so a crash in between leaves nothing unswept.
  for (const id of await fs.readdir(marks).catch(() => [] as Array<string>)) {
    if (MARK_NAME.test(id) && (await gone(id))) await fs.rm(path.join(marks, id), { force: true })
  }
  // Left empty: removed (an instance marking itself at that moment makes it again).
  if (!self.holding()) await fs.rmdir(marks).catch(() => undefined)
  return removed
}

/**
 * Deletes the temporaries under `root` whose writer is gone (see above), and
 * the marks of instances that are gone; returns how many temporaries. `self`
 * is the sweeping instance: its own temporaries are live by definition.
 */
export const sweepAbandoned = async (
  root: string,
  self: Instance,
  machine: Machine = thisMachine()
): Promise<number> => {
  const now = clockOf(self)
  if (now === undefined) return 0
  return removeAbandoned(root, self, judge(path.join(root, MARKS_FOLDER), self, machine, now), now)
}

/**
 * The periodic sweep: `sweepAbandoned`, but only when the mark of some other
 * instance shows it gone; otherwise it removes nothing and walks nothing:
 * it lists the marks folder (usually absent) and, when other marks are
 * there, reads their times against a touch of its own. Temporaries of older
 * versions (no mark ever names them) are left to the sweeps at start and stop.
 */
export const sweepIfAnyGone = async (
  root: string,
  self: Instance,
  machine: Machine = thisMachine()
): Promise<number> => {
  const marks = path.join(root, MARKS_FOLDER)
  const others = (await fs.readdir(marks).catch(() => [] as Array<string>)).filter(
    (id) => MARK_NAME.test(id) && id !== self.id
  )
  if (others.length === 0) return 0
  const now = clockOf(self)
  if (now === undefined) return 0
  const gone = judge(marks, self, machine, now)
  for (const id of others) if (await gone(id)) return removeAbandoned(root, self, gone, now)
  return 0
}

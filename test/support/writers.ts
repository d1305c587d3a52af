import { readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { MARKS_FOLDER } from "../../src/services/files/owners.ts"

/**
 * Another server process writing an upload into a folder (uploadingWriter.ts),
 * for tests that kill it with SIGKILL mid-upload, as a crash would.
 */
export interface Writer {
  /** The writer's own pid (the one its mark names). */
  readonly pid: number
  /** Kills the writer with SIGKILL; unreaped, it stays a zombie until `stop`. */
  readonly crash: () => void
  /** Ends (and reaps) the writer and what was started for it; safe to call twice. */
  readonly stop: () => Promise<void>
}

const WRITER = path.join(import.meta.dir, "uploadingWriter.ts")

/** A process's state letter and thread count in `/proc/PID/stat` ("Z" for a zombie); undefined when it has no entry. */
export const processStat = (pid: number): { readonly state: string; readonly threads: number } | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
    return { state: fields[0] ?? "", threads: Number(fields[17]) }
  } catch {
    return undefined
  }
}

/** A process's state letter ("Z" for a zombie); undefined when it has no entry. */
export const processState = (pid: number): string | undefined => processStat(pid)?.state

/**
 * Whether `pid` is a whole zombie: every thread gone, only its entry left
 * for its parent to reap. (Its main thread shows "Z" as soon as it ends,
 * while the other threads of a killed process may still be on their way out.)
 */
export const zombie = (pid: number): boolean => {
  const stat = processStat(pid)
  return stat?.state === "Z" && stat.threads <= 1
}

/** A pid that surely belongs to no process: one that has just exited. */
export const deadPid = async (): Promise<number> => {
  const child = Bun.spawn(["true"])
  await child.exited
  return child.pid
}

/** Reads `stream` until it has said `word`, within `millis`; false if it did not. */
const said = async (stream: ReadableStream<Uint8Array>, word: string, millis: number) => {
  const reader = stream.getReader()
  const deadline = Bun.sleep(millis).then(() => undefined)
  let text = ""
  while (!text.includes(word)) {
    const chunk = await Promise.race([reader.read(), deadline])
    if (chunk === undefined || chunk.done) return false
    text += new TextDecoder().decode(chunk.value)
  }
  reader.releaseLock()
  return true
}

/**
 * Starts a writer into `root` and returns once its temporary and mark exist.
 * With `reaped: false`, the writer's parent is a shell blocked reading its
 * stdin, which does not call wait() until that input ends: once crashed, the
 * writer stays a zombie (as under a slow supervisor) until `stop` closes the
 * input, and the shell then kills (if still alive) and reaps it. This
 * machine's init may reap no orphans, so the shell must. Otherwise this test
 * process is the writer's parent and reaps it.
 */
export const startWriter = async (root: string, options: { readonly reaped: boolean }): Promise<Writer> => {
  const command = options.reaped
    ? [process.execPath, WRITER, root]
    : ["sh", "-c", '"$0" "$1" "$2" & read line; kill -9 $! 2>/dev/null; wait', process.execPath, WRITER, root]
  const child = Bun.spawn(command, { stdin: "pipe", stdout: "pipe", stderr: "inherit" })
  const stop = async () => {
    if (!options.reaped) {
      await child.stdin.end()
      if ((await Promise.race([child.exited, Bun.sleep(5_000).then(() => "demorou")])) !== "demorou") return
    }
    child.kill("SIGKILL")
    await child.exited
  }
  let pid: number
  try {
    if (!(await said(child.stdout, "escrevendo", 10_000))) throw new Error("o escritor não começou em 10 s")
    const marks = await fs.readdir(path.join(root, MARKS_FOLDER))
    if (marks.length !== 1) throw new Error(`marcas inesperadas: ${marks.join(", ")}`)
    pid = (JSON.parse(readFileSync(path.join(root, MARKS_FOLDER, marks[0]!), "utf8")) as { pid: number }).pid
  } catch (error) {
    await stop()
    throw error
  }
  return { pid, crash: () => process.kill(pid, "SIGKILL"), stop }
}

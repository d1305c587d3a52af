import { writeSync } from "node:fs"

/**
 * Log lines on stdout, written in batches: the lines of one turn of the
 * event loop (every connection that ended in it) are joined and written
 * with one system call after it, instead of one call each. A busy server
 * ends many connections per turn, and a write per line was a visible share
 * of a small operation's cost. Lines keep their order, and whatever is
 * pending is written before the process exits.
 */

let pending: Array<string> = []
let scheduled = false

const writeOut = (text: string): void => {
  const bytes = Buffer.from(text)
  let at = 0
  while (at < bytes.length) {
    try {
      at += writeSync(1, bytes, at, bytes.length - at)
    } catch (error) {
      // A non-blocking pipe that is full: the stream queues the rest and writes it when it can.
      if ((error as { code?: unknown }).code === "EAGAIN") {
        process.stdout.write(bytes.subarray(at))
        return
      }
      // Nowhere to write (stdout closed): a log line is not worth the process.
      return
    }
  }
}

/** Where the lines go: stdout, or what a test puts here. */
export const logOutput: { write: (text: string) => void } = { write: writeOut }

/** Writes what is pending now. */
export const flushLogLines = (): void => {
  scheduled = false
  if (pending.length === 0) return
  const lines = pending
  pending = []
  logOutput.write(`${lines.join("\n")}\n`)
}

/** Queues one line (without its newline) for the end of this turn of the event loop. */
export const writeLogLine = (line: string): void => {
  pending.push(line)
  if (scheduled) return
  scheduled = true
  setImmediate(flushLogLines)
}

process.on("exit", flushLogLines)

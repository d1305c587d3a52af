import type { ProgressSink } from "../config.ts"
import { wrapText } from "./format.ts"
import { renderDone, renderHashing, renderProgress, type TransferState } from "./progress.ts"

export interface ProgressOutput {
  /** Writes text as is (no newline added). */
  readonly write: (text: string) => void
  /** A terminal that can redraw a line; without one, only result lines are printed. */
  readonly live: boolean
  readonly now: () => number
  /** The terminal's width in columns, read at each redraw. */
  readonly width: () => number
  /** Calls `redraw` whenever the terminal is resized (SIGWINCH); returns how to stop. */
  readonly onResize?: (redraw: () => void) => () => void
  /**
   * Where a file's result line goes (stdout: results apart from progress and
   * diagnostics), newline added; absent, it is written in place of the bar.
   */
  readonly result?: (line: string) => void
  /** The width result lines are fitted to; undefined when they go to no terminal (the whole line). */
  readonly resultWidth?: () => number | undefined
}

const REDRAW_MILLIS = 100

export type ProgressView = ProgressSink & {
  /**
   * Ends the command's display: a bar still drawn (a transfer that failed or
   * was cancelled) is erased, so the one line that says what happened takes
   * its place.
   */
  readonly finish: () => void
  /** Writes the line that ends the command (a cancel), in place of the bar. */
  readonly notice: (line: string) => void
  /** The transfer in progress, if any: its name and how many bytes are held. */
  readonly current: () => { readonly name: string; readonly held: number } | undefined
}

/**
 * Progress for one command: a bar redrawn in place on a terminal, fitted to
 * its width at every redraw, and one result line per file once the operation
 * confirms it complete (`completed`) — never before, so a late refusal or a
 * cancel is the only final line.
 */
export const makeProgressView = (
  output: ProgressOutput,
  /** Where a downloaded file landed, named in its result line. */
  landing: (name: string) => string | undefined = () => undefined
): ProgressView => {
  let state: TransferState | undefined
  let hashing: { readonly name: string; readonly bytes: number } | undefined
  let batch: { count: number; total: number; index: number; doneBefore: number } | undefined
  let drawnAt = 0
  /** A line is on screen that the next write must replace. */
  let drawn = false
  let ticker: ReturnType<typeof setInterval> | undefined
  let stopResize: (() => void) | undefined

  const prefix = () => (batch ? `[${batch.index}/${batch.count}] ` : "")
  const draw = () => {
    if (!output.live) return
    drawnAt = output.now()
    const width = output.width()
    let line: string
    if (state) {
      const position = batch && {
        index: batch.index,
        count: batch.count,
        done: batch.doneBefore + state.done,
        total: batch.total
      }
      line = renderProgress(state, drawnAt, width, position)
    } else if (hashing) {
      line = renderHashing(hashing.name, hashing.bytes, width, prefix())
    } else return
    output.write(`\r${line}\x1b[K`)
    drawn = true
  }
  const watch = () => {
    if (!output.live) return
    // Redraw while nothing arrives, so the bar can say "parado", and when the window changes size.
    ticker ??= setInterval(draw, 500)
    stopResize ??= output.onResize?.(draw)
  }
  const unwatch = () => {
    if (ticker) clearInterval(ticker)
    ticker = undefined
    stopResize?.()
    stopResize = undefined
  }
  const erase = () => {
    if (drawn) output.write("\r\x1b[K")
    drawn = false
  }

  return {
    batch: (count, total) => {
      batch = { count, total, index: 0, doneBefore: 0 }
    },
    skip: () => {
      if (batch) batch.index++
    },
    hashing: (name, bytes) => {
      hashing = { name, bytes }
      draw()
      watch()
    },
    start: (name, total, from) => {
      hashing = undefined
      if (batch) batch.index++
      const now = output.now()
      state = { name, total, from, done: from, startedAt: now, movedAt: now }
      draw()
      watch()
    },
    advance: (bytes) => {
      if (!state) return
      const now = output.now()
      state = { ...state, done: state.done + bytes, movedAt: now }
      if (now - drawnAt >= REDRAW_MILLIS) draw()
    },
    completed: () => {
      if (!state) return
      const where = landing(state.name)
      if (output.result !== undefined) {
        erase()
        output.result(renderDone(state, output.now(), output.resultWidth?.(), prefix(), where))
      } else {
        output.write(
          output.live
            ? `\r${renderDone(state, output.now(), output.width(), prefix(), where)}\x1b[K\n`
            : `${renderDone(state, output.now(), undefined, prefix(), where)}\n`
        )
      }
      drawn = false
      if (batch) batch.doneBefore += state.total
      state = undefined
      unwatch()
    },
    current: () => (state ? { name: state.name, held: state.done } : undefined),
    notice: (line) => {
      // On a terminal, the line replaces whatever is on the current one (a bar, the ^C the terminal echoed).
      const wasDrawn = drawn
      erase()
      if (output.live && !wasDrawn) output.write("\r\x1b[K")
      output.write(`${wrapText(line, output.live ? output.width() : undefined)}\n`)
    },
    finish: () => {
      erase()
      unwatch()
      state = undefined
      hashing = undefined
    }
  }
}

import type { ProgressSink } from "../config.ts"
import { humanSize } from "./format.ts"
import { renderDone, renderProgress, type TransferState } from "./progress.ts"

export interface ProgressOutput {
  /** Writes text as is (no newline added). */
  readonly write: (text: string) => void
  /** A terminal that can redraw a line; without one, only result lines are printed. */
  readonly live: boolean
  readonly now: () => number
  readonly width: () => number
}

const REDRAW_MILLIS = 100

/**
 * Progress for one command: a redrawn bar on a terminal, or one result line
 * per file otherwise. `finish` closes the last bar.
 */
export const makeProgressView = (output: ProgressOutput): ProgressSink & { readonly finish: () => void } => {
  let state: TransferState | undefined
  let batch: { count: number; total: number; index: number; doneBefore: number } | undefined
  let drawnAt = 0
  let ticker: ReturnType<typeof setInterval> | undefined

  const prefix = () => (batch ? `[${batch.index}/${batch.count}] ` : "")
  const overall = () => {
    if (!batch || !state || batch.total === 0) return ""
    const done = batch.doneBefore + state.done
    return `  total ${Math.min(100, Math.floor((done / batch.total) * 100))}% de ${humanSize(batch.total)}`
  }
  const draw = () => {
    if (!state || !output.live) return
    drawnAt = output.now()
    output.write(`\r${prefix()}${renderProgress(state, drawnAt, output.width() - prefix().length)}${overall()}\x1b[K`)
  }
  const close = () => {
    if (!state) return
    const line = `${prefix()}${renderDone(state, output.now())}`
    output.write(output.live ? `\r${line}\x1b[K\n` : `${line}\n`)
    if (batch) batch.doneBefore += state.done
    state = undefined
    if (ticker) clearInterval(ticker)
    ticker = undefined
  }

  return {
    batch: (count, total) => {
      batch = { count, total, index: 0, doneBefore: 0 }
    },
    skip: () => {
      close()
      if (batch) batch.index++
    },
    start: (name, total, from) => {
      close()
      if (batch) batch.index++
      const now = output.now()
      state = { name, total, from, done: from, startedAt: now, movedAt: now }
      if (output.live) {
        draw()
        // Redraw while nothing arrives, so the bar can say "parado".
        ticker = setInterval(draw, 500)
      }
    },
    advance: (bytes) => {
      if (!state) return
      const now = output.now()
      state = { ...state, done: state.done + bytes, movedAt: now }
      if (now - drawnAt >= REDRAW_MILLIS) draw()
    },
    finish: () => {
      if (!state) return
      if (state.done >= state.total) close()
      else {
        // Interrupted: leave the bar where it stopped and end the line.
        if (output.live) output.write("\n")
        if (ticker) clearInterval(ticker)
        ticker = undefined
        state = undefined
      }
    }
  }
}

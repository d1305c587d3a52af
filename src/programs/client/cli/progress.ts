import { humanSize, printable } from "./format.ts"

/**
 * The progress bar: a pure function of the transfer's state and the time,
 * so it can be rendered from a fake clock in tests.
 */

export interface TransferState {
  readonly name: string
  readonly total: number
  /** Bytes already held when the transfer started (a resume). */
  readonly from: number
  readonly done: number
  readonly startedAt: number
  /** When a byte last moved. */
  readonly movedAt: number
}

/** After this long without progress, the bar says "parado". */
export const STALL_MILLIS = 3_000

const clock = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`
}

export const renderProgress = (state: TransferState, now: number, width = 80): string => {
  const fraction = state.total === 0 ? 1 : Math.min(1, state.done / state.total)
  const elapsed = Math.max(0.001, (now - state.startedAt) / 1000)
  const rate = (state.done - state.from) / elapsed
  const stalled = now - state.movedAt >= STALL_MILLIS && state.done < state.total
  const eta = stalled || rate <= 0 ? "--:--" : clock((state.total - state.done) / rate)
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4)
  const numbers = `${humanSize(state.done)}/${humanSize(state.total)}  ${humanSize(Math.round(rate))}/s  ETA ${eta}${stalled ? "  parado" : ""}`
  const name = printable(state.name)
  const barWidth = Math.max(10, Math.min(30, width - numbers.length - percent.length - 20))
  const filled = Math.round(fraction * barWidth)
  const bar = `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`
  const room = Math.max(8, width - bar.length - percent.length - numbers.length - 4)
  const shownName = name.length > room ? `…${name.slice(name.length - room + 1)}` : name
  return `${shownName} ${percent} ${bar} ${numbers}`
}

/** The line printed when a transfer ends, with or without a terminal. */
export const renderDone = (state: TransferState, now: number): string => {
  const seconds = Math.max(0.001, (now - state.startedAt) / 1000)
  const moved = state.done - state.from
  const resumed = state.from > 0 ? ` (retomado de ${humanSize(state.from)})` : ""
  return `${printable(state.name)}: ${humanSize(state.done)} em ${seconds.toFixed(1).replace(".", ",")} s, ${humanSize(Math.round(moved / seconds))}/s${resumed}`
}

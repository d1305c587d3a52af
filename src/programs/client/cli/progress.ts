import { humanSize, printable } from "./format.ts"

/**
 * The progress bar: a pure function of the transfer's state, the time and
 * the terminal's width, so it can be rendered from a fake clock in tests.
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

/** Where a file stands in an op 50 batch, for the "[i/N]" prefix and the overall percentage. */
export interface BatchPosition {
  readonly index: number
  readonly count: number
  /** Bytes of the whole batch received so far, this file's included. */
  readonly done: number
  readonly total: number
}

/** After this long without progress, the bar says "parado" and shows no rate. */
export const STALL_MILLIS = 3_000

const clock = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, "0")
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`
}

/** Columns a text takes on a terminal (wide characters and emoji count two). */
export const columns = (text: string): number => Bun.stringWidth(text)

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" })

/**
 * The end of `text` that fits in `room` columns, after an ellipsis when
 * something was cut: the end of a name (its extension) says most. Cut
 * between graphemes, so an accent or an emoji is never split.
 */
export const fitFromLeft = (text: string, room: number): string => {
  if (columns(text) <= room) return text
  if (room <= 0) return ""
  const parts = Array.from(graphemes.segment(text), (part) => part.segment)
  let kept = ""
  let used = 1 // the ellipsis
  for (let i = parts.length - 1; i >= 0; i--) {
    const width = columns(parts[i]!)
    if (used + width > room) break
    kept = parts[i] + kept
    used += width
  }
  return `…${kept}`
}

/** The start of `text` that fits in `room` columns (for a line that cannot fit at all). */
export const fitFromRight = (text: string, room: number): string => {
  if (columns(text) <= room) return text
  let kept = ""
  let used = 0
  for (const { segment } of graphemes.segment(text)) {
    const width = columns(segment)
    if (used + width > room) break
    kept += segment
    used += width
  }
  return kept
}

const BAR_MIN = 10
const BAR_MAX = 30
/** A name is cut to no less than this before a field is dropped to make room. */
const NAME_MIN = 16

type Field = "overall" | "eta" | "rate" | "bar" | "sizes"

/**
 * The fields by importance, most important first: the time left, the sizes,
 * a batch's overall percentage, the rate, and the bar (the percentage, always
 * shown, says what it draws). Each is shown if it fits after those before it.
 */
const IMPORTANCE: ReadonlyArray<Field> = ["eta", "sizes", "overall", "rate", "bar"]

/**
 * Columns a redrawn line leaves free at the right edge: a line that fills
 * the last column makes terminals wrap, and so does the "^C" a terminal
 * echoes after it, and the next write would then start on a new line.
 */
const MARGIN = 3

/**
 * One line that fits in a terminal `width` columns wide, with MARGIN to
 * spare. The name is shortened first, down to NAME_MIN columns; then fields
 * are left out, the least important first (IMPORTANCE), each one that still
 * fits kept.
 */
export const renderProgress = (state: TransferState, now: number, width = 80, batch?: BatchPosition): string => {
  const room = Math.max(1, width - MARGIN)
  const fraction = state.total === 0 ? 1 : Math.min(1, state.done / state.total)
  const elapsed = Math.max(0.001, (now - state.startedAt) / 1000)
  const rate = (state.done - state.from) / elapsed
  const stalled = now - state.movedAt >= STALL_MILLIS && state.done < state.total
  const prefix = batch ? `[${batch.index}/${batch.count}] ` : ""
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4)
  const texts: Record<Exclude<Field, "bar">, string> = {
    sizes: `${humanSize(state.done)}/${humanSize(state.total)}`,
    // A stalled transfer has no rate: an average that keeps falling would say it is still moving.
    rate: stalled ? "--/s" : `${humanSize(Math.round(rate))}/s`,
    eta: `ETA ${stalled || rate <= 0 ? "--:--" : clock((state.total - state.done) / rate)}${stalled ? "  parado" : ""}`,
    overall:
      batch && batch.total > 0
        ? `total ${Math.min(100, Math.floor((batch.done / batch.total) * 100))}% de ${humanSize(batch.total)}`
        : ""
  }
  const name = printable(state.name)
  const nameWidth = columns(name)
  const compose = (fields: ReadonlyArray<Field>, shownName: string, barWidth: number) => {
    const filled = Math.round(fraction * barWidth)
    let line = `${prefix}${shownName} ${percent}`
    if (fields.includes("bar")) line += ` [${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`
    if (fields.includes("sizes")) line += ` ${texts.sizes}`
    for (const field of ["rate", "eta", "overall"] as const) {
      if (fields.includes(field) && texts[field] !== "") line += `  ${texts[field]}`
    }
    return line
  }
  const nameNeed = Math.min(nameWidth, NAME_MIN)
  if (columns(compose([], "", 0)) + nameNeed <= room) {
    const fields: Array<Field> = []
    for (const field of IMPORTANCE) {
      if (field !== "bar" && texts[field] === "") continue
      if (columns(compose([...fields, field], "", BAR_MIN)) + nameNeed <= room) fields.push(field)
    }
    const free = room - columns(compose(fields, "", BAR_MIN))
    const shownName = fitFromLeft(name, free)
    const barWidth = fields.includes("bar") ? Math.min(BAR_MAX, BAR_MIN + free - columns(shownName)) : 0
    return compose(fields, shownName, barWidth)
  }
  // Not even the name and the percentage fit: as much of the name as there is room for.
  const fixed = columns(`${prefix} ${percent}`)
  return fitFromRight(compose([], fitFromLeft(name, Math.max(1, room - fixed)), 0), room)
}

/** What the bar shows while the MD5 of a partial is computed, before a resume. */
export const renderHashing = (name: string, bytes: number, width = 80, prefix = ""): string => {
  const room = Math.max(1, width - MARGIN)
  const rest = `: conferindo o MD5 dos ${humanSize(bytes)} já baixados…`
  const shown = fitFromLeft(printable(name), Math.max(NAME_MIN, room - columns(prefix + rest)))
  return fitFromRight(`${prefix}${shown}${rest}`, room)
}

/** Below this, a transfer's rate says more about latency than about the link: it is not shown. */
const RATE_MIN_BYTES = 256 * 1024
const RATE_MIN_SECONDS = 0.05

/**
 * The one line printed when a transfer is confirmed complete, with or
 * without a terminal. A resume separates what was held from what moved;
 * `where` (a download's local path) closes it, after an arrow.
 */
export const renderDone = (state: TransferState, now: number, width?: number, prefix = "", where?: string): string => {
  const seconds = Math.max(0.001, (now - state.startedAt) / 1000)
  const moved = state.done - state.from
  const timing =
    moved >= RATE_MIN_BYTES && seconds >= RATE_MIN_SECONDS
      ? ` em ${seconds.toFixed(1).replace(".", ",")} s, ${humanSize(Math.round(moved / seconds))}/s`
      : ""
  const landed = where === undefined ? "" : ` → ${printable(where)}`
  const restWith = (timing: string, landed: string) =>
    (state.from === 0
      ? `: ${humanSize(state.done)}${timing}`
      : `: ${humanSize(state.done)} (já tinha ${humanSize(state.from)}; recebidos ${humanSize(moved)}${timing})`) +
    landed
  const name = printable(state.name)
  if (width === undefined) return `${prefix}${name}${restWith(timing, landed)}`
  // On a terminal the line must not wrap either: the name is shortened, and where even a short
  // name leaves no room, the timing goes, then the path.
  const room = Math.max(1, width - MARGIN)
  const shortName = Math.min(columns(name), NAME_MIN)
  const rest =
    [restWith(timing, landed), restWith("", landed), restWith("", "")].find(
      (rest) => columns(prefix + rest) + shortName <= room
    ) ?? restWith("", "")
  return fitFromRight(`${prefix}${fitFromLeft(name, Math.max(NAME_MIN, room - columns(prefix + rest)))}${rest}`, room)
}

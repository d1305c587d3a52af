import type { ListingEntry } from "../../../domain/messages.ts"

export { wrap, wrapText } from "../../wrap.ts"

/** Text shown to people: sizes, tables, and names made safe to print. */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"]

/** One decimal under 10, none above; rounding decides the unit, so 1023,9 KiB shows as 1,0 MiB. */
const rounded = (value: number): string => {
  const one = value.toFixed(1)
  return Number(one) < 10 ? one : value.toFixed(0)
}

export const humanSize = (bytes: number): string => {
  if (bytes < 1024) return `${bytes} B`
  let value = bytes
  let unit = 0
  while (unit < UNITS.length - 1 && Number(rounded(value)) >= 1024) {
    value /= 1024
    unit++
  }
  return `${rounded(value).replace(".", ",")} ${UNITS[unit]}`
}

/** Names come from the network: escape anything a terminal would interpret. */
export const printable = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`)

/** Groups digits in threes, as "1.234.567". */
export const exactBytes = (bytes: number | bigint): string => bytes.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ".")

/** "1 arquivo", "2 arquivos": the count and the word that agrees with it. */
export const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" })

/**
 * `text` in at most `room` columns, shortened in the middle with an
 * ellipsis when it does not fit: the start and the end (the extension) of a
 * name say most. Cut between graphemes, so an accent or an emoji is never split.
 */
export const fitMiddle = (text: string, room: number): string => {
  if (Bun.stringWidth(text) <= room) return text
  if (room <= 1) return "…".slice(0, Math.max(0, room))
  const parts = Array.from(graphemes.segment(text), (part) => part.segment)
  const budget = room - 1
  let head = ""
  let tail = ""
  let headWidth = 0
  let tailWidth = 0
  let i = 0
  let j = parts.length - 1
  // The end gets the larger half: it holds the extension.
  for (let turn = 0; i <= j; turn++) {
    const fromEnd = turn % 2 === 0
    const part = fromEnd ? parts[j]! : parts[i]!
    const width = Bun.stringWidth(part)
    if (headWidth + tailWidth + width > budget) break
    if (fromEnd) {
      tail = part + tail
      tailWidth += width
      j--
    } else {
      head += part
      headWidth += width
      i++
    }
  }
  return `${head}…${tail}`
}

/** Pads by display columns, so wide characters and emoji keep a table aligned. */
const padEnd = (text: string, width: number) => text + " ".repeat(Math.max(0, width - Bun.stringWidth(text)))
const padStart = (text: string, width: number) => " ".repeat(Math.max(0, width - Bun.stringWidth(text))) + text

/** Below this, a name column is too narrow to read and the BYTES column gives way. */
const NAME_MIN = 12

/**
 * The listing as an aligned table with a total line. Given the terminal's
 * `width`, every line fits in it: long names are shortened in the middle
 * (the full names are in `listar --json`), and on a very narrow terminal the
 * exact byte counts give way to the names.
 */
export const listingTable = (entries: ReadonlyArray<ListingEntry>, width?: number): string => {
  if (entries.length === 0) return "(nenhum arquivo no servidor)"
  const rows = entries.map((entry) => {
    const bytes = BigInt(entry.tamanho)
    return { name: printable(entry.nome), human: humanSize(Number(bytes)), exact: exactBytes(bytes), bytes }
  })
  const total = rows.reduce((sum, row) => sum + row.bytes, 0n)
  const totalRow = {
    name: `total: ${rows.length} ${rows.length === 1 ? "arquivo" : "arquivos"}`,
    human: humanSize(Number(total)),
    exact: exactBytes(total)
  }
  const columns = Bun.stringWidth
  const humanWidth = Math.max("TAMANHO".length, ...rows.map((row) => row.human.length), totalRow.human.length)
  const exactWidth = Math.max("BYTES".length, ...rows.map((row) => row.exact.length), totalRow.exact.length)
  const longest = Math.max("NOME".length, ...rows.map((row) => columns(row.name)), columns(totalRow.name))
  const room = width === undefined ? Number.POSITIVE_INFINITY : Math.max(1, width - 1)
  const withExact = room - (humanWidth + exactWidth + 4) >= NAME_MIN
  const nameWidth = Math.max(
    "NOME".length,
    Math.min(longest, room - (humanWidth + 2) - (withExact ? exactWidth + 2 : 0))
  )
  const line = (name: string, human: string, exact: string) =>
    `${padEnd(fitMiddle(name, nameWidth), nameWidth)}  ${padStart(human, humanWidth)}` +
    (withExact ? `  ${padStart(exact, exactWidth)}` : "")
  return [
    line("NOME", "TAMANHO", "BYTES"),
    ...rows.map((row) => line(row.name, row.human, row.exact)),
    "-".repeat(nameWidth + humanWidth + 2 + (withExact ? exactWidth + 2 : 0)),
    line(totalRow.name, totalRow.human, totalRow.exact)
  ].join("\n")
}

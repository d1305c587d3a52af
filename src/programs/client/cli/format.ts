import type { ListingEntry } from "../../../domain/messages.ts"

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

/** Pads by display columns, so wide characters and emoji keep a table aligned. */
const padEnd = (text: string, width: number) => text + " ".repeat(Math.max(0, width - Bun.stringWidth(text)))
const padStart = (text: string, width: number) => " ".repeat(Math.max(0, width - Bun.stringWidth(text))) + text

/** The listing as an aligned table with a total line. */
export const listingTable = (entries: ReadonlyArray<ListingEntry>): string => {
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
  const width = Bun.stringWidth
  const nameWidth = Math.max("NOME".length, ...rows.map((row) => width(row.name)), totalRow.name.length)
  const humanWidth = Math.max("TAMANHO".length, ...rows.map((row) => row.human.length), totalRow.human.length)
  const exactWidth = Math.max("BYTES".length, ...rows.map((row) => row.exact.length), totalRow.exact.length)
  const line = (name: string, human: string, exact: string) =>
    `${padEnd(name, nameWidth)}  ${padStart(human, humanWidth)}  ${padStart(exact, exactWidth)}`
  return [
    line("NOME", "TAMANHO", "BYTES"),
    ...rows.map((row) => line(row.name, row.human, row.exact)),
    "-".repeat(nameWidth + humanWidth + exactWidth + 4),
    line(totalRow.name, totalRow.human, totalRow.exact)
  ].join("\n")
}

/** Numbers and sizes as Brazilian Portuguese text. */

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

/** A decimal number with a comma, fixed digits; "—" when there is no value. */
export const num = (value: number, digits = 2): string =>
  Number.isFinite(value)
    ? value.toLocaleString("pt-BR", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "—"

/** Enough significant digits for a table: 1 234, 12,3, 1,23, 0,123. */
export const auto = (value: number): string => {
  if (!Number.isFinite(value)) return "—"
  const magnitude = Math.abs(value)
  return num(value, magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3)
}

/** A byte count in the largest binary unit that divides it, or with decimals. */
export const formatSize = (bytes: number): string => {
  if (bytes >= GiB) return bytes % GiB === 0 ? `${bytes / GiB} GiB` : `${num(bytes / GiB, 1)} GiB`
  if (bytes >= MiB) return bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${num(bytes / MiB, 1)} MiB`
  if (bytes >= KiB) return bytes % KiB === 0 ? `${bytes / KiB} KiB` : `${num(bytes / KiB, 1)} KiB`
  return `${bytes} bytes`
}

/** An integer with thousands separated: 10.000. */
export const count = (value: number): string => value.toLocaleString("pt-BR", { maximumFractionDigits: 0 })

/** A ratio such as 0,45×. */
export const ratio = (value: number): string => (Number.isFinite(value) ? `${auto(value)}×` : "—")

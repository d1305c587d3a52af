import type { ManifestEntry } from "./messages.ts"
import { fitsU32 } from "./protocol.ts"

/** Encoders: values in, exact bytes out. */

const utf8 = new TextEncoder()

export const u32 = (value: number): Uint8Array => {
  if (!fitsU32(value)) {
    throw new RangeError(`not an unsigned 32-bit integer: ${value}`)
  }
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, value, false)
  return out
}

export const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let total = 0
  for (const part of parts) total += part.length
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** One named field of a message, as it goes on the wire (for encoding and for tracing). */
export interface Field {
  readonly label: string
  readonly bytes: Uint8Array
}

export const field = (label: string, bytes: Uint8Array): Field => ({ label, bytes })

const withLength = (text: string): ReadonlyArray<Uint8Array> => {
  const bytes = utf8.encode(text)
  return [u32(bytes.length), bytes]
}

export const lengthAndText = (lengthLabel: string, textLabel: string, text: string): ReadonlyArray<Field> => {
  const [length, bytes] = withLength(text)
  return [field(lengthLabel, length!), field(textLabel, bytes!)]
}

export const nameFields = (name: string) => lengthAndText("tamanho do nome", "nome", name)

/** A lone status byte. */
export const encodeStatus = (status: number): Uint8Array => Uint8Array.of(status)

/** A status byte followed by a 32-bit length (the header of every body). */
export const encodeStatusSize = (status: number, size: number): Uint8Array => concat([Uint8Array.of(status), u32(size)])

/** op 50 manifest: status 0, count, then each name with its size. */
export const encodeManifest = (status: number, entries: ReadonlyArray<ManifestEntry>): Uint8Array =>
  concat([
    Uint8Array.of(status),
    u32(entries.length),
    ...entries.flatMap((entry) => [...withLength(entry.name), u32(entry.size)])
  ])

/** op 50 refusal when the mask matched too many files. */
export const encodeLimit = (status: number, matches: number, cap: number): Uint8Array =>
  concat([Uint8Array.of(status), u32(matches), u32(cap)])

/**
 * IP addresses as 16 bytes (an IPv4 address is held as IPv4-mapped IPv6,
 * ::ffff:a.b.c.d), parsed strictly and written in one canonical form, so the
 * same peer always gets the same text in logs and per-address limits.
 */

export type IpBytes = Uint8Array

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

/** A decimal number with no leading zero (so "010" is refused, as the PROXY spec asks), at most `max`. */
export const parseDecimal = (text: string, max: number): number | undefined => {
  if (!/^(0|[1-9]\d{0,4})$/.test(text)) return undefined
  const value = Number(text)
  return value <= max ? value : undefined
}

/** Four decimal numbers 0..255, no leading zeros: "192.168.0.1". */
export const parseIPv4 = (text: string): Uint8Array | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const value = parseDecimal(parts[i]!, 255)
    if (value === undefined) return undefined
    out[i] = value
  }
  return out
}

/**
 * Groups of 1 to 4 hex digits separated by colons, at most one "::", exactly
 * 128 bits; the last 32 bits may be written as dotted IPv4 ("::ffff:1.2.3.4",
 * what inet_ntop writes for a mapped address).
 */
export const parseIPv6 = (text: string): Uint8Array | undefined => {
  if (text.length === 0 || text.length > 45) return undefined
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const groupsOf = (part: string): Array<number> | undefined => {
    if (part === "") return []
    const out: Array<number> = []
    const pieces = part.split(":")
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIPv4(piece)
        if (v4 === undefined) return undefined
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(Number.parseInt(piece, 16))
      } else {
        return undefined
      }
    }
    return out
  }
  const head = groupsOf(halves[0]!)
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  // A dotted IPv4 part may only end the address.
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined
  const count = head.length + tail.length
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined
  const groups = [...head, ...Array<number>(8 - count).fill(0), ...tail]
  const out = new Uint8Array(16)
  groups.forEach((group, i) => {
    out[2 * i] = group >> 8
    out[2 * i + 1] = group & 0xff
  })
  return out
}

/** IPv4 bytes as IPv4-mapped IPv6. */
export const mapIPv4 = (v4: Uint8Array): IpBytes => Uint8Array.from([...MAPPED_PREFIX, ...v4])

/** Either family, as 16 bytes. */
export const parseIp = (text: string): IpBytes | undefined => {
  const v4 = parseIPv4(text)
  return v4 !== undefined ? mapIPv4(v4) : parseIPv6(text)
}

const isMapped = (bytes: IpBytes) => MAPPED_PREFIX.every((byte, i) => bytes[i] === byte)

/**
 * The canonical text: dotted IPv4 for IPv4 and IPv4-mapped addresses (as the
 * transport shows them), otherwise RFC 5952 (lowercase, no leading zeros, the
 * longest run of two or more zero groups, the first one on a tie, as "::").
 */
export const formatIp = (bytes: IpBytes): string => {
  if (bytes.length === 4) return Array.from(bytes).join(".")
  if (isMapped(bytes)) return Array.from(bytes.subarray(12)).join(".")
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!)
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((group) => group.toString(16))
      .join(":")
  return bestStart < 0 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`
}

/** "a.b.c.d:port" or "[v6]:port", as the transport writes a peer. */
export const formatEndpoint = (address: string, port: number): string =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`

import { emit, fail, type Grammar, take, u8 } from "./decoder.ts"
import { formatEndpoint, formatIp, parseDecimal, parseIPv4, parseIPv6, parseIp } from "./ipAddress.ts"

/**
 * The PROXY protocol header (HAProxy's doc/proxy-protocol.txt, versions 1 and
 * 2) that a balancer puts in front of each connection it relays: who the
 * client really is. A grammar like the others, so the header is decoded from
 * any segmentation, one byte at a time included, and the request that follows
 * it is decoded by the same decoder without losing a byte.
 */

export interface ProxyEndpoint {
  /** Canonical text (see `formatIp`): IPv4 dotted, IPv6 compressed lowercase. */
  readonly address: string
  readonly port: number
}

/**
 * `Relayed`: the header names the client; it replaces the connection's own
 * address. `Local`: the connection's own address stands: a v2 LOCAL (the
 * balancer's health check), a v1 UNKNOWN, or a v2 PROXY for a family this
 * server does not take addresses from (unspecified, UNIX, datagram), which the
 * specification asks receivers to treat as unspecified.
 */
export type ProxyHeader =
  | {
      readonly _tag: "Relayed"
      readonly version: 1 | 2
      readonly source: ProxyEndpoint
      readonly destination: ProxyEndpoint
    }
  | { readonly _tag: "Local"; readonly version: 1 | 2; readonly why: "LOCAL" | "UNKNOWN" | "UNSPEC" | "UNIX" | "DGRAM" }

/** Version 2 starts with these 12 bytes ("\r\n\r\n\0\r\nQUIT\n"). */
export const V2_SIGNATURE = Uint8Array.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
/** Version 1 starts with "PROXY ". */
const V1_PREFIX = Uint8Array.from([0x50, 0x52, 0x4f, 0x58, 0x59, 0x20])
/** Longest version 1 line, CRLF included. */
export const V1_MAX_LINE = 107

const CR = 0x0d
const LF = 0x0a

const hex = (n: number) => `0x${n.toString(16).padStart(2, "0")}`

function* expectBytes<E>(expected: Uint8Array, from: number, what: string): Grammar<E> {
  // One byte at a time: a connection that does not start with a header is
  // refused at its first wrong byte, not after the balancer's 16.
  for (let i = from; i < expected.length; i++) {
    const byte = yield* u8<E>()
    if (byte !== expected[i])
      return yield* fail("BadProxyHeader", `${what}: byte ${i + 1} é ${hex(byte)}, esperado ${hex(expected[i]!)}`)
  }
}

function* u16<E>(): Grammar<E, number> {
  const bytes = yield* take<E>(2)
  return (bytes[0]! << 8) | bytes[1]!
}

/** The text line of version 1, after "PROXY ", up to (without) its CRLF, which must end within `V1_MAX_LINE` bytes. */
function* v1Line<E>(): Grammar<E, string> {
  let line = ""
  let afterCR = false
  for (let count = V1_PREFIX.length; count < V1_MAX_LINE; count++) {
    const byte = yield* u8<E>()
    if (afterCR && byte !== LF) return yield* fail("BadProxyHeader", "cabeçalho PROXY v1 com CR sem LF")
    if (byte === LF) {
      if (!afterCR) return yield* fail("BadProxyHeader", "cabeçalho PROXY v1 termina em LF sem CR")
      return line
    }
    afterCR = byte === CR
    if (afterCR) continue
    if (byte < 0x20 || byte > 0x7e)
      return yield* fail("BadProxyHeader", `cabeçalho PROXY v1 com byte ${hex(byte)} (só ASCII visível)`)
    line += String.fromCharCode(byte)
  }
  return yield* fail("BadProxyHeader", `cabeçalho PROXY v1 sem CRLF nos primeiros ${V1_MAX_LINE} bytes`)
}

/** Reads the fields of a version 1 line; a string is what is wrong with it. */
export const parseV1Line = (line: string): ProxyHeader | string => {
  if (line === "UNKNOWN" || line.startsWith("UNKNOWN ")) return { _tag: "Local", version: 1, why: "UNKNOWN" }
  const fields = line.split(" ")
  const [family, source, destination, sourcePort, destinationPort] = fields
  if (family !== "TCP4" && family !== "TCP6") return `protocolo "${family}" (use TCP4, TCP6 ou UNKNOWN)`
  if (fields.length !== 5) return `esperados 5 campos separados por um espaço, vieram ${fields.length}`
  const parse = family === "TCP4" ? parseIPv4 : parseIPv6
  const src = parse(source!)
  const dst = parse(destination!)
  if (src === undefined) return `endereço de origem ${family} inválido: "${source}"`
  if (dst === undefined) return `endereço de destino ${family} inválido: "${destination}"`
  const srcPort = parseDecimal(sourcePort!, 65535)
  const dstPort = parseDecimal(destinationPort!, 65535)
  if (srcPort === undefined) return `porta de origem inválida: "${sourcePort}"`
  if (dstPort === undefined) return `porta de destino inválida: "${destinationPort}"`
  return {
    _tag: "Relayed",
    version: 1,
    source: { address: formatIp(src), port: srcPort },
    destination: { address: formatIp(dst), port: dstPort }
  }
}

function* v1<E>(): Grammar<E, ProxyHeader> {
  yield* expectBytes<E>(V1_PREFIX, 1, "cabeçalho PROXY v1")
  const parsed = parseV1Line(yield* v1Line<E>())
  if (typeof parsed === "string") return yield* fail("BadProxyHeader", `cabeçalho PROXY v1: ${parsed}`)
  return parsed
}

/** Address bytes each family/protocol byte of version 2 needs at least. */
const V2_ADDRESS_BYTES: Record<number, number> = { 0: 0, 17: 12, 18: 12, 33: 36, 34: 36, 49: 216, 50: 216 }

const port = (bytes: Uint8Array, at: number) => (bytes[at]! << 8) | bytes[at + 1]!

function* v2<E>(): Grammar<E, ProxyHeader> {
  yield* expectBytes<E>(V2_SIGNATURE, 1, "cabeçalho PROXY v2")
  const versionCommand = yield* u8<E>()
  if (versionCommand >> 4 !== 2)
    return yield* fail("BadProxyHeader", `cabeçalho PROXY v2: versão ${versionCommand >> 4} (só 2)`)
  const command = versionCommand & 0x0f
  if (command > 1)
    return yield* fail("BadProxyHeader", `cabeçalho PROXY v2: comando ${hex(command)} (só LOCAL 0x0 e PROXY 0x1)`)
  const family = yield* u8<E>()
  const length = yield* u16<E>()
  // Whatever follows the addresses (TLVs) is part of the header and skipped.
  const block = yield* take<E>(length)
  // LOCAL: the balancer's own connection (a health check); the family is ignored.
  if (command === 0) return { _tag: "Local", version: 2, why: "LOCAL" }
  const needed = V2_ADDRESS_BYTES[family]
  if (needed === undefined)
    return yield* fail("BadProxyHeader", `cabeçalho PROXY v2: família/protocolo ${hex(family)} inválido`)
  if (length < needed) {
    return yield* fail(
      "BadProxyHeader",
      `cabeçalho PROXY v2: ${length} bytes de endereço para ${hex(family)}, que precisa de ${needed}`
    )
  }
  if (family === 0x00) return { _tag: "Local", version: 2, why: "UNSPEC" }
  if (family === 0x31 || family === 0x32) return { _tag: "Local", version: 2, why: "UNIX" }
  if (family === 0x12 || family === 0x22) return { _tag: "Local", version: 2, why: "DGRAM" }
  const size = family === 0x11 ? 4 : 16
  return {
    _tag: "Relayed",
    version: 2,
    source: { address: formatIp(block.subarray(0, size)), port: port(block, 2 * size) },
    destination: { address: formatIp(block.subarray(size, 2 * size)), port: port(block, 2 * size + 2) }
  }
}

/** One PROXY header, version 1 or 2, emitted as `toEvent(header)`. */
export function* proxyHeader<E>(toEvent: (header: ProxyHeader) => E): Grammar<E> {
  const first = yield* u8<E>()
  let header: ProxyHeader
  if (first === V2_SIGNATURE[0]) header = yield* v2<E>()
  else if (first === V1_PREFIX[0]) header = yield* v1<E>()
  else return yield* fail("BadProxyHeader", `a conexão não começa com um cabeçalho PROXY (primeiro byte ${hex(first)})`)
  yield* emit(toEvent(header))
}

/** A PROXY header, then what `inner` reads: the stream of a connection relayed by a balancer. */
export function* withProxyHeader<E>(inner: () => Grammar<E>, toEvent: (header: ProxyHeader) => E): Grammar<E> {
  yield* proxyHeader(toEvent)
  return yield* inner()
}

/** The address the connection is served as: the relayed client's, or the connection's own. */
export const clientNamedBy = (
  header: ProxyHeader,
  own: { readonly remote: string; readonly address: string }
): { readonly remote: string; readonly address: string } =>
  header._tag === "Local"
    ? own
    : { address: header.source.address, remote: formatEndpoint(header.source.address, header.source.port) }

/**
 * Encoders, for what sends a header (tests, the benchmark's clients): the v1
 * line of a relayed TCP connection, and the v2 block of a relayed one or of a
 * LOCAL one. Both families must match; IPv4 is written as IPv4.
 */
export const encodeProxyV1 = (source: ProxyEndpoint, destination: ProxyEndpoint): Uint8Array => {
  const family = source.address.includes(":") ? "TCP6" : "TCP4"
  return new TextEncoder().encode(
    `PROXY ${family} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`
  )
}

export const encodeProxyV2 = (relayed?: {
  readonly source: ProxyEndpoint
  readonly destination: ProxyEndpoint
}): Uint8Array => {
  if (relayed === undefined) return Uint8Array.from([...V2_SIGNATURE, 0x20, 0x00, 0x00, 0x00])
  const v4 = !relayed.source.address.includes(":")
  const bytesOf = (address: string) => {
    const bytes = parseIp(address)
    if (bytes === undefined) throw new RangeError(`not an IP address: ${address}`)
    return v4 ? bytes.subarray(12) : bytes
  }
  const ports = [
    relayed.source.port >> 8,
    relayed.source.port & 0xff,
    relayed.destination.port >> 8,
    relayed.destination.port & 0xff
  ]
  const block = [...bytesOf(relayed.source.address), ...bytesOf(relayed.destination.address), ...ports]
  return Uint8Array.from([...V2_SIGNATURE, 0x21, v4 ? 0x11 : 0x21, block.length >> 8, block.length & 0xff, ...block])
}

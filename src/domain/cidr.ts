import * as Either from "effect/Either"
import { formatIp, type IpBytes, mapIPv4, parseIPv4, parseIPv6 } from "./ipAddress.ts"

/** A block of addresses: "10.0.0.0/8", "::1/128", or one address alone. IPv4 blocks are held as mapped IPv6. */
export interface Cidr {
  readonly network: IpBytes
  /** Prefix length over the 128 bits (an IPv4 /8 is /104 here). */
  readonly bits: number
  readonly text: string
}

/** Loopback, both families: the default set of trusted proxies. */
export const LOOPBACK_TEXT = ["127.0.0.0/8", "::1/128"] as const

const maskFrom = (address: IpBytes, bits: number): IpBytes =>
  address.map((byte, i) => {
    const left = bits - 8 * i
    return left >= 8 ? byte : left <= 0 ? 0 : byte & (0xff << (8 - left))
  })

/** Parses a block; Left is a Portuguese message. Host bits must be zero ("10.0.0.1/8" is refused as a likely typo). */
export const parseCidr = (text: string): Either.Either<Cidr, string> => {
  const [address, prefix, extra] = text.split("/")
  if (address === undefined || extra !== undefined) return Either.left(`bloco de endereços inválido: "${text}"`)
  const v4 = parseIPv4(address)
  const bytes = v4 !== undefined ? mapIPv4(v4) : parseIPv6(address)
  if (bytes === undefined) return Either.left(`endereço inválido: "${address}" em "${text}"`)
  const familyBits = v4 !== undefined ? 32 : 128
  let bits = familyBits
  if (prefix !== undefined) {
    bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN
    if (!(bits >= 0 && bits <= familyBits)) {
      return Either.left(`prefixo inválido em "${text}" (use /0 a /${familyBits})`)
    }
  }
  const total = bits + (128 - familyBits)
  const network = maskFrom(bytes, total)
  if (network.some((byte, i) => byte !== bytes[i])) {
    return Either.left(`"${text}" tem bits de máquina depois do prefixo (quis dizer ${formatIp(network)}/${bits}?)`)
  }
  return Either.right({ network, bits: total, text })
}

/** Whether the address (16 bytes) is inside the block. */
export const contains = (cidr: Cidr, address: IpBytes): boolean =>
  maskFrom(address, cidr.bits).every((byte, i) => byte === cidr.network[i])

export const LOOPBACK: ReadonlyArray<Cidr> = LOOPBACK_TEXT.map((text) => Either.getOrThrow(parseCidr(text)))

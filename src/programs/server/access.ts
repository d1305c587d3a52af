import { BlockList, isIP } from "node:net"
import type { Cidr } from "../../domain/cidr.ts"

/**
 * Whether an address is inside any of the blocks, for `--permitir` (client
 * networks) and `--proxies-confiaveis` (balancers). `node:net`'s BlockList
 * does the matching (an IPv4-mapped IPv6 address is matched against IPv4
 * networks); the blocks come from the one parser, `parseCidr`.
 */
export const addressMatcher = (blocks: ReadonlyArray<Cidr>): ((address: string) => boolean) => {
  const list = new BlockList()
  for (const block of blocks) {
    const [address = "", prefix] = block.text.split("/")
    const family = isIP(address) === 4 ? "ipv4" : "ipv6"
    list.addSubnet(address, prefix === undefined ? (family === "ipv4" ? 32 : 128) : Number(prefix), family)
  }
  return (address) => {
    const version = isIP(address)
    return version !== 0 && list.check(address, version === 4 ? "ipv4" : "ipv6")
  }
}

/** `--permitir`: no list lets every address in. */
export const makeAccess = (allow: ReadonlyArray<Cidr> | undefined): ((address: string) => boolean) =>
  allow === undefined ? () => true : addressMatcher(allow)

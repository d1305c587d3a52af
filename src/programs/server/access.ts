import { BlockList, isIP } from "node:net"
import type { Subnet } from "./args.ts"

/**
 * `--permitir`: whether a client address may be served. `node:net`'s
 * BlockList does the matching (an IPv4-mapped IPv6 address is matched
 * against IPv4 networks); no list lets every address in.
 */
export const makeAccess = (allow: ReadonlyArray<Subnet> | undefined): ((address: string) => boolean) => {
  if (allow === undefined) return () => true
  const list = new BlockList()
  for (const subnet of allow) list.addSubnet(subnet.address, subnet.prefix, subnet.family)
  return (address) => {
    const version = isIP(address)
    return version !== 0 && list.check(address, version === 4 ? "ipv4" : "ipv6")
  }
}

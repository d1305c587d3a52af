import { networkInterfaces } from "node:os"

/** "host:port" for every address of every interface a client can reach the server on. */
export const reachableAddresses = (listenHost: string, port: number): ReadonlyArray<string> => {
  const dualStack = listenHost === "::"
  const found: Array<string> = []
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && (dualStack || listenHost === "0.0.0.0")) {
        found.push(`${address.address}:${port}  (${name})`)
      } else if (address.family === "IPv6" && dualStack) {
        const scope = address.scopeid ? `%${name}` : ""
        found.push(`[${address.address}${scope}]:${port}  (${name})`)
      }
    }
  }
  if (!dualStack && listenHost !== "0.0.0.0")
    found.push(listenHost.includes(":") ? `[${listenHost}]:${port}` : `${listenHost}:${port}`)
  return found
}

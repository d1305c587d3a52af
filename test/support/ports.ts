import * as net from "node:net"

/**
 * A TCP port free on 127.0.0.1 right now: bound and released, so nothing
 * listens on it (a connect is refused) until something binds it again.
 */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))
      )
    })
  })

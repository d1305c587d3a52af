import { readFileSync } from "node:fs"
import * as net from "node:net"

/**
 * Where the kernel picks the local ports of outgoing connections and of
 * `listen(0)` (Linux's ip_local_port_range; its default elsewhere).
 */
const ephemeralRange = (): { readonly low: number; readonly high: number } => {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number)
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return { low, high }
  } catch {}
  return { low: 32768, high: 60999 }
}

/**
 * Ports handed out below the ephemeral range. A port the kernel picked would
 * be free when handed out, but until the test binds it any connection this
 * process opens may be given it as its own local port (a test that waits for
 * one server by connecting to it, before starting the next, did exactly
 * that: "Address already in use"). Below the range, only a bind takes it.
 */
const PICK_FROM = 10_000
const picked = new Set<number>()

/** Whether `port` can be bound on 127.0.0.1 right now (and it is released again). */
const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const probe = net.createServer()
    probe.once("error", () => resolve(false))
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)))
  })

/** A port the kernel picks, the fallback where no range is left below its own. */
const kernelPort = (): Promise<number> =>
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

/**
 * A TCP port free on 127.0.0.1 right now, that nothing but a bind will take:
 * below the kernel's ephemeral range, and never the same one twice in this
 * process. Nothing listens on it (a connect is refused) until something binds it.
 */
export const freePort = async (): Promise<number> => {
  const { low } = ephemeralRange()
  const span = low - PICK_FROM
  if (span < 1_000) return kernelPort()
  for (let tries = 0; tries < 100; tries++) {
    const port = PICK_FROM + Math.floor(Math.random() * span)
    if (picked.has(port)) continue
    picked.add(port)
    if (await bindable(port)) return port
  }
  return kernelPort()
}

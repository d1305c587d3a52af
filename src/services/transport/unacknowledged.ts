import { readFileSync } from "node:fs"

/**
 * How many bytes this side wrote to a TCP connection that the peer has not
 * acknowledged yet, as the kernel reports it; undefined where it does not.
 *
 * Bun's socket API shows a send's progress only while there is something
 * left to write (how many bytes `write` takes). Once everything was taken,
 * up to the kernel's send buffer of megabytes, nothing in it shows whether
 * those bytes still reach a slow peer or sit still. Linux reports it per
 * socket in /proc/net/tcp and /proc/net/tcp6: `tx_queue` is the sequence
 * written by the application minus the one acknowledged by the peer. A side
 * that waits for a reply after sending (the client awaiting an upload's final
 * status) looks here to tell a peer still reading from one that stopped.
 *
 * Each look reads the table of every TCP socket of the machine: it is made
 * only when a wait has already run past its deadline, and then at most once
 * per probe interval.
 */

export interface SocketEnds {
  readonly localPort: number
  readonly remotePort: number
  readonly localFamily?: "IPv4" | "IPv6"
}

const TABLES = { IPv4: ["/proc/net/tcp", "/proc/net/tcp6"], IPv6: ["/proc/net/tcp6", "/proc/net/tcp"] } as const

/** The state column of a listening socket, which has no peer. */
const LISTEN = "0A"

let unavailable = false

const portSuffix = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, "0")}`

/**
 * The `tx_queue` of the row whose local and remote ports are these, in one
 * table's text; undefined when no row matches. Rows are
 * `sl local_address rem_address st tx_queue:rx_queue ...`, addresses as
 * `HEXADDR:HEXPORT`.
 */
export const txQueueIn = (table: string, localPort: number, remotePort: number): number | undefined => {
  const local = portSuffix(localPort)
  const remote = portSuffix(remotePort)
  for (let at = table.indexOf("\n") + 1; at > 0 && at < table.length; ) {
    const end = table.indexOf("\n", at)
    const line = table.slice(at, end < 0 ? table.length : end)
    at = end + 1
    const fields = line.trim().split(/\s+/)
    if (fields.length < 5 || fields[3] === LISTEN || !fields[1]!.endsWith(local) || !fields[2]!.endsWith(remote))
      continue
    const queue = Number.parseInt(fields[4]!.split(":")[0]!, 16)
    return Number.isFinite(queue) ? queue : undefined
  }
  return undefined
}

/** Whether the system's tables could be read (so a missing row means the connection is gone). */
export const systemTables = (): boolean => !unavailable

export const unacknowledgedBytes = (ends: SocketEnds): number | undefined => {
  if (unavailable || !Number.isInteger(ends.localPort) || !Number.isInteger(ends.remotePort)) return undefined
  for (const file of TABLES[ends.localFamily ?? "IPv4"]) {
    let table: string
    try {
      table = readFileSync(file, "latin1")
    } catch {
      // Not Linux, or no /proc: the caller keeps plain deadlines.
      if (file === "/proc/net/tcp") unavailable = true
      continue
    }
    const queue = txQueueIn(table, ends.localPort, ends.remotePort)
    if (queue !== undefined) return queue
  }
  return undefined
}

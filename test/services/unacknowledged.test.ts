import { describe, expect, test } from "bun:test"
import { txQueueIn, unacknowledgedBytes } from "../../src/services/transport/unacknowledged.ts"

/** Rows as Linux prints them in /proc/net/tcp (IPv4) and /proc/net/tcp6. */
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:4E20 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:4E20 0100007F:A1B2 01 00000000:00000010 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:A1B2 0100007F:4E20 01 0009A000:00000000 01:00000014 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1
`
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:C350 00000000000000000000000001000000:9C41 01 00010000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 20 4 1 10 -1
`

describe("txQueueIn", () => {
  test("finds the row by local and remote port and reads tx_queue in hex", () => {
    expect(txQueueIn(TCP, 0xa1b2, 0x4e20)).toBe(0x9a000)
    expect(txQueueIn(TCP, 0x4e20, 0xa1b2)).toBe(0)
    expect(txQueueIn(TCP6, 0xc350, 0x9c41)).toBe(0x10000)
  })

  test("no row for those ports: undefined (the header and the listening row never match)", () => {
    expect(txQueueIn(TCP, 0x4e20, 0x4e21)).toBeUndefined()
    expect(txQueueIn(TCP, 0x4e20, 0)).toBeUndefined()
    expect(txQueueIn("", 1, 2)).toBeUndefined()
  })
})

test.skipIf(process.platform !== "linux")(
  "unacknowledgedBytes finds a live loopback connection (0 once idle)",
  async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {}, error() {} } })
    const client = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {}, error() {} } })
    try {
      expect(unacknowledgedBytes({ localPort: client.localPort, remotePort: server.port, localFamily: "IPv4" })).toBe(0)
    } finally {
      client.end()
      server.stop(true)
    }
  }
)

test("a closed socket's missing ports: undefined, never a throw (it runs from a timer)", () => {
  // Bun reports remotePort as undefined once a socket has closed.
  const closed = { localPort: 40_000, remotePort: undefined as unknown as number }
  expect(unacknowledgedBytes(closed)).toBeUndefined()
})

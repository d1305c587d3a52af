import * as net from "node:net"

/**
 * One session of every operation, sent as raw bytes so the capture holds
 * exactly the messages the dissector test expects. Each exchange runs on its
 * own connection, to completion, one after the other.
 */

export const u32 = (value: number) => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value)
  return out
}

export const named = (op: number, name: string) =>
  Buffer.concat([Buffer.of(op), u32(Buffer.byteLength(name)), Buffer.from(name)])

export const md5 = (bytes: Uint8Array) => Buffer.from(new Bun.CryptoHasher("md5").update(bytes).digest())

/**
 * Sends `steps` in order — each one after the server has sent at least
 * `waitFor` bytes in total — and collects everything until the server closes.
 */
export const converse = (
  port: number,
  steps: ReadonlyArray<{ readonly send: Uint8Array; readonly waitFor?: number }>,
  millis = 10_000
) =>
  new Promise<Buffer>((resolve, reject) => {
    const parts: Array<Buffer> = []
    let received = 0
    let step = 0
    const socket = net.connect({ host: "127.0.0.1", port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error("the exchange did not end in time"))
    }, millis)
    const pump = () => {
      while (step < steps.length && received >= (steps[step]!.waitFor ?? 0)) socket.write(steps[step++]!.send)
    }
    socket.on("connect", pump)
    socket.on("data", (data: Buffer) => {
      parts.push(data)
      received += data.length
      pump()
    })
    socket.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on("close", () => {
      clearTimeout(timer)
      resolve(Buffer.concat(parts))
    })
  })

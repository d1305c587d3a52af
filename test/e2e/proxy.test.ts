import { afterEach, describe, expect, test } from "bun:test"
import { readdir, readFile, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { Either } from "effect"
import { LOOPBACK, parseCidr } from "../../src/domain/cidr.ts"
import { u32 } from "../../src/domain/encode.ts"
import { encodeRequest } from "../../src/domain/operations.ts"
import { encodeProxyV1, encodeProxyV2 } from "../../src/domain/proxyHeader.ts"
import { startServer, type TestServer, type TestServerOptions } from "../support/harness.ts"
import { bytesOf, hexOf, waitFor } from "../support/hostile.ts"
import { holdOpen } from "../support/rawClient.ts"
import { piecesOf, rawExchange } from "../support/rawExchange.ts"

/**
 * The server with `--protocolo-proxy`, driven by raw sockets that write the
 * PROXY header themselves (the HAProxy tests are in test/interop/haproxy.test.ts).
 */

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const start = async (options: TestServerOptions = {}) => {
  server = await startServer({
    timeoutSeconds: 3,
    ...options,
    settings: { proxyProtocol: true, trustedProxies: LOOPBACK, ...options.settings }
  })
  await writeFile(path.join(server.serverDir, "a.txt"), "hello")
  return server
}

const client = (address: string, port = 40000) => ({ address, port })
const utf8Of = (text: string) => new TextEncoder().encode(text)
const v1 = (address: string, port = 40000) => encodeProxyV1(client(address, port), client("127.0.0.1", 20000))
const v2 = (address: string, port = 40000) =>
  encodeProxyV2({
    source: client(address, port),
    destination: client(address.includes(":") ? "::1" : "127.0.0.1", 20000)
  })

const DOWNLOAD_A = encodeRequest({ _tag: "Download", name: "a.txt" })
const A_REPLY = hexOf(bytesOf(0, u32(5), "hello"))
const logLine = (s: TestServer, text: string) => waitFor(() => s.logs.some((line) => line.includes(text)))

describe("a valid header: served as the client it names", () => {
  test("v1 then op 10: byte-exact reply; the log names the relayed client", async () => {
    const s = await start()
    const { reply } = await rawExchange(s.port, bytesOf(v1("203.0.113.7", 51000), DOWNLOAD_A))
    expect(hexOf(reply)).toBe(A_REPLY)
    expect(await logLine(s, "203.0.113.7:51000 baixar a.txt ok 5 bytes")).toBe(true)
  })

  test("v2 IPv6 then op 30 and op 10: stored and read back; the log shows [2001:db8::9]:port", async () => {
    const s = await start()
    const upload = bytesOf(
      v2("2001:db8::9", 6000),
      encodeRequest({ _tag: "Upload", name: "novo.bin" }),
      u32(4),
      "\r\n\r\n"
    )
    expect(hexOf((await rawExchange(s.port, upload)).reply)).toBe("0000")
    expect(await readFile(path.join(s.serverDir, "novo.bin"), "latin1")).toBe("\r\n\r\n")
    expect(await logLine(s, "[2001:db8::9]:6000 enviar novo.bin ok")).toBe(true)
  })

  test("header and request one byte at a time: the same reply", async () => {
    const s = await start()
    const bytes = bytesOf(v2("198.51.100.1"), DOWNLOAD_A)
    const { reply } = await rawExchange(s.port, bytes, { pieces: piecesOf(bytes, 1), pauseMillis: 2 })
    expect(hexOf(reply)).toBe(A_REPLY)
  })

  test("v2 LOCAL (a health check) then op 20: served, logged with the connection's own address", async () => {
    const s = await start()
    const { reply } = await rawExchange(s.port, bytesOf(encodeProxyV2(), 20))
    expect(hexOf(reply.subarray(0, 1))).toBe("00")
    expect(JSON.parse(new TextDecoder().decode(reply.subarray(5)))).toEqual([{ nome: "a.txt", tamanho: "5" }])
    expect(await waitFor(() => s.logs.some((line) => / 127\.0\.0\.1:\d+ listar - ok \(1 arquivo\)/.test(line)))).toBe(
      true
    )
  })

  test("v1 UNKNOWN: the connection's own address", async () => {
    const s = await start()
    const { reply } = await rawExchange(s.port, bytesOf("PROXY UNKNOWN\r\n", DOWNLOAD_A))
    expect(hexOf(reply)).toBe(A_REPLY)
    expect(await waitFor(() => s.logs.some((line) => / 127\.0\.0\.1:\d+ baixar a\.txt ok/.test(line)))).toBe(true)
  })
})

describe("refused without being served, and logged", () => {
  test("a plain request without a header: closed at once, not a byte answered", async () => {
    const s = await start()
    const { reply, timedOut, millis } = await rawExchange(s.port, DOWNLOAD_A, { limitMillis: 2_500 })
    expect({ reply: hexOf(reply), timedOut }).toEqual({ reply: "", timedOut: false })
    expect(millis).toBeLessThan(2_000)
    expect(await logLine(s, "recusado: sem cabeçalho PROXY válido")).toBe(true)
    expect(s.logs.some((line) => line.includes("baixar"))).toBe(false)
  })

  test("a broken header: closed, and the log says what is wrong", async () => {
    const s = await start()
    const { reply } = await rawExchange(s.port, bytesOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", DOWNLOAD_A))
    expect(hexOf(reply)).toBe("")
    expect(await logLine(s, "porta de destino inválida")).toBe(true)
  })

  test("a header from a source outside --proxies-confiaveis: closed before a byte is read", async () => {
    const s = await start({ settings: { trustedProxies: [Either.getOrThrow(parseCidr("10.0.0.0/8"))] } })
    const { reply } = await rawExchange(s.port, bytesOf(v2("203.0.113.7"), DOWNLOAD_A))
    expect(hexOf(reply)).toBe("")
    expect(await logLine(s, "recusado: não é um proxy confiável")).toBe(true)
    expect(s.logs.some((line) => line.includes("203.0.113.7"))).toBe(false)
  })
})

describe("--max-por-ip counts the relayed client, not the balancer", () => {
  test("a second connection of one relayed client gets 01; another relayed client through the same proxy is served", async () => {
    const s = await start({ settings: { maxPerAddress: 1 } })
    // Held open: an upload announced and never sent.
    const held = await holdOpen(
      s.port,
      bytesOf(v2("192.0.2.10"), encodeRequest({ _tag: "Upload", name: "lento.bin" }), u32(10))
    )
    try {
      expect(await waitFor(() => held.received().length >= 1)).toBe(true)
      expect(hexOf(held.received())).toBe("00")
      const same = await rawExchange(s.port, bytesOf(v2("192.0.2.10", 40001), DOWNLOAD_A), { limitMillis: 3_000 })
      expect(hexOf(same.reply)).toBe("01")
      expect(await logLine(s, "192.0.2.10:40001 ? - recusado: limite de 1 por endereço")).toBe(true)
      const other = await rawExchange(s.port, bytesOf(v2("192.0.2.11"), DOWNLOAD_A))
      expect(hexOf(other.reply)).toBe(A_REPLY)
    } finally {
      held.socket.destroy()
    }
    expect(await waitFor(async () => (await readdir(s.serverDir)).every((name) => !name.startsWith(".envio-")))).toBe(
      true
    )
  })
})

describe("--max-clientes counts a connection from the moment it is accepted, before its header", () => {
  test("one connection still sending its header fills a limit of 1: the next is answered 01 at once", async () => {
    const s = await start({ settings: { maxClients: 1 } })
    const waiting = await holdOpen(s.port, utf8Of("PROXY TCP4 192.0.2.1"))
    try {
      await Bun.sleep(50)
      const next = await rawExchange(s.port, bytesOf(v2("192.0.2.2"), DOWNLOAD_A), { limitMillis: 3_000 })
      expect(hexOf(next.reply)).toBe("01")
      expect(await logLine(s, "recusado: limite de 1 conexão ao mesmo tempo")).toBe(true)
    } finally {
      waiting.socket.destroy()
    }
    expect(
      await waitFor(
        async () => hexOf((await rawExchange(s.port, bytesOf(v2("192.0.2.2"), DOWNLOAD_A))).reply) === A_REPLY
      )
    ).toBe(true)
  })
})

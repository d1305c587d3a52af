import { afterAll, afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { concat, u32 } from "../../src/domain/encode.ts"
import { encodeRequest } from "../../src/domain/operations.ts"
import { freePort, spawnDaemon, stopAll } from "../bin/processes.ts"
import { parseExposition, sampleValue } from "../support/prometheus.ts"
import { holdOpen } from "../support/rawClient.ts"
import { rawExchange } from "../support/rawExchange.ts"
import { eventually } from "../support/waiting.ts"
import { startAtTakenPort } from "./takenPort.ts"

/**
 * --metricas on the real server process: /metrics read with a strict parser
 * of the exposition format after real operations, every counter moved by
 * exactly what was done; /saude answers 200, then 503 through the drain.
 */

const MAIN = "src/programs/server/main.ts"
const dirs: Array<string> = []
const folder = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ops-metrics-"))
  dirs.push(dir)
  return dir
}
afterEach(() => stopAll())
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const download = (name: string) => encodeRequest({ _tag: "Download", name })
/** An upload's request and size, then `body`. */
const upload = (name: string, size: number, body: Uint8Array) =>
  concat([encodeRequest({ _tag: "Upload", name }), u32(size), body])

const start = async (extra: ReadonlyArray<string> = []) => {
  const served = folder()
  writeFileSync(path.join(served, "a.txt"), "hello")
  const port = await freePort()
  const metricsPort = await freePort()
  const server = spawnDaemon([
    process.execPath,
    MAIN,
    String(port),
    "--endereco",
    "127.0.0.1",
    "--pasta",
    served,
    "--metricas",
    `127.0.0.1:${metricsPort}`,
    "--log",
    "json",
    ...extra
  ])
  await server.waitFor(/SIGHUP recarrega/)
  const base = `http://127.0.0.1:${metricsPort}`
  return { server, port, base, served }
}

const scrape = async (base: string) => {
  const response = await fetch(`${base}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
  return parseExposition(await response.text())
}

describe("--metricas", () => {
  test("counts downloads, uploads, listings and a refused connection exactly, in a valid exposition", async () => {
    const { server, port, base } = await start(["--permitir", "127.0.0.1"])
    expect(server.stdout).toContain(`"metricas":"${base}/metrics"`)
    const before = await scrape(base)
    for (const family of [
      "arquivos_operacoes_total",
      "arquivos_bytes_total",
      "arquivos_conexoes_ativas",
      "arquivos_recusas_total",
      "arquivos_operacao_duracao_segundos",
      "process_resident_memory_bytes"
    ]) {
      expect(before.get(family)?.help, family).toBeString()
    }
    expect(before.get("arquivos_operacao_duracao_segundos")!.type).toBe("histogram")
    expect(sampleValue(before, "arquivos_operacoes_total", { op: "baixar", resultado: "ok" })).toBe(0)
    expect(sampleValue(before, "process_resident_memory_bytes")).toBeGreaterThan(0)

    const body = Buffer.alloc(3000, 7)
    await rawExchange(port, download("a.txt"))
    await rawExchange(port, download("a.txt"))
    await rawExchange(port, download("falta.txt"))
    await rawExchange(port, upload("b.bin", body.length, body))
    await rawExchange(port, Uint8Array.of(20))
    // From an address outside --permitir: answered 01 and closed.
    const refused = await rawExchange(port, Uint8Array.of(20), { localAddress: "127.0.0.2" })
    expect([...refused.reply]).toEqual([1])
    await server.waitFor(/"op":"listar"[^\n]*\n/)
    await server.waitFor(/"evento":"recusa"/)
    const listed = JSON.parse(server.stdout.match(/^.*"op":"listar".*$/m)![0]) as { bytes: number }

    const after = await scrape(base)
    const ops = (op: string, resultado: string) => sampleValue(after, "arquivos_operacoes_total", { op, resultado })
    expect(ops("baixar", "ok")).toBe(2)
    expect(ops("baixar", "falha")).toBe(1)
    expect(ops("enviar", "ok")).toBe(1)
    expect(ops("listar", "ok")).toBe(1)
    expect(ops("retomar", "ok")).toBe(0)
    expect(sampleValue(after, "arquivos_bytes_total", { direcao: "entrada" })).toBe(body.length)
    expect(sampleValue(after, "arquivos_bytes_total", { direcao: "saida" })).toBe(2 * 5 + listed.bytes)
    expect(sampleValue(after, "arquivos_recusas_total", { motivo: "permitir" })).toBe(1)
    expect(sampleValue(after, "arquivos_recusas_total", { motivo: "limite-conexoes" })).toBe(0)
    expect(sampleValue(after, "arquivos_operacao_duracao_segundos_count", { op: "baixar" })).toBe(3)
    expect(sampleValue(after, "arquivos_operacao_duracao_segundos_bucket", { op: "baixar", le: "+Inf" })).toBe(3)
    expect(sampleValue(after, "arquivos_operacao_duracao_segundos_count", { op: "enviar" })).toBe(1)
    expect(sampleValue(after, "arquivos_conexoes_ativas")).toBe(0)
    expect(sampleValue(after, "arquivos_aceitando")).toBe(1)
  }, 30_000)

  test("behind a balancer, a connection without a PROXY header counts as proxy-sem-cabecalho", async () => {
    const { server, port, base } = await start(["--protocolo-proxy"])
    await rawExchange(port, Uint8Array.of(20))
    await server.waitFor(/"evento":"recusa"/)
    const after = await scrape(base)
    expect(sampleValue(after, "arquivos_recusas_total", { motivo: "proxy-sem-cabecalho" })).toBe(1)
    expect(sampleValue(after, "arquivos_recusas_total", { motivo: "proxy-nao-confiavel" })).toBe(0)
    expect(sampleValue(after, "arquivos_operacoes_total", { op: "listar", resultado: "ok" })).toBe(0)
  }, 30_000)

  test("arquivos_conexoes_ativas counts a connection in flight; /saude is 200, then 503 through the drain", async () => {
    const { server, port, base } = await start()
    expect((await fetch(`${base}/saude`)).status).toBe(200)
    // An upload that announced 1 MB and sent 10 bytes: it holds its place until the drain's grace ends.
    const held = await holdOpen(port, upload("lento.bin", 1_000_000, Buffer.alloc(10)))
    expect(
      await eventually(async () => sampleValue(await scrape(base), "arquivos_conexoes_ativas") === 1, { millis: 5_000 })
    ).toBe(true)
    server.process.kill("SIGTERM")
    await server.waitFor(/"evento":"encerrando"/)
    const during = await fetch(`${base}/saude`)
    expect(during.status).toBe(503)
    expect(await during.text()).toContain("encerrando")
    expect(sampleValue(await scrape(base), "arquivos_aceitando")).toBe(0)
    expect(server.process.exitCode).toBeNull()
    held.socket.destroy()
    expect(await server.process.exited).toBe(0)
  }, 30_000)

  test("another path is 404; a POST is 405; an HTTP/1.0 check without Host is answered; the file port never answers HTTP", async () => {
    const { port, base } = await start()
    expect((await fetch(`${base}/`)).status).toBe(404)
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405)
    // As HAProxy's check sends it: HTTP/1.0, no Host header.
    const metricsPort = Number(new URL(base).port)
    const check = await rawExchange(metricsPort, new TextEncoder().encode("GET /saude HTTP/1.0\r\n\r\n"))
    expect(new TextDecoder().decode(check.reply)).toStartWith("HTTP/1.1 200 OK\r\n")
    const onFilePort = await rawExchange(port, new TextEncoder().encode("GET /metrics HTTP/1.0\r\n\r\n"))
    expect(new TextDecoder().decode(onFilePort.reply)).not.toContain("arquivos_")
  }, 30_000)

  test("a metrics port already taken stops the start-up with a clear line and status 1", async () => {
    expect(await startAtTakenPort("--metricas", folder())).toEqual({ status: 1, named: true })
  }, 30_000)
})

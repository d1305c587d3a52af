import { afterAll, afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { freePort, spawnDaemon, stopAll } from "../bin/processes.ts"
import { rawExchange } from "../support/rawExchange.ts"
import { eventually } from "../support/waiting.ts"

/** The real server process with --endereco, --log json and ARQUIVOS_* variables. */

const MAIN = ["src/programs/server/main.ts"]
const dirs: Array<string> = []
const folder = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "server-options-"))
  dirs.push(dir)
  return dir
}
afterEach(() => stopAll())
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** Sends `request` to host:port; the reply until the server closes, or the connection error's code. */
const ask = async (host: string, port: number, request: Uint8Array): Promise<{ bytes: Buffer } | { error: string }> => {
  const { reply, timedOut, error } = await rawExchange(port, request, { host })
  if (timedOut) return { error: "timeout" }
  return error !== undefined ? { error } : { bytes: Buffer.from(reply) }
}

const downloadRequest = (name: string) => Buffer.concat([Buffer.of(10, 0, 0, 0, name.length), Buffer.from(name)])

describe("--endereco", () => {
  test("listens on that address only, and says so", async () => {
    const served = folder()
    writeFileSync(path.join(served, "a.txt"), "hello")
    const port = await freePort()
    const server = spawnDaemon([process.execPath, ...MAIN, String(port), "--endereco", "127.0.0.2", "--pasta", served])
    await server.waitFor(/Ctrl\+C/)
    expect(server.stdout).toContain(`  127.0.0.2:${port}\n`)
    expect(server.stdout).not.toContain("Acesso:")
    expect(server.stdout).not.toContain(`127.0.0.1:${port}`)
    const reply = await ask("127.0.0.2", port, downloadRequest("a.txt"))
    expect("bytes" in reply && [...reply.bytes]).toEqual([0, 0, 0, 0, 5, ...Buffer.from("hello")])
    expect(await ask("127.0.0.1", port, downloadRequest("a.txt"))).toEqual({ error: "ECONNREFUSED" })
  }, 30_000)

  test("an address the machine does not have is a start-up error with exit status 1", async () => {
    const server = spawnDaemon([process.execPath, ...MAIN, "0", "--endereco", "192.0.2.1", "--pasta", folder()])
    expect(await server.process.exited).toBe(1)
    expect(server.stderr).toContain("servidor: não foi possível iniciar")
  }, 30_000)
})

describe("--log json", () => {
  test("one JSON object per operation on stdout, with time, level, event, client, op, name, result, bytes and ms; nothing on stderr", async () => {
    const served = folder()
    writeFileSync(path.join(served, "a.txt"), "hello")
    const port = await freePort()
    const server = spawnDaemon([
      process.execPath,
      ...MAIN,
      `--porta=${port}`,
      "--endereco=127.0.0.1",
      "--log=json",
      "--pasta",
      served
    ])
    await eventually(() => server.stdout.includes("Ctrl+C"), { millis: 15_000 })
    expect(server.stdout).toContain(`"enderecos":["127.0.0.1:${port}"]`)
    expect(server.stderr).toBe("")
    await ask("127.0.0.1", port, downloadRequest("a.txt"))
    await ask("127.0.0.1", port, downloadRequest("falta.txt"))
    await ask("127.0.0.1", port, Uint8Array.of(20))
    await server.waitFor(/("evento":"operacao".*\n[\s\S]*){3}/)
    const records = server.stdout
      .trimEnd()
      .split("\n")
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .filter((record) => record.evento === "operacao")
    expect(records).toHaveLength(3)
    for (const record of records) {
      // "nota" only where the text line has a note in parentheses.
      const note = "nota" in record ? ["nota"] : []
      expect(Object.keys(record)).toEqual([
        "hora",
        "nivel",
        "evento",
        "cliente",
        "op",
        "nome",
        "resultado",
        ...note,
        "bytes",
        "ms"
      ])
      expect(record.hora).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(record.cliente).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(typeof record.ms).toBe("number")
    }
    expect(records[0]).toMatchObject({ op: "baixar", nome: "a.txt", resultado: "ok", bytes: 5 })
    expect(records[1]).toMatchObject({ op: "baixar", nome: "falta.txt", bytes: 0 })
    expect(records[1]!.resultado).not.toBe("ok")
    expect(records[2]).toMatchObject({ op: "listar", resultado: "ok", bytes: 32 })
  }, 30_000)
})

describe("start-up", () => {
  test("--permitir and --sem-sobrescrever are stated when the server starts", async () => {
    const port = await freePort()
    const server = spawnDaemon([
      process.execPath,
      ...MAIN,
      String(port),
      "--endereco=127.0.0.1",
      "--permitir=127.0.0.2,10.0.0.0/8",
      "--sem-sobrescrever",
      "--pasta",
      folder()
    ])
    await server.waitFor(/Ctrl\+C/)
    expect(server.stdout).toContain(
      "Acesso: só clientes de 127.0.0.2, 10.0.0.0/8; uploads não substituem arquivos existentes\n"
    )
  }, 30_000)
})

describe("ARQUIVOS_* variables", () => {
  test("the server takes its port, address and folder from the environment", async () => {
    const served = folder()
    writeFileSync(path.join(served, "de-env.txt"), "env")
    const port = await freePort()
    const server = spawnDaemon([process.execPath, ...MAIN], {
      env: { ARQUIVOS_PORTA: String(port), ARQUIVOS_ENDERECO: "127.0.0.1", ARQUIVOS_PASTA: served }
    })
    await server.waitFor(/Ctrl\+C/)
    expect(server.stdout).toContain(served)
    const reply = await ask("127.0.0.1", port, downloadRequest("de-env.txt"))
    expect("bytes" in reply && reply.bytes.subarray(5).toString()).toBe("env")
  }, 30_000)

  test("a bad variable stops the start with its name and exit status 2", async () => {
    const server = spawnDaemon([process.execPath, ...MAIN], { env: { ARQUIVOS_TIMEOUT: "nunca" } })
    expect(await server.process.exited).toBe(2)
    expect(server.stderr).toStartWith(`servidor: ARQUIVOS_TIMEOUT: timeout inválido: "nunca"`)
  }, 30_000)
})

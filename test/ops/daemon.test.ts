import { afterAll, afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as Either from "effect/Either"
import { parseServerArgs } from "../../src/programs/server/args.ts"
import { exposureWarning } from "../../src/programs/server/exposure.ts"
import { freePort, spawnDaemon, stopAll } from "../bin/processes.ts"
import { holdOpen } from "../support/rawClient.ts"
import { rawExchange } from "../support/rawExchange.ts"
import { eventually } from "../support/waiting.ts"

/**
 * The server as a daemon, as its own process (bin/servidor.ts, what `bun
 * run servidor` runs), signalled by its pid: SIGHUP reloads and keeps it
 * serving; with --log json every line it writes is one JSON object; a
 * server open to anyone says so when it starts.
 */

const MAIN = "bin/servidor.ts"
const dirs: Array<string> = []
const folder = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ops-daemon-"))
  dirs.push(dir)
  writeFileSync(path.join(dir, "a.txt"), "hello")
  return dir
}
afterEach(() => stopAll())
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const download = (port: number) => rawExchange(port, Buffer.from([10, 0, 0, 0, 5, ...Buffer.from("a.txt")]))
const HELLO = [0, 0, 0, 0, 5, ...Buffer.from("hello")]

describe("SIGHUP", () => {
  test("does not stop the server: it logs the reload and keeps serving; SIGTERM still drains and exits 0", async () => {
    const port = await freePort()
    // As a person starts it: `bun run servidor`, which passes the signals it gets on to the server.
    const server = spawnDaemon([
      process.execPath,
      "run",
      "servidor",
      String(port),
      "--endereco",
      "127.0.0.1",
      "--pasta",
      folder()
    ])
    try {
      await server.waitFor(/SIGHUP recarrega/)
      expect([...(await download(port)).reply]).toEqual(HELLO)
      server.process.kill("SIGHUP")
      await server.waitFor(/SIGHUP recebido: .*o servidor continua atendendo\.\n/)
      server.process.kill("SIGHUP")
      await server.waitFor(/(SIGHUP recebido[^\n]*\n[\s\S]*){2}/)
      expect(server.process.exitCode).toBeNull()
      expect([...(await download(port)).reply]).toEqual(HELLO)
      server.process.kill("SIGTERM")
      expect(await server.process.exited).toBe(0)
      expect(await eventually(() => server.stdout.includes("Servidor encerrado"))).toBe(true)
    } finally {
      // SIGKILL would stop `bun run` alone and leave the server behind: SIGTERM goes on to it.
      if (server.process.exitCode === null) server.process.kill("SIGTERM")
      await server.process.exited
    }
  }, 30_000)
})

describe("SIGHUP re-reads --permitir-arquivo", () => {
  test("a new list applies to new connections; a broken one is refused and the old one stays", async () => {
    const dir = folder()
    const list = path.join(dir, "permitidos.txt")
    writeFileSync(list, "# só a máquina de testes 2\n127.0.0.2\n")
    const port = await freePort()
    const server = spawnDaemon([
      process.execPath,
      MAIN,
      String(port),
      "--endereco",
      "127.0.0.1",
      "--permitir-arquivo",
      list,
      "--pasta",
      dir
    ])
    await server.waitFor(/SIGHUP recarrega/)
    expect(server.stdout).toContain(`Acesso: só clientes de 127.0.0.2 (de ${list}, relido a cada SIGHUP)`)
    expect([...(await download(port)).reply]).toEqual([1])
    writeFileSync(list, "127.0.0.0/8, ::1\n")
    server.process.kill("SIGHUP")
    await server.waitFor(
      /SIGHUP recebido: relido: --permitir-arquivo "[^"]+" \(2 redes\); o servidor continua atendendo\.\n/
    )
    expect([...(await download(port)).reply]).toEqual(HELLO)
    writeFileSync(list, "127.0.0.0/8\nnão é rede\n")
    server.process.kill("SIGHUP")
    await server.waitFor(
      /falhou \(continua valendo o anterior\): --permitir-arquivo: --permitir-arquivo "[^"]+", linha 2: /
    )
    expect([...(await download(port)).reply]).toEqual(HELLO)
  }, 30_000)

  test("is one or the other with --permitir", () => {
    expect(parseServerArgs(["--permitir", "10.0.0.0/8", "--permitir-arquivo", "lista.txt"])).toEqual(
      Either.left("use --permitir ou --permitir-arquivo, não os dois")
    )
  })

  test("a list that cannot be read stops the start-up, naming the file", async () => {
    const missing = path.join(folder(), "falta.txt")
    const server = spawnDaemon([process.execPath, MAIN, "0", "--permitir-arquivo", missing, "--pasta", folder()])
    expect(await server.process.exited).toBe(1)
    const said = `servidor: não foi possível iniciar: --permitir-arquivo "${missing}": não existe`
    expect(await eventually(() => server.stderr.includes(said))).toBe(true)
  }, 30_000)
})

describe("--log json", () => {
  test("every line the server writes, start to end, is one JSON object with hora, nivel and evento", async () => {
    const port = await freePort()
    const metricsPort = await freePort()
    const server = spawnDaemon([
      process.execPath,
      MAIN,
      String(port),
      "--endereco",
      "127.0.0.1",
      "--permitir",
      "127.0.0.1",
      "--pasta",
      folder(),
      "--metricas",
      `127.0.0.1:${metricsPort}`,
      "--log",
      "json"
    ])
    await server.waitFor(/SIGHUP recarrega/)
    await download(port)
    await rawExchange(port, Uint8Array.of(20))
    await rawExchange(port, Uint8Array.of(20), { localAddress: "127.0.0.2" })
    await rawExchange(port, Uint8Array.of(99))
    server.process.kill("SIGHUP")
    await server.waitFor(/"evento":"recarga"/)
    server.process.kill("SIGTERM")
    expect(await server.process.exited).toBe(0)
    expect(await eventually(() => server.stdout.includes('"evento":"encerrado"'))).toBe(true)
    expect(server.stderr).toBe("")
    const records = server.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    for (const record of records) {
      expect(Object.keys(record).slice(0, 3)).toEqual(["hora", "nivel", "evento"])
      expect(record.hora).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      expect(["info", "aviso", "erro"]).toContain(record.nivel as string)
    }
    const events = records.map((record) => record.evento)
    expect(new Set(events)).toEqual(new Set(["inicio", "operacao", "recusa", "recarga", "encerrando", "encerrado"]))
    const first = records[0]!
    expect(first).toMatchObject({ evento: "inicio", porta: port, enderecos: [`127.0.0.1:${port}`] })
    const started = Object.assign({}, ...records.filter((record) => record.evento === "inicio"))
    expect(started).toMatchObject({ max_clientes: 256, somente_leitura: false, permitir: ["127.0.0.1"] })
    expect(started.pasta).toBeString()
    expect(records.filter((record) => record.evento === "operacao").map((record) => record.op)).toEqual([
      "baixar",
      "listar",
      "op-0x63"
    ])
    expect(records.find((record) => record.evento === "recusa")).toMatchObject({
      nivel: "aviso",
      resultado: "recusado: endereço fora de --permitir"
    })
  }, 30_000)

  test("a sweep's line is an object too: a crashed server's temporary, removed by the next one at start-up", async () => {
    const dir = folder()
    const port = await freePort()
    const crashed = spawnDaemon([process.execPath, MAIN, String(port), "--endereco", "127.0.0.1", "--pasta", dir])
    await crashed.waitFor(/SIGHUP recarrega/)
    // An upload that announced 1 MB and sent 10 bytes: its temporary is on disk.
    const held = await holdOpen(
      port,
      Buffer.from([30, 0, 0, 0, 5, ...Buffer.from("b.bin"), 0, 15, 66, 64, ...Buffer.alloc(10)])
    )
    expect(await eventually(() => readdirSync(dir).some((name) => name.endsWith(".tmp")))).toBe(true)
    crashed.process.kill("SIGKILL")
    await crashed.process.exited
    held.socket.destroy()
    const next = spawnDaemon([process.execPath, MAIN, "0", "--endereco", "127.0.0.1", "--pasta", dir, "--log", "json"])
    const [line] = await next.waitFor(/^.*"evento":"limpeza".*$/m)
    expect(JSON.parse(line!)).toMatchObject({ nivel: "info", evento: "limpeza", op: "limpeza", resultado: "ok" })
    expect(readdirSync(dir).some((name) => name.endsWith(".tmp"))).toBe(false)
  }, 30_000)

  test("a server that cannot start says why in one JSON object too", async () => {
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
    try {
      const server = spawnDaemon([
        process.execPath,
        MAIN,
        String(taken.port),
        "--endereco",
        "127.0.0.1",
        "--log",
        "json"
      ])
      expect(await server.process.exited).toBe(1)
      expect(await eventually(() => server.stdout.endsWith("\n"))).toBe(true)
      expect(server.stderr).toBe("")
      const [line, ...rest] = server.stdout.trimEnd().split("\n")
      expect(rest).toEqual([])
      expect(JSON.parse(line!)).toMatchObject({ nivel: "erro", evento: "falha-inicio" })
    } finally {
      taken.stop(true)
    }
  }, 30_000)
})

describe("a server open to anyone says so", () => {
  const WARNING = "Atenção: qualquer máquina que alcance esta porta pode enviar e substituir arquivos"

  test("when it takes uploads from every address in clear text, naming the options that limit it", () => {
    const open = { readOnly: false, allow: undefined, address: undefined, tls: false }
    const said = exposureWarning(open)
    expect(said).toStartWith(WARNING)
    for (const option of ["--permitir", "--somente-leitura", "--sem-sobrescrever", "--endereco 127.0.0.1"]) {
      expect(said).toContain(option)
    }
    expect(exposureWarning({ ...open, address: "0.0.0.0" })).toBe(said)
    expect(exposureWarning({ ...open, readOnly: true })).toBeUndefined()
    expect(exposureWarning({ ...open, allow: [] })).toBeUndefined()
    expect(exposureWarning({ ...open, address: "::1" })).toBeUndefined()
    expect(exposureWarning({ ...open, address: "127.0.0.5" })).toBeUndefined()
    expect(exposureWarning({ ...open, tls: true })).toBeUndefined()
  })

  test("the real server prints it at start-up on every address, and not with --somente-leitura", async () => {
    const open = spawnDaemon([process.execPath, MAIN, "0", "--pasta", folder()])
    await open.waitFor(/SIGHUP recarrega/)
    expect(open.stdout).toContain(`${WARNING}`)
    const readOnly = spawnDaemon([process.execPath, MAIN, "0", "--pasta", folder(), "--somente-leitura"])
    await readOnly.waitFor(/SIGHUP recarrega/)
    expect(readOnly.stdout).not.toContain("Atenção")
  }, 30_000)
})

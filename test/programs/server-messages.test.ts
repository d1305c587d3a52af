import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { Subprocess } from "bun"
import { SAME_SIGNAL_MILLIS } from "../../src/programs/signals.ts"
import { Lines } from "../support/processes.ts"
import { rawExchange } from "../support/rawExchange.ts"
import { within } from "../support/waiting.ts"

/**
 * What the real server process says to the person running it: start-up
 * errors that name the port or the folder, log lines that keep the
 * operation and the name of a refused request, cancels logged as cancels,
 * and a shutdown that says what it does and what it cut. Loopback only;
 * every process is killed in afterEach.
 */

const PROJECT = path.resolve(import.meta.dir, "../..")
const MAIN = "src/programs/server/main.ts"

interface Server {
  readonly process: Subprocess<"ignore", "pipe", "pipe">
  readonly stdout: Lines
  readonly stderr: Lines
}

const started: Array<Server> = []
let folder: string

const spawnServer = (
  args: ReadonlyArray<string>,
  command: ReadonlyArray<string> = [process.execPath, MAIN]
): Server => {
  const child = Bun.spawn([...command, ...args], { cwd: PROJECT, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  const server = { process: child, stdout: new Lines(child.stdout), stderr: new Lines(child.stderr) }
  started.push(server)
  return server
}

const exitWithin = (server: Server, millis: number): Promise<number | undefined> =>
  within(server.process.exited, millis, () => undefined)

const portOf = async (server: Server) => {
  const [, port] = await server.stdout.waitFor(/escutando na porta TCP (\d+)/, 15_000)
  await server.stdout.waitFor(/Ctrl\+C para encerrar/)
  return Number(port)
}

/** Opens a socket, sends `bytes`, collects what comes back until the server closes (or `millis`). */
const exchange = async (port: number, bytes: Uint8Array, millis = 5_000) =>
  Buffer.from((await rawExchange(port, bytes, { limitMillis: millis })).reply)

const request = (op: number, name: string | Uint8Array, extra: Uint8Array = new Uint8Array(0)) => {
  const bytes = typeof name === "string" ? Buffer.from(name) : Buffer.from(name)
  const head = Buffer.alloc(5)
  head[0] = op
  head.writeUInt32BE(bytes.length, 1)
  return new Uint8Array(Buffer.concat([head, bytes, extra]))
}

const be32 = (value: number) => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value)
  return out
}

/** No errno token, English system text or internal tag reached a person. */
const plainPortuguese = (text: string) => {
  expect(text).not.toMatch(/\bE[A-Z]{3,}\b/)
  expect(text).not.toMatch(/Failed|failed|error|Error|InvalidName|Truncated|UnknownOpcode/)
  expect(text).not.toMatch(/^\s+at\s/m)
}

beforeEach(async () => {
  folder = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), "server-messages-")))
})

afterEach(async () => {
  for (const server of started.splice(0)) {
    if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill("SIGKILL")
    await exitWithin(server, 5_000)
  }
  await fs.rm(folder, { recursive: true, force: true })
})

describe("start-up errors name the port or the folder, and say what to do", () => {
  test("a port already in use: says so, suggests another; exit 1, one line", async () => {
    const holder = Bun.listen({ hostname: "::", port: 0, socket: { data() {} } })
    try {
      const server = spawnServer([String(holder.port), "--pasta", folder])
      expect(await exitWithin(server, 15_000)).toBe(1)
      await server.stderr.done
      // The suggestion names the server as it was started, so it can be pasted.
      expect(server.stderr.text).toBe(
        `servidor: não foi possível iniciar: a porta ${holder.port} já está em uso (outro servidor ou programa escuta nela). Escolha outra, por exemplo "bun ${MAIN} ${holder.port + 1}", ou 0 para uma porta livre.\n`
      )
      // A server that never started does not say it shut down.
      await server.stdout.done
      expect(server.stdout.text).not.toContain("encerrado")
      plainPortuguese(server.stderr.text)
    } finally {
      holder.stop(true)
    }
  }, 30_000)

  test("--pasta naming a file: says it is a file, not a folder", async () => {
    const file = path.join(folder, "um-arquivo")
    await fs.writeFile(file, "x")
    const server = spawnServer(["0", "--pasta", file])
    expect(await exitWithin(server, 15_000)).toBe(1)
    await server.stderr.done
    expect(server.stderr.text).toBe(
      `servidor: não foi possível iniciar: --pasta "${file}" é um arquivo, não uma pasta. Indique uma pasta (ela é criada se faltar).\n`
    )
    plainPortuguese(server.stderr.text)
  }, 30_000)

  test("--pasta under a file: names the file that is in the way", async () => {
    const file = path.join(folder, "um-arquivo")
    await fs.writeFile(file, "x")
    const server = spawnServer(["0", "--pasta", path.join(file, "sub")])
    expect(await exitWithin(server, 15_000)).toBe(1)
    await server.stderr.done
    expect(server.stderr.text).toBe(
      `servidor: não foi possível iniciar: a pasta "${path.join(file, "sub")}" não pode ser criada: "${file}" é um arquivo, não uma pasta.\n`
    )
  }, 30_000)

  test("--pasta that cannot be created: names the folder", async () => {
    const server = spawnServer(["0", "--pasta", "/proc/nao-existe/pasta"])
    expect(await exitWithin(server, 15_000)).toBe(1)
    await server.stderr.done
    expect(server.stderr.text).toStartWith('servidor: não foi possível iniciar: a pasta "/proc/nao-existe/pasta"')
    plainPortuguese(server.stderr.text)
  }, 30_000)
})

describe("log lines", () => {
  test("a refused request keeps its operation and its (escaped) name; plain Portuguese; names quoted when needed", async () => {
    await fs.writeFile(path.join(folder, "a.txt"), "hello world")
    await fs.writeFile(path.join(folder, "minha foto.jpg"), "x")
    const server = spawnServer(["0", "--pasta", folder, "--timeout", "2"])
    const port = await portOf(server)
    await exchange(port, request(10, "../etc/passwd"))
    await exchange(port, request(10, "a\x1b[2Jb"))
    await exchange(port, Uint8Array.of(7))
    await exchange(port, request(10, "nada.txt"))
    await exchange(port, request(10, "minha foto.jpg"))
    await exchange(port, request(50, "../*"))
    // retomar a.txt from 100 on an 11-byte file: the position is past the end.
    await exchange(port, request(40, "a.txt", new Uint8Array(Buffer.concat([be32(100), Buffer.alloc(16)]))))
    await exchange(port, Uint8Array.of(20))
    await server.stdout.waitFor(/ listar .*\n/)
    const lines = server.stdout.text.split("\n").filter((line) => / \d+ bytes \d+ ms$/.test(line))
    const after = (text: string) =>
      lines
        .find((line) => line.includes(text))
        ?.replace(/^\S+ \S+ /, "")
        .replace(/ \d+ ms$/, "")
    expect(after("passwd")).toBe(
      "baixar ../etc/passwd falha: fora do protocolo: o nome contém . ou .. como parte do caminho 0 bytes"
    )
    expect(after("a\\x1b")).toBe(
      'baixar "a\\x1b[2Jb" falha: fora do protocolo: o nome contém caracteres de controle 0 bytes'
    )
    expect(after("op-0x07")).toBe("op-0x07 - falha: fora do protocolo: operação desconhecida 0x07 0 bytes")
    expect(after("nada.txt")).toBe("baixar nada.txt falha: nada.txt: não existe 0 bytes")
    expect(after("minha foto")).toBe('baixar "minha foto.jpg" ok 1 bytes')
    expect(after("../*")).toStartWith("baixar-varios ../* falha: fora do protocolo:")
    expect(after("retomar")).toBe(
      "retomar a.txt falha: a.txt: a posição 100 passa do fim do arquivo (11 bytes) (a partir de 100) 0 bytes"
    )
    expect(after("listar")).toMatch(/^listar - ok \(2 arquivos\) \d+ bytes$/)
    // Timestamps in UTC, marked as such.
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /)
    plainPortuguese(lines.join("\n"))
  }, 40_000)

  test("an upload the client abandons mid-body is logged as a cancel, not as a broken protocol", async () => {
    const server = spawnServer(["0", "--pasta", folder, "--timeout", "5"])
    const port = await portOf(server)
    await exchange(
      port,
      new Uint8Array(Buffer.concat([request(30, "meio.bin"), be32(1_000_000), Buffer.alloc(1000)])),
      500
    )
    const [line] = await server.stdout.waitFor(/^.* enviar meio\.bin .*$/m)
    expect(line).toMatch(
      / enviar meio\.bin cancelado: o cliente fechou a conexão no meio da operação 1000 bytes \d+ ms$/
    )
  }, 30_000)

  test("a download the client abandons mid-body (Ctrl+C) is logged cortado, with no more bytes than were written", async () => {
    await fs.writeFile(path.join(folder, "grande.bin"), Buffer.alloc(48 * 1024 * 1024, 7))
    const server = spawnServer(["0", "--pasta", folder, "--timeout", "5"])
    const port = await portOf(server)
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.on("error", () => {})
    let received = 0
    await new Promise<void>((resolve) => {
      socket.on("connect", () => socket.write(request(10, "grande.bin")))
      socket.on("data", (data: Buffer) => {
        received += data.length
        if (received > 1024 * 1024) {
          socket.destroy()
          resolve()
        }
      })
    })
    const [line] = await server.stdout.waitFor(/^.* baixar grande\.bin .*$/m)
    expect(line).toMatch(
      / baixar grande\.bin cortado: a conexão caiu sem o cliente confirmar que recebeu tudo \d+ bytes \d+ ms$/
    )
    expect(Number(/ (\d+) bytes \d+ ms$/.exec(line!)?.[1])).toBeLessThan(48 * 1024 * 1024)
  }, 30_000)

  test("--log json: an upload the client resets mid-body keeps the system's own words in causa", async () => {
    const server = spawnServer(["0", "--pasta", folder, "--timeout", "5", "--log", "json"])
    // With --log json, the start-up line is an object too, with the port.
    const [, port] = await server.stdout.waitFor(/"porta":(\d+)/, 15_000)
    const socket = net.connect({ host: "127.0.0.1", port: Number(port) })
    socket.on("error", () => {})
    await new Promise<void>((resolve) => socket.on("connect", resolve))
    const accepted = new Promise((resolve) => socket.once("data", resolve))
    socket.write(Buffer.concat([request(30, "meio.bin"), be32(1_000_000), Buffer.alloc(1000)]))
    // The server accepted the upload (its 00) and waits for the body; a reset (RST, not FIN) then fails that wait.
    await accepted
    socket.resetAndDestroy()
    const [line] = await server.stdout.waitFor(/^\{.*"nome":"meio\.bin".*$/m)
    const record = JSON.parse(line!) as Record<string, unknown>
    expect(record.resultado).toBe("cancelado: o cliente fechou a conexão no meio da operação")
    expect(record.causa).toMatch(/^ECONNRESET: /)
    // The sentence for people stays free of errno tokens; the cause is for diagnosis.
    expect(String(record.resultado)).not.toMatch(/E[A-Z]{3,}/)
  }, 30_000)

  test("with --max-clientes 1 full, the refusal line says the limit, in the singular", async () => {
    const server = spawnServer(["0", "--pasta", folder, "--max-clientes", "1", "--timeout", "3"])
    const port = await portOf(server)
    expect(server.stdout.text).toContain("Limites: 1 conexão\n")
    const holder = net.connect({ host: "127.0.0.1", port })
    holder.on("error", () => {})
    await new Promise((resolve) => holder.once("connect", resolve))
    // A connection takes its place once its first bytes arrive: one byte of a request, and it waits.
    holder.write(Uint8Array.of(10))
    await Bun.sleep(200)
    expect([...(await exchange(port, Uint8Array.of(20)))]).toEqual([1])
    const [line] = await server.stdout.waitFor(/^.*recusado: limite.*$/m)
    expect(line).toMatch(/ \? - recusado: limite de 1 conexão ao mesmo tempo 0 bytes 0 ms$/)
    holder.destroy()
  }, 30_000)
})

describe("shutdown", () => {
  /**
   * An upload that sends its header and a first part of the body, then stalls:
   * with the servers here on a 30 s idle deadline, it outlasts the 5 s grace
   * period. Resolves once the server accepted it (its first byte, 0).
   */
  const stalledUpload = async (port: number) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    const received: Array<number> = []
    socket.on("error", () => {})
    const accepted = new Promise<void>((resolve) =>
      socket.on("data", (data: Buffer) => {
        received.push(...data)
        resolve()
      })
    )
    await new Promise((resolve) => socket.once("connect", resolve))
    socket.write(Buffer.concat([request(30, "lento.bin"), be32(1_000_000), Buffer.alloc(100)]))
    await accepted
    return { received, stop: () => socket.destroy() }
  }

  test("SIGTERM with an upload that outlasts the grace period: says it waits, logs the cut, tells the client 1, says it is done; exit 0", async () => {
    const server = spawnServer(["0", "--pasta", folder, "--timeout", "30"])
    const port = await portOf(server)
    const upload = await stalledUpload(port)
    try {
      server.process.kill("SIGTERM")
      await server.stdout.waitFor(
        /Encerrando: novas conexões recusadas; aguardando 1 operação em andamento por até 5 s \(Ctrl\+C de novo sai na hora\)\./
      )
      expect(await exitWithin(server, 15_000)).toBe(0)
      await server.stdout.done
      expect(server.stdout.text).toMatch(
        / enviar lento\.bin cortado: o servidor foi encerrado antes do fim \d+ bytes \d+ ms\n/
      )
      expect(server.stdout.text).toEndWith('Servidor encerrado; 1 operação cortada (veja as linhas "cortado" acima).\n')
      // Accepted (0), then the final status 1 instead of a bare close.
      expect(upload.received).toEqual([0, 1])
      expect((await fs.readdir(folder)).filter((entry) => entry !== "")).toEqual([])
    } finally {
      upload.stop()
    }
  }, 40_000)

  test("a second Ctrl+C during the grace period leaves at once (130), saying what it cut", async () => {
    const server = spawnServer(["0", "--pasta", folder, "--timeout", "30"])
    const port = await portOf(server)
    const upload = await stalledUpload(port)
    try {
      server.process.kill("SIGINT")
      await server.stdout.waitFor(/Ctrl\+C de novo sai na hora/)
      // Two signals closer than SAME_SIGNAL_MILLIS are one Ctrl+C (a terminal may deliver it twice): the
      // second press has to come later, in real time, as a person's would.
      await Bun.sleep(SAME_SIGNAL_MILLIS + 100)
      const second = Date.now()
      server.process.kill("SIGINT")
      expect(await exitWithin(server, 3_000)).toBe(130)
      expect(Date.now() - second).toBeLessThan(2_500)
      await server.stdout.done
      expect(server.stdout.text).toContain("Saindo na hora: 1 operação cortada sem esperar.")
    } finally {
      upload.stop()
    }
  }, 40_000)

  test("Ctrl+C through `bun run servidor`, sent to the whole process group as a terminal does: a graceful stop, exit 0", async () => {
    // setsid puts the run in its own process group, so the signal reaches `bun run` and the server both.
    const server = spawnServer(["0", "--pasta", folder], ["setsid", process.execPath, "run", "servidor"])
    await portOf(server)
    process.kill(-server.process.pid, "SIGINT")
    expect(await exitWithin(server, 15_000)).toBe(0)
    await server.stdout.done
    expect(server.stdout.text).toContain("Encerrando: novas conexões recusadas.")
    expect(server.stdout.text).toEndWith("Servidor encerrado; nenhuma operação foi cortada.\n")
  }, 40_000)
})

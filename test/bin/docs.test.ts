import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { freePort, ROOT, spawnDaemon, stopAll, waitListening } from "./processes.ts"

/**
 * What the README and the documents in docs/ say, held against the project:
 * the README stays short enough for a newcomer, every link leads somewhere,
 * and the documented JSON log lines are the ones the server writes.
 */

const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8")
const README = read("README.md")
/** The documents this README points to, and itself. */
const DOCUMENTS = [
  "README.md",
  "docs/SERVIDOR.md",
  "docs/CLIENTE.md",
  "docs/CONFIGURACAO.md",
  "docs/IMPLANTACAO.md",
  "docs/DESENVOLVIMENTO.md",
  "docs/FERRAMENTAS.md"
]

const dirs: Array<string> = []
afterAll(async () => {
  await stopAll()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe("the README, for a newcomer", () => {
  test("at most 250 lines", () => {
    expect(README.split("\n").length).toBeLessThanOrEqual(250)
  })

  test("its opening names no internals (those are in docs/)", () => {
    const opening = README.slice(0, README.indexOf("## Instalação"))
    for (const word of ["Effect", "FileStore", "Transport", "fibra", "HAProxy", "systemd"]) {
      expect(opening).not.toContain(word)
    }
  })

  test("it says the server listens everywhere and takes uploads from anyone, what limits that, and how to stop it", () => {
    expect(README).toContain("aceita\nuploads de qualquer um")
    for (const option of ["--endereco", "--permitir", "--somente-leitura", "--sem-sobrescrever"]) {
      expect(README).toContain(option)
    }
    expect(README).toContain("Ctrl+C")
  })

  test("it links every document in docs/ it moved things to", () => {
    for (const doc of DOCUMENTS.slice(1)) expect(README).toContain(`](${doc})`)
  })

  test.each(DOCUMENTS)("every relative link in %s leads to a file that exists", (doc) => {
    const text = read(doc)
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue
      // ARQUITETURA.md is written apart from this change.
      if (target!.endsWith("ARQUITETURA.md")) continue
      expect(existsSync(path.join(ROOT, path.dirname(doc), target!)), `${doc} → ${target}`).toBe(true)
    }
  })
})

describe("the JSON log, as docs/SERVIDOR.md shows it", () => {
  /** The example lines of the JSON log in the server's document. */
  const examples = (): Array<Record<string, unknown>> => {
    const text = read("docs/SERVIDOR.md")
    const block = /```json\n([\s\S]*?)```/.exec(text)![1]!
    return block
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  /** Opens a connection, sends `bytes` (none: closes at once) and waits for it to end. */
  const exchange = (port: number, bytes: Uint8Array) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000)
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open: (socket) => {
            if (bytes.length > 0) socket.write(bytes)
            else socket.end()
          },
          data: () => {},
          close: done,
          error: done
        }
      }).catch(done)
    })

  test("a listing, an unknown operation and an empty connection log the op and nome the document shows", async () => {
    const folder = mkdtempSync(path.join(tmpdir(), "docs-log-"))
    dirs.push(folder)
    const port = await freePort()
    const server = spawnDaemon(
      [
        process.execPath,
        "src/programs/server/main.ts",
        String(port),
        "--pasta",
        folder,
        "--log",
        "json",
        "--timeout",
        "2"
      ],
      { cwd: ROOT }
    )
    await waitListening("127.0.0.1", port)
    await exchange(port, new Uint8Array([0x14]))
    await exchange(port, new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"))
    await exchange(port, new Uint8Array())
    // The last of the three: its line comes after the other two (the probe's own empty connection came first).
    await server.waitFor(/"op":"op-0x47"[\s\S]*"op":null/)
    await server.stop()
    const logged = server.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.evento === "operacao")
    const shape = (line: Record<string, unknown>) => ({ op: line.op, nome: line.nome })
    const documented = examples().map(shape)
    for (const line of logged) expect(documented).toContainEqual(shape(line))
    // (waitListening's own probe is one more empty connection.)
    for (const expected of [
      { op: "listar", nome: "-" },
      { op: "op-0x47", nome: "-" },
      { op: null, nome: null }
    ])
      expect(logged.map(shape)).toContainEqual(expected)
  }, 30_000)
})

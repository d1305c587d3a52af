// Interoperability between the project's programs and an independent Python peer
// (test/interop/peer.py) written only from PROTOCOL.md + enunciado.txt.
//
//  A. real server (Bun)  <-  Python client, every operation and status
//  B. Python server      <-  real client (Bun), every command, exit codes
//  C. real server and Python server serving the SAME folder must answer the
//     same request bytes with the same response bytes (raw TCP, node:net)
//
// Everything listens on / connects to 127.0.0.1 only (the Python server binds
// 127.0.0.1; the real server is only ever contacted at 127.0.0.1). Every process
// started here is killed in afterAll, and every run has a bounded time.

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Subprocess } from "bun"
import { md5 as md5Raw } from "../support/md5.ts"
import { Lines } from "../support/processes.ts"
import { rawExchange } from "../support/rawExchange.ts"
import { guard, within } from "../support/waiting.ts"

const ROOT = path.resolve(import.meta.dir, "../..")
const PEER = path.join(import.meta.dir, "peer.py")
// A bound against a hang, not a measure of speed: a case runs up to six Python clients one after the
// other, and on a loaded machine each takes seconds to start.
const TEST_MS = 60_000 // per test
const RUN_MS = 8_000 // per spawned client run

// ------------------------------------------------------------------ processes

const started: Subprocess[] = []
const tempDirs: string[] = []

function tempDir(label: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `interop-${label}-`))
  tempDirs.push(d)
  return d
}

interface Server {
  proc: Subprocess<"ignore", "pipe", "pipe">
  out: Lines
  port: number
}

async function startRealServer(dir: string, extra: string[] = []): Promise<Server> {
  const proc = Bun.spawn(
    [process.execPath, "src/programs/server/main.ts", "0", "--pasta", dir, "--timeout", "5", ...extra],
    { cwd: path.resolve(import.meta.dir, "../.."), stdin: "ignore", stdout: "pipe", stderr: "pipe" }
  )
  started.push(proc)
  const out = new Lines(proc.stdout)
  const m = await out.waitFor(/escutando na porta TCP (\d+)/, 8_000)
  return { proc, out, port: Number(m[1]) }
}

async function startPyServer(dir: string, extra: string[] = []): Promise<Server> {
  const proc = Bun.spawn(
    ["python3", "test/interop/peer.py", "server", "0", "--pasta", dir, "--timeout", "5", ...extra],
    { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" }
  )
  started.push(proc)
  const out = new Lines(proc.stdout)
  const m = await out.waitFor(/^PRONTO (\d+)$/m, 8_000)
  return { proc, out, port: Number(m[1]) }
}

interface RunResult {
  code: number
  stdout: string
  stderr: string
}

async function run(cmd: string[], ms = RUN_MS): Promise<RunResult> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  started.push(proc)
  const cancel = guard(ms, () => proc.kill())
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited
    ])
    return { code, stdout, stderr }
  } finally {
    cancel()
  }
}

/** What the Python client reports: the fields its commands print (each command some of them). */
interface PeerReport {
  readonly op?: string
  readonly status?: number | ReadonlyArray<number>
  readonly nome?: string
  readonly tamanho?: number | string
  readonly erro?: string
  readonly json?: string
  readonly comprimento?: number
  readonly lista?: ReadonlyArray<{ readonly nome: string; readonly tamanho: string }>
  readonly md5?: string
  readonly posicao?: number
  readonly restante?: number
  readonly manifesto?: ReadonlyArray<{ readonly nome: string; readonly tamanho: number }>
  readonly arquivos?: ReadonlyArray<{ readonly status: number }>
  readonly n?: number
  readonly encontrados?: number
  readonly limite?: number
}

/** The Python client: one line of JSON on stdout. */
async function py(
  port: number,
  pasta: string,
  ...args: string[]
): Promise<{ code: number; json: PeerReport; raw: RunResult }> {
  const r = await run([
    "python3",
    PEER,
    "client",
    "127.0.0.1",
    String(port),
    ...args,
    "--pasta",
    pasta,
    "--timeout",
    "5"
  ])
  let json: PeerReport
  try {
    json = JSON.parse(r.stdout.trim().split("\n").pop() ?? "")
  } catch {
    throw new Error(`peer.py client output is not JSON (code ${r.code}): ${r.stdout} ${r.stderr}`)
  }
  return { code: r.code, json, raw: r }
}

/** The project's real client. */
function realClient(port: number, pasta: string, cmd: string, ...args: string[]): Promise<RunResult> {
  return run([
    process.execPath,
    "src/programs/client/main.ts",
    `127.0.0.1:${port}`,
    "--pasta",
    pasta,
    "--silencioso",
    cmd,
    ...args
  ])
}

afterAll(async () => {
  for (const p of started) {
    try {
      p.kill()
    } catch {
      // already gone
    }
  }
  await within(Promise.all(started.map((p) => p.exited)), 3_000, () => undefined)
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill(9)
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true })
})

// ------------------------------------------------------------------ bytes

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
const nm = (s: string | Buffer): Buffer => {
  const b = typeof s === "string" ? Buffer.from(s, "utf8") : s
  return Buffer.concat([u32(b.length), b])
}
const md5 = (b: Buffer): Buffer => Buffer.from(md5Raw(b))
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex")

interface RawReply {
  data: Buffer
  closed: boolean
}

/** Sends `req` on a fresh connection; collects the reply until the server closes
 * (or `ms` passes, or `maxBytes` arrived: then `closed` is false). */
async function raw(port: number, req: Buffer, ms = 3_000, maxBytes = Infinity): Promise<RawReply> {
  const { reply, timedOut } = await rawExchange(port, req, { limitMillis: ms, maxBytes })
  return { data: Buffer.from(reply), closed: !timedOut && reply.length < maxBytes }
}

// ------------------------------------------------------------------ fixtures

const HELLO = Buffer.from("hello")

function put(dir: string, rel: string, data: Buffer | string): Buffer {
  const p = path.join(dir, ...rel.split("/"))
  fs.mkdirSync(path.dirname(p), { recursive: true })
  const b = typeof data === "string" ? Buffer.from(data) : data
  fs.writeFileSync(p, b)
  return b
}

/** Same content in every served folder. */
function fillFixture(dir: string): void {
  put(dir, "a.txt", HELLO)
  put(dir, "a.jpg", "AAA")
  put(dir, "c.jpg", crypto.randomBytes(2_000))
  put(dir, "fotos/b.jpg", "BB")
  put(dir, "fotos/2024/d.jpg", crypto.randomBytes(5_000))
  put(dir, "dados/grande.bin", crypto.randomBytes(2 * 1024 * 1024 + 123))
  put(dir, "Z.txt", "z")
  put(dir, "\u00e9.txt", "e-acute") // é
  put(dir, "\uff61.txt", "halfwidth stop") // U+FF61 sorts BEFORE U+1F600 by code point...
  put(dir, "\u{1F600}.txt", "emoji") // ...but AFTER it in UTF-16 code-unit order
  put(dir, "com espa\u00e7o.txt", "space")
  put(dir, ".oculto/segredo.txt", "hidden dir")
  put(dir, "fotos/.env", "hidden file")
  fs.mkdirSync(path.join(dir, "vazio"), { recursive: true })
  fs.symlinkSync("a.txt", path.join(dir, "link.txt"))
  // on disk but invalid by section 3: never listed, never matched
  put(dir, "C:drive", "x")
  put(dir, "back\\slash", "x")
  put(dir, "ctl\u0001", "x")
  fs.writeFileSync(Buffer.concat([Buffer.from(path.join(dir, "nonutf")), Buffer.from([0xff])]), "x")
  // not a regular file: never listed, never opened (must not hang a server)
  expect(Bun.spawnSync(["mkfifo", path.join(dir, "fifo")]).exitCode).toBe(0)
}

/** Section 3 name rules, only as far as the fixture needs them. */
const fixtureNameIsValid = (name: string): boolean =>
  !/[\\\u0000-\u001f\u007f-\u009f\ufffd]/.test(name) && !/^[A-Za-z]:/.test(name)

/** The listing PROTOCOL.md section 5/op 20 describes, computed independently:
 * regular files, recursive, no hidden, no symlinks, sorted by UTF-8 bytes
 * (= code points), compact JSON as in the spec's examples. */
function expectedListing(dir: string): string {
  const out: Array<{ nome: string; tamanho: string }> = []
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isSymbolicLink()) continue
      if (!fixtureNameIsValid(r)) continue
      if (e.isDirectory()) walk(r)
      else if (e.isFile()) out.push({ nome: r, tamanho: String(fs.statSync(path.join(dir, r)).size) })
    }
  }
  walk("")
  out.sort((a, b) => Buffer.compare(Buffer.from(a.nome), Buffer.from(b.nome)))
  return JSON.stringify(out)
}

function read(dir: string, rel: string): Buffer {
  return fs.readFileSync(path.join(dir, ...rel.split("/")))
}

function exists(dir: string, rel: string): boolean {
  return fs.existsSync(path.join(dir, ...rel.split("/")))
}

/** Upload temporaries (.envio-*.tmp) or download partials left anywhere. */
function leftovers(dir: string, re: RegExp): string[] {
  const found: string[] = []
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (re.test(e.name)) found.push(p)
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p)
    }
  }
  walk(dir)
  return found
}

// =================================================================== A

describe("A. servidor real <- cliente Python", () => {
  let srv: Server
  let DIR: string
  let PY: string

  beforeAll(async () => {
    DIR = tempDir("srv-real")
    PY = tempDir("cli-py")
    fillFixture(DIR)
    srv = await startRealServer(DIR)
  })

  test(
    "op 10 baixar: ok, byte a byte, sem .parcial",
    async () => {
      for (const name of ["a.txt", "dados/grande.bin", "fotos/2024/d.jpg", "\u{1F600}.txt"]) {
        const r = await py(srv.port, PY, "baixar", name)
        expect(r.code).toBe(0)
        expect(r.json).toMatchObject({ status: 0, nome: name, tamanho: read(DIR, name).length })
        expect(read(PY, name).equals(read(DIR, name))).toBe(true)
        expect(exists(PY, `${name}.parcial`)).toBe(false)
      }
    },
    TEST_MS
  )

  test(
    "op 10 baixar: inexistente -> status 1, nada gravado",
    async () => {
      for (const name of ["nada.txt", "vazio", "oculto/segredo.txt"]) {
        const r = await py(srv.port, PY, "baixar", name)
        expect(r.code).toBe(1)
        expect(r.json).toEqual({ op: "baixar", status: 1, nome: name })
        expect(exists(PY, name)).toBe(false)
        expect(exists(PY, `${name}.parcial`)).toBe(false)
      }
    },
    TEST_MS
  )

  test(
    "cliente Python recusa localmente nomes inválidos (seção 3)",
    async () => {
      for (const name of ["../fora", ".oculto/segredo.txt", "a//b", "/etc/passwd", "C:x", "a\\b"]) {
        const r = await py(srv.port, PY, "baixar", name)
        expect(r.code).toBe(2)
        expect(r.json.erro).toBe("local")
      }
    },
    TEST_MS
  )

  test(
    "op 20 listar: JSON exato (recursivo, sem ocultos/links, ordem de pontos de código)",
    async () => {
      const r = await py(srv.port, PY, "listar")
      expect(r.code).toBe(0)
      expect(r.json.status).toBe(0)
      const expected = expectedListing(DIR)
      expect(r.json.json).toBe(expected)
      expect(r.json.comprimento).toBe(Buffer.byteLength(expected))
      const names: string[] = (r.json.lista ?? []).map((e) => e.nome)
      expect(names).not.toContain("link.txt")
      expect(names).not.toContain("fotos/.env")
      expect(names.indexOf("\uff61.txt")).toBeLessThan(names.indexOf("\u{1F600}.txt"))
      expect(r.json.lista).toContainEqual({ nome: "fotos/2024/d.jpg", tamanho: "5000" })
    },
    TEST_MS
  )

  test(
    "op 30 enviar: ok, na raiz, em subpasta e sobrescrevendo; sem temporário",
    async () => {
      const up = put(PY, "up.bin", crypto.randomBytes(1024 * 1024 + 7))
      let r = await py(srv.port, PY, "enviar", "up.bin")
      expect(r.code).toBe(0)
      expect(r.json).toMatchObject({ status: [0, 0], tamanho: up.length })
      expect(read(DIR, "up.bin").equals(up)).toBe(true)

      const sub = put(PY, "novo/sub/x.bin", crypto.randomBytes(3000))
      r = await py(srv.port, PY, "enviar", "novo/sub/x.bin")
      expect(r.code).toBe(0)
      expect(read(DIR, "novo/sub/x.bin").equals(sub)).toBe(true)

      const empty = put(PY, "vazio.bin", Buffer.alloc(0))
      r = await py(srv.port, PY, "enviar", "vazio.bin")
      expect(r.code).toBe(0)
      expect(read(DIR, "vazio.bin").equals(empty)).toBe(true)

      const again = put(PY, "up.bin", "replaced")
      r = await py(srv.port, PY, "enviar", "up.bin")
      expect(r.code).toBe(0)
      expect(read(DIR, "up.bin").equals(again)).toBe(true)

      expect(leftovers(DIR, /^\.envio-/)).toEqual([])
    },
    TEST_MS
  )

  test(
    "op 30 enviar: recusado no primeiro status (parte do caminho é arquivo; destino é pasta)",
    async () => {
      put(PY, "com espa\u00e7o.txt/x", "x") // locally a folder; on the server a file
      let r = await py(srv.port, PY, "enviar", "com espa\u00e7o.txt/x")
      expect(r.code).toBe(1)
      expect(r.json.status).toEqual([1])
      put(PY, "vazio", "a file locally, a folder on the server")
      r = await py(srv.port, PY, "enviar", "vazio")
      expect(r.code).toBe(1)
      expect(r.json.status).toEqual([1])
      expect(fs.statSync(path.join(DIR, "vazio")).isDirectory()).toBe(true)
      expect(read(DIR, "a.txt").equals(HELLO)).toBe(true)
    },
    TEST_MS
  )

  test(
    "op 40 retomar: ok a partir do .parcial (e posição = tamanho)",
    async () => {
      const full = read(DIR, "dados/grande.bin")
      put(PY, "dados/grande.bin.parcial", full.subarray(0, 1_000_003))
      let r = await py(srv.port, PY, "retomar", "dados/grande.bin", "1000003")
      expect(r.code).toBe(0)
      expect(r.json).toMatchObject({ status: [0, 0], posicao: 1_000_003, restante: full.length - 1_000_003 })
      expect(r.json.md5).toBe(md5(full.subarray(0, 1_000_003)).toString("hex"))
      expect(read(PY, "dados/grande.bin").equals(full)).toBe(true)
      expect(exists(PY, "dados/grande.bin.parcial")).toBe(false)

      put(PY, "a.txt.parcial", HELLO)
      r = await py(srv.port, PY, "retomar", "a.txt", "5")
      expect(r.code).toBe(0)
      expect(r.json).toMatchObject({ status: [0, 0], restante: 0, tamanho: 5 })
      expect(read(PY, "a.txt").equals(HELLO)).toBe(true)
    },
    TEST_MS
  )

  test(
    "op 40 retomar: MD5 errado -> 00 14; inexistente -> 00 0a; .parcial intacto",
    async () => {
      put(PY, "c.jpg.parcial", "not the right prefix")
      let r = await py(srv.port, PY, "retomar", "c.jpg", "10")
      expect(r.code).toBe(1)
      expect(r.json.status).toEqual([0, 20])
      expect(read(PY, "c.jpg.parcial").toString()).toBe("not the right prefix")
      expect(exists(PY, "c.jpg")).toBe(false)

      put(PY, "sumiu.bin.parcial", "abc")
      r = await py(srv.port, PY, "retomar", "sumiu.bin", "3")
      expect(r.code).toBe(1)
      expect(r.json.status).toEqual([0, 10])
      expect(read(PY, "sumiu.bin.parcial").toString()).toBe("abc")

      // posição além do fim do arquivo também é 0x14 (PROTOCOL.md op 40)
      put(PY, "Z.txt.parcial", "zzzz")
      r = await py(srv.port, PY, "retomar", "Z.txt", "4")
      expect(r.json.status).toEqual([0, 20])
    },
    TEST_MS
  )

  test(
    "op 50 baixar-varios: com arquivos, com subpasta, sem nenhum",
    async () => {
      let r = await py(srv.port, PY, "baixar-varios", "*.jpg")
      expect(r.code).toBe(0)
      expect(r.json.status).toBe(0)
      expect(r.json.manifesto).toEqual([
        { nome: "a.jpg", tamanho: 3 },
        { nome: "c.jpg", tamanho: 2000 }
      ])
      expect((r.json.arquivos ?? []).map((a) => a.status)).toEqual([0, 0])
      for (const n of ["a.jpg", "c.jpg"]) expect(read(PY, n).equals(read(DIR, n))).toBe(true)

      r = await py(srv.port, PY, "baixar-varios", "fotos/*/?.jpg")
      expect(r.code).toBe(0)
      expect(r.json.manifesto).toEqual([{ nome: "fotos/2024/d.jpg", tamanho: 5000 }])
      expect(read(PY, "fotos/2024/d.jpg").equals(read(DIR, "fotos/2024/d.jpg"))).toBe(true)

      r = await py(srv.port, PY, "baixar-varios", "*.nada")
      expect(r.code).toBe(0)
      expect(r.json).toMatchObject({ status: 0, n: 0, manifesto: [], arquivos: [] })
      expect(leftovers(PY, /\.jpg\.parcial$/)).toEqual([]) // c.jpg.parcial (wrong prefix) was replaced
    },
    TEST_MS
  )

  test(
    "op 50: máscara recusada pelo servidor quando enviada crua (status 01)",
    async () => {
      for (const m of ["**", "a{b}", "!x", "[a/b]", ".x*", "C:*"]) {
        const reply = await raw(srv.port, Buffer.concat([Buffer.from([0x32]), nm(m)]))
        expect(reply.data.toString("hex")).toBe("01")
      }
    },
    TEST_MS
  )
})

// =================================================================== B

describe("B. servidor Python <- cliente real", () => {
  let srv: Server
  let DIR2: string
  let DIR3: string
  const ops = (): Array<{ op?: number; nome?: string; posicao?: number; resultado?: string }> =>
    srv.out.text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l))

  beforeAll(async () => {
    DIR2 = tempDir("srv-py")
    DIR3 = tempDir("cli-real")
    fillFixture(DIR2)
    srv = await startPyServer(DIR2)
  })

  test(
    "listar: status 0 e uma linha por arquivo",
    async () => {
      const r = await realClient(srv.port, DIR3, "listar")
      expect(r.code).toBe(0)
      for (const n of ["a.txt", "dados/grande.bin", "fotos/2024/d.jpg", "\u{1F600}.txt"]) expect(r.stdout).toContain(n)
      expect(r.stdout).not.toContain("link.txt")
      expect(r.stdout).not.toContain("segredo")
    },
    TEST_MS
  )

  test(
    "listar --json: o JSON do servidor Python, exatamente",
    async () => {
      const r = await realClient(srv.port, DIR3, "listar", "--json")
      expect(r.code).toBe(0)
      expect(r.stdout.trim()).toBe(expectedListing(DIR2))
    },
    TEST_MS
  )

  test(
    "baixar: ok byte a byte (op 10), inexistente -> 1",
    async () => {
      let r = await realClient(srv.port, DIR3, "baixar", "dados/grande.bin")
      expect(r.code).toBe(0)
      expect(read(DIR3, "dados/grande.bin").equals(read(DIR2, "dados/grande.bin"))).toBe(true)
      expect(exists(DIR3, "dados/grande.bin.parcial")).toBe(false)
      expect(ops().at(-1)).toMatchObject({ op: 10, nome: "dados/grande.bin", resultado: "ok" })

      r = await realClient(srv.port, DIR3, "baixar", "com espa\u00e7o.txt")
      expect(r.code).toBe(0)
      expect(read(DIR3, "com espa\u00e7o.txt").toString()).toBe("space")

      r = await realClient(srv.port, DIR3, "baixar", "nada.txt")
      expect(r.code).toBe(1)
      expect(exists(DIR3, "nada.txt")).toBe(false)
      expect(exists(DIR3, "nada.txt.parcial")).toBe(false)
    },
    TEST_MS
  )

  test(
    "enviar: ok, em subpasta; recusado -> 1; gravação atômica sem temporário",
    async () => {
      const up = put(DIR3, "up.bin", crypto.randomBytes(1024 * 1024 + 5))
      let r = await realClient(srv.port, DIR3, "enviar", "up.bin")
      expect(r.code).toBe(0)
      expect(read(DIR2, "up.bin").equals(up)).toBe(true)

      const sub = put(DIR3, "novo/sub/x.bin", crypto.randomBytes(4097))
      r = await realClient(srv.port, DIR3, "enviar", "novo/sub/x.bin")
      expect(r.code).toBe(0)
      expect(read(DIR2, "novo/sub/x.bin").equals(sub)).toBe(true)
      expect(ops().at(-1)).toMatchObject({ op: 30, nome: "novo/sub/x.bin", resultado: "ok" })

      put(DIR3, "vazio", "a file locally, a folder on the server")
      r = await realClient(srv.port, DIR3, "enviar", "vazio")
      expect(r.code).toBe(1)
      expect(fs.statSync(path.join(DIR2, "vazio")).isDirectory()).toBe(true)

      expect(leftovers(DIR2, /^\.envio-/)).toEqual([])
    },
    TEST_MS
  )

  test(
    "retomar: ok a partir do .parcial (op 40 com MD5 do prefixo)",
    async () => {
      const full = read(DIR2, "c.jpg")
      put(DIR3, "c.jpg.parcial", full.subarray(0, 777))
      const r = await realClient(srv.port, DIR3, "retomar", "c.jpg")
      expect(r.code).toBe(0)
      expect(read(DIR3, "c.jpg").equals(full)).toBe(true)
      expect(exists(DIR3, "c.jpg.parcial")).toBe(false)
      expect(ops().at(-1)).toMatchObject({ op: 40, nome: "c.jpg", posicao: 777, resultado: "ok" })
    },
    TEST_MS
  )

  test(
    "retomar: MD5 errado (00 14) -> 1; inexistente (00 0a) -> 1; .parcial intacto",
    async () => {
      put(DIR3, "a.txt.parcial", "HEL")
      let r = await realClient(srv.port, DIR3, "retomar", "a.txt")
      expect(r.code).toBe(1)
      expect(read(DIR3, "a.txt.parcial").toString()).toBe("HEL")
      expect(exists(DIR3, "a.txt")).toBe(false)
      expect(ops().at(-1)).toMatchObject({ op: 40, nome: "a.txt", posicao: 3, resultado: "hash não confere" })

      put(DIR3, "sumiu.bin.parcial", "abc")
      r = await realClient(srv.port, DIR3, "retomar", "sumiu.bin")
      expect(r.code).toBe(1)
      expect(read(DIR3, "sumiu.bin.parcial").toString()).toBe("abc")
      expect(ops().at(-1)).toMatchObject({ op: 40, nome: "sumiu.bin", resultado: "não existe" })
    },
    TEST_MS
  )

  test(
    "baixar com .parcial existente continua pela op 40",
    async () => {
      put(DIR3, "a.txt.parcial", "hel")
      const r = await realClient(srv.port, DIR3, "baixar", "a.txt")
      expect(r.code).toBe(0)
      expect(read(DIR3, "a.txt").equals(HELLO)).toBe(true)
      expect(ops().at(-1)).toMatchObject({ op: 40, nome: "a.txt", posicao: 3, resultado: "ok" })
    },
    TEST_MS
  )

  test(
    "baixar-varios: com arquivos, em subpasta, sem nenhum (1)",
    async () => {
      let r = await realClient(srv.port, DIR3, "baixar-varios", "*.jpg")
      expect(r.code).toBe(0)
      for (const n of ["a.jpg", "c.jpg"]) expect(read(DIR3, n).equals(read(DIR2, n))).toBe(true)
      expect(ops().at(-1)).toMatchObject({ op: 50, nome: "*.jpg", resultado: "ok" })

      r = await realClient(srv.port, DIR3, "baixar-varios", "fotos/*")
      expect(r.code).toBe(0)
      expect(read(DIR3, "fotos/b.jpg").toString()).toBe("BB")
      expect(exists(DIR3, "fotos/.env")).toBe(false)

      // No match is an error for the client (as in sftp and lftp), though the server answered 0 with an empty manifest.
      r = await realClient(srv.port, DIR3, "baixar-varios", "*.nada")
      expect(r.code).toBe(1)
      expect(leftovers(DIR3, /\.jpg\.parcial$/)).toEqual([])
    },
    TEST_MS
  )
})

// =================================================================== C

describe("C. mesmos bytes dos dois servidores (mesma pasta)", () => {
  let real: Server
  let pyS: Server
  let DIR4: string
  let STAGED: string
  const MAX_UPLOAD = "1000000"

  beforeAll(async () => {
    DIR4 = tempDir("srv-both")
    fillFixture(DIR4)
    for (const f of ["b.txt", "c.txt", "-.txt", "]x.txt", "[x.txt"]) put(DIR4, `m/${f}`, "1")
    // 10 001 files for the op 50 limit tests, staged outside the served folder
    // (every op 50 walks the whole folder) and moved in by those tests.
    STAGED = path.join(tempDir("muitos"), "muitos")
    fs.mkdirSync(STAGED)
    for (let i = 0; i < 10_001; i++) fs.writeFileSync(path.join(STAGED, `f${String(i).padStart(5, "0")}`), "")
    ;[real, pyS] = await Promise.all([
      startRealServer(DIR4, ["--tamanho-maximo", MAX_UPLOAD]),
      startPyServer(DIR4, ["--tamanho-maximo", MAX_UPLOAD])
    ])
  }, 30_000)

  const both = async (req: Buffer, ms = 3_000, maxBytes = Infinity): Promise<[RawReply, RawReply]> =>
    Promise.all([raw(real.port, req, ms, maxBytes), raw(pyS.port, req, ms, maxBytes)])

  const op10 = (n: string | Buffer): Buffer => Buffer.concat([Buffer.from([0x0a]), nm(n)])
  const op40 = (n: string | Buffer, pos: number, digest: Buffer): Buffer =>
    Buffer.concat([Buffer.from([0x28]), nm(n), u32(pos), digest])
  const op50 = (m: string): Buffer => Buffer.concat([Buffer.from([0x32]), nm(m)])

  test(
    "exemplos de PROTOCOL.md, byte a byte",
    async () => {
      const cases: Array<[Buffer, string]> = [
        // op 10 (exemplo com fotos.txt adaptado para a.txt = hello)
        [op10("a.txt"), "00 00000005 68656c6c6f"],
        // op 40: tem "hel"
        [hex("28 00000005 612e747874 00000003 46356afe55fa3cea9cbe73ad442cad47"), "00 00 00000002 6c6f"],
        [op40("a.txt", 3, Buffer.alloc(16)), "00 14"],
        [op40("nada.txt", 3, md5(Buffer.from("hel"))), "00 0a"]
      ]
      for (const [req, want] of cases) {
        const [a, b] = await both(req)
        expect(a.data.toString("hex")).toBe(hex(want).toString("hex"))
        expect(b.data.toString("hex")).toBe(hex(want).toString("hex"))
        expect(a.closed && b.closed).toBe(true)
      }
    },
    TEST_MS
  )

  test(
    "regras de nome (seção 3) e casos de op 10/40: respostas idênticas",
    async () => {
      const names: Array<string | Buffer> = [
        "a.txt",
        "nada",
        "a//b",
        "a/",
        "./a",
        "a/../b",
        "..",
        ".oculto/segredo.txt",
        "fotos/.env",
        "a\\b",
        "/etc/passwd",
        "C:x",
        "c:x",
        "a:b",
        "x/C:y",
        "1:x",
        "a\nb",
        "a\u007fb",
        "a\u0085b",
        "a\u00a0b",
        "\ufeffa",
        "link.txt",
        "vazio",
        "fifo",
        "C:drive",
        "fotos",
        "fotos/",
        "com espa\u00e7o.txt",
        "\u{1F600}.txt",
        "*",
        "a".repeat(4096),
        hex("c0af"),
        hex("61eda080"),
        hex("61ff"),
        hex("61f4908080"),
        Buffer.alloc(0)
      ]
      for (const n of names) {
        for (const req of [op10(n), op40(n, 0, md5(Buffer.alloc(0))), op40(n, 2, md5(Buffer.from("he")))]) {
          const [a, b] = await both(req)
          expect({ n: String(n), r: b.data.toString("hex") }).toEqual({ n: String(n), r: a.data.toString("hex") })
        }
      }
      // comprimento acima de 4096: 01 logo após os 4 bytes, sem ler o nome
      for (const req of [
        hex("0a 00001001"),
        hex("28 00001001"),
        hex("32 ffffffff"),
        hex("1e 00000000"),
        hex("63"),
        hex("00")
      ]) {
        const [a, b] = await both(req)
        expect([a.data.toString("hex"), b.data.toString("hex")]).toEqual(["01", "01"])
        expect(a.closed && b.closed).toBe(true)
      }
    },
    TEST_MS
  )

  test(
    "op 40: limites de posição idênticos",
    async () => {
      const cases: Buffer[] = [
        op40("a.txt", 5, md5(HELLO)), // posição = tamanho: restante 0
        op40("a.txt", 6, md5(HELLO)), // além do fim: 14
        op40("a.txt", 0, md5(Buffer.alloc(0))), // do zero
        op40("a.txt", 0, Buffer.alloc(16)), // do zero, md5 errado
        op40("vazio", 0, md5(Buffer.alloc(0))), // pasta: 0a
        op40("link.txt", 1, md5(Buffer.from("h"))) // link dentro da pasta
      ]
      for (const req of cases) {
        const [a, b] = await both(req)
        expect(b.data.toString("hex")).toBe(a.data.toString("hex"))
      }
      const [a] = await both(op40("a.txt", 5, md5(HELLO)))
      expect(a.data.toString("hex")).toBe("000000000000")
    },
    TEST_MS
  )

  test(
    "op 20: listagem idêntica (unicode, ocultos, links, pasta vazia)",
    async () => {
      const [a, b] = await both(hex("14"), 5_000)
      expect(a.closed && b.closed).toBe(true)
      expect(b.data.equals(a.data)).toBe(true)
      expect(a.data.subarray(5).toString("utf8")).toBe(expectedListing(DIR4))
      expect(a.data.readUInt32BE(1)).toBe(a.data.length - 5)
    },
    TEST_MS
  )

  test(
    "op 50: manifestos e dados idênticos; máscaras inválidas -> 01",
    async () => {
      const masks = [
        "*.jpg",
        "*",
        "?.txt",
        "*/*.jpg",
        "fotos/*/*",
        "*.nada",
        "m/[!a].txt",
        "m/[bc].txt",
        "m/[[]x.txt",
        "m/]x.txt",
        "**",
        "a{b}",
        "}",
        "!x",
        "m/!x",
        "[a/b]",
        ".x*",
        "m/.*",
        "C:*",
        "*/",
        "/*",
        "m//*"
      ]
      for (const m of masks) {
        const [a, b] = await both(op50(m))
        expect(a.closed && b.closed).toBe(true)
        expect({ m, r: b.data.toString("hex") }).toEqual({ m, r: a.data.toString("hex") })
      }
    },
    TEST_MS
  )

  test(
    "op 30: recusas idênticas, sem escrever nada",
    async () => {
      const cases: Array<[Buffer, string]> = [
        [Buffer.concat([hex("1e"), nm("../fora")]), "01"],
        [Buffer.concat([hex("1e"), nm(".oculto/x")]), "01"],
        [Buffer.concat([hex("1e"), nm("fotos")]), "01"], // destino é pasta
        [Buffer.concat([hex("1e"), nm("a.txt/x")]), "01"], // parte do caminho é arquivo
        // recusa antecipada do tamanho (> --tamanho-maximo): 00 01 já, sem mandar dados
        [Buffer.concat([hex("1e"), nm("grande-demais.bin"), u32(Number(MAX_UPLOAD) + 1)]), "0001"]
      ]
      for (const [req, want] of cases) {
        const [a, b] = await both(req)
        expect([a.data.toString("hex"), b.data.toString("hex")]).toEqual([want, want])
        expect(a.closed && b.closed).toBe(true)
      }
      expect(exists(DIR4, "grande-demais.bin")).toBe(false)
      expect(exists(DIR4, "fora")).toBe(false)
      expect(leftovers(DIR4, /^\.envio-/)).toEqual([])
    },
    TEST_MS
  )

  test(
    "op 30 recusa antecipada do tamanho: os dois clientes leem o 01 durante o envio",
    async () => {
      const PY = tempDir("cli-py-big")
      const big = put(PY, "grande.bin", crypto.randomBytes(3 * 1024 * 1024))
      const r = await py(real.port, PY, "enviar", "grande.bin")
      expect(r.code).toBe(1)
      expect(r.json).toMatchObject({ status: [0, 1], tamanho: big.length })
      const CL = tempDir("cli-real-big")
      put(CL, "grande.bin", big)
      const rr = await realClient(pyS.port, CL, "enviar", "grande.bin")
      expect(rr.code).toBe(1)
      expect(exists(DIR4, "grande.bin")).toBe(false)
      expect(leftovers(DIR4, /^\.envio-/)).toEqual([])
    },
    TEST_MS
  )

  test(
    "bytes depois do fim do pedido são ignorados",
    async () => {
      const [a, b] = await both(Buffer.concat([op10("a.txt"), Buffer.from("lixo depois do pedido")]))
      expect(a.data.toString("hex")).toBe("000000000568656c6c6f")
      expect(b.data.toString("hex")).toBe("000000000568656c6c6f")
    },
    TEST_MS
  )

  test(
    "pedido incompleto: 01 e fecha depois do prazo (--timeout 5)",
    async () => {
      const t0 = Date.now()
      const [a, b] = await both(hex("0a 000000"), 8_000)
      expect([a.data.toString("hex"), b.data.toString("hex")]).toEqual(["01", "01"])
      expect(a.closed && b.closed).toBe(true)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(4_500)
    },
    TEST_MS
  )

  // Sets in masks, as PROTOCOL.md §3 now specifies them: ranges by code point,
  // "!" first negates, and unclosed, empty, "^"-first or "["-inside sets are
  // invalid masks (01). This once diverged (the spec said nothing about ranges);
  // both servers must now give the same bytes, and each client accepts the other.
  test(
    "colchetes: intervalos, negação e conjuntos inválidos iguais nos dois servidores",
    async () => {
      for (const m of [
        "m/[a-c].txt",
        "m/[!a-b].txt",
        "m/[-a].txt",
        "m/[^a].txt",
        "m/[x.txt",
        "m/[]]x.txt",
        "m/[].txt",
        "m/[c-a].txt"
      ]) {
        const [a, b] = await both(op50(m))
        expect({ mask: m, real: a.data.toString("hex") }).toEqual({ mask: m, real: b.data.toString("hex") })
      }
      const PY = tempDir("cli-py-sets")
      const r = await py(real.port, PY, "baixar-varios", "m/[a-c].txt")
      expect(r.code).toBe(0)
      const CL = tempDir("cli-real-sets")
      const rr = await realClient(pyS.port, CL, "baixar-varios", "m/[a-c].txt")
      expect(rr.code).toBe(0)
      expect(fs.readdirSync(path.join(CL, "m")).sort()).toEqual(["b.txt", "c.txt"])
    },
    TEST_MS
  )

  // ---------------------------------------------------------------- op 50 limit
  const many = (): string => path.join(DIR4, "muitos")

  test(
    "op 50 acima do limite: 02 00002711 00002710 dos dois servidores",
    async () => {
      fs.renameSync(STAGED, many())
      const [a, b] = await both(op50("muitos/*"), 5_000)
      expect([a.data.toString("hex"), b.data.toString("hex")]).toEqual(["020000271100002710", "020000271100002710"])
      expect(a.closed && b.closed).toBe(true)
    },
    TEST_MS
  )

  test(
    "op 50 acima do limite: cliente Python (status 2) e cliente real (saída 1)",
    async () => {
      const PY = tempDir("cli-py-c")
      const r = await py(real.port, PY, "baixar-varios", "muitos/*")
      expect(r.code).toBe(1)
      expect(r.json).toMatchObject({ status: 2, encontrados: 10_001, limite: 10_000 })
      const CL = tempDir("cli-real-c")
      const rr = await realClient(pyS.port, CL, "baixar-varios", "muitos/*")
      expect(rr.code).toBe(1)
      expect(fs.readdirSync(CL)).toEqual([])
    },
    TEST_MS
  )

  test(
    "op 50 com exatamente 10 000: manifesto aceito pelos dois servidores",
    async () => {
      fs.rmSync(path.join(many(), "f10000"))
      try {
        const [a, b] = await both(op50("muitos/*"), 5_000, 9)
        expect([a.data.subarray(0, 5).toString("hex"), b.data.subarray(0, 5).toString("hex")]).toEqual([
          "0000002710",
          "0000002710"
        ])
      } finally {
        fs.rmSync(many(), { recursive: true, force: true })
      }
    },
    TEST_MS
  )
})

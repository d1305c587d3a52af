import { afterAll, afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { Subprocess } from "bun"
import { parseCheckerArgs } from "../../src/conformance/args.ts"
import { CATALOG } from "../../src/conformance/catalog.ts"
import { eventually, guard, within } from "../support/waiting.ts"
import { MUTANTS, type Mutant } from "./mutants.ts"

/**
 * The conformance checker (`bun run conformidade`) against servers it must
 * pass — this project's server, the Python peer, the reference server — and
 * against one mutant of the reference server per broken rule, each of which
 * it must report. Everything on 127.0.0.1; every process started here is
 * killed when its test ends.
 */

const ROOT = path.resolve(import.meta.dir, "../..")
const CHECKER = "src/conformance/main.ts"
const started: Array<Subprocess> = []
const folders: Array<string> = []

const folder = (label: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), `conformidade-teste-${label}-`))
  folders.push(dir)
  return dir
}

afterEach(async () => {
  for (const child of started.splice(0)) {
    child.kill("SIGKILL")
    await child.exited
  }
})

afterAll(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** Starts a server process and waits for the line that gives its port. */
const startServer = async (command: ReadonlyArray<string>, portLine: RegExp): Promise<number> => {
  const child = Bun.spawn([...command], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  started.push(child)
  const decoder = new TextDecoder()
  let text = ""
  const reader = child.stdout.getReader()
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const match = text.match(portLine)
    if (match) {
      // Keep draining so a chatty server never blocks on a full pipe.
      void (async () => {
        while (!(await reader.read()).done) {}
      })().catch(() => undefined)
      return Number(match[1])
    }
    const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => undefined)])
    if (chunk === undefined || chunk.done) break
    text += decoder.decode(chunk.value, { stream: true })
  }
  throw new Error(`the server printed no port: ${text}`)
}

const reference = (dir: string, mutant?: Mutant) =>
  startServer(
    [
      process.execPath,
      "test/conformance/reference-server.ts",
      "--pasta",
      dir,
      "--timeout",
      "2",
      ...(mutant ? ["--mutante", mutant] : [])
    ],
    /^PRONTO (\d+)$/m
  )

interface Report {
  readonly grupos: Record<string, { passaram: number; falharam: number; puladas: number }>
  readonly verificacoes: ReadonlyArray<{
    id: string
    fonte: string
    resultado: string
    detalhe?: string
    motivo?: string
  }>
  readonly codigo_saida: number
}

/** Runs the checker as a process, bounded in time; returns its exit code and output. */
const runChecker = async (args: ReadonlyArray<string>, millis = 60_000) => {
  const child = Bun.spawn([process.execPath, CHECKER, ...args], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe"
  })
  started.push(child)
  const cancel = guard(millis, () => child.kill("SIGKILL"))
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited
  ])
  cancel()
  return { code, stdout, stderr }
}

const checkJson = async (port: number, dir: string, extra: ReadonlyArray<string> = [], timeout = "2") => {
  const run = await runChecker([`127.0.0.1:${port}`, "--timeout", timeout, "--pasta", dir, "--json", ...extra])
  if (run.stdout.trim() === "") throw new Error(`the checker printed nothing; stderr: ${run.stderr}`)
  return { code: run.code, report: JSON.parse(run.stdout) as Report }
}

const failures = (report: Report) => report.verificacoes.filter((v) => v.resultado === "falhou")

describe("command line", () => {
  test.each([
    [[], "falta o endereço"],
    [["127.0.0.1"], "endereço inválido"],
    [["127.0.0.1:0"], "endereço inválido"],
    [["127.0.0.1:20000", "--timeout", "0"], "timeout inválido"],
    [["127.0.0.1:20000", "--somente", "op99"], "categoria desconhecida"],
    [["127.0.0.1:20000", "--xyz"], "opção desconhecida"],
    [["127.0.0.1:20000", "[::1]:20000"], "argumento a mais"],
    [["127.0.0.1:20000", "--so", "op10/nada"], "verificação desconhecida"],
    [["127.0.0.1:20000", "--so"], "--so precisa"]
  ])("%j is refused with a Portuguese message", (argv, message) => {
    const parsed = parseCheckerArgs(
      argv,
      CATALOG.map((check) => check.id)
    )
    expect(parsed._tag).toBe("Bad")
    expect(parsed._tag === "Bad" && parsed.message).toContain(message)
  })

  test("addresses, IPv6 in brackets, and every option", () => {
    const parsed = parseCheckerArgs([
      "[::1]:2000",
      "--pasta",
      "/x",
      "--timeout",
      "2.5",
      "--estrito",
      "--json",
      "--somente",
      "op10,prazos"
    ])
    expect(parsed).toEqual({
      _tag: "Run",
      args: {
        host: "::1",
        port: 2000,
        folder: "/x",
        timeoutSeconds: 2.5,
        strict: true,
        json: true,
        only: ["op10", "prazos"]
      }
    })
  })

  test("bad usage exits 2 on stderr; -h exits 0; an address nobody listens on exits 3", async () => {
    const bad = await runChecker(["--timeout", "x"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("Uso: bun run conformidade")
    const help = await runChecker(["-h"])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("--somente")
    expect(help.stdout).toContain("--so ID")
    const list = await runChecker(["--listar"])
    expect(list.code).toBe(0)
    for (const check of CATALOG) expect(list.stdout).toContain(check.id)
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo
        server.close(() => resolve(port))
      })
    })
    const unreachable = await runChecker([`127.0.0.1:${port}`, "--timeout", "2"])
    expect(unreachable.code).toBe(3)
    expect(unreachable.stderr).toContain("não foi possível conectar")
    const unreachableJson = await runChecker([`127.0.0.1:${port}`, "--timeout", "2", "--json"])
    expect(unreachableJson.code).toBe(3)
    expect(JSON.parse(unreachableJson.stdout)).toMatchObject({ servidor: `127.0.0.1:${port}`, codigo_saida: 3 })
    const noFolder = await runChecker([`127.0.0.1:${port}`, "--pasta", path.join(folder("sem"), "nao-existe")])
    expect(noFolder.code).toBe(2)
    expect(noFolder.stderr).toContain("não é uma pasta")
  }, 30_000)
})

/**
 * The server timeout for the servers that must pass, other than the reference:
 * a little more room on a machine shared with other test runs (the reference
 * shows the whole run with --timeout 2).
 */
const SLACK = "4"

describe("servers that follow the protocol pass", () => {
  test("the reference server passes every check, recommended ones included (--estrito), and nothing is left in its folder", async () => {
    const dir = folder("referencia")
    const port = await reference(dir)
    const started = Date.now()
    const { code, report } = await checkJson(port, dir, ["--estrito"])
    expect(failures(report)).toEqual([])
    expect(report.verificacoes.filter((v) => v.resultado === "pulada")).toEqual([])
    expect(code).toBe(0)
    expect(report.codigo_saida).toBe(0)
    expect(report.grupos["enunciado"]!.passaram).toBeGreaterThanOrEqual(15)
    expect(Date.now() - started).toBeLessThan(60_000)
    expect(readdirSync(dir)).toEqual([])
  }, 90_000)

  test("this project's server passes (text report, exit 0)", async () => {
    const dir = folder("projeto")
    const port = await startServer(
      [process.execPath, "src/programs/server/main.ts", "0", "--pasta", dir, "--timeout", SLACK],
      /escutando na porta TCP (\d+)/
    )
    const run = await runChecker([`127.0.0.1:${port}`, "--timeout", SLACK, "--pasta", dir])
    expect(run.stdout).not.toContain("✗")
    expect(run.stdout).toContain("Resumo")
    expect(run.stdout).toMatch(/enunciado\s+\d+\/\d+ passaram\n/)
    expect(run.code).toBe(0)
    expect(readdirSync(dir)).toEqual([])
  }, 90_000)

  test("the independent Python peer passes everything the assignment and PROTOCOL.md require", async () => {
    const dir = folder("python")
    const port = await startServer(
      ["python3", "test/interop/peer.py", "server", "0", "--pasta", dir, "--timeout", SLACK],
      /^PRONTO (\d+)$/m
    )
    const { code, report } = await checkJson(port, dir, [], SLACK)
    expect(failures(report).filter((v) => v.fonte !== "recomendado")).toEqual([])
    expect(code).toBe(0)
  }, 90_000)

  test("without --pasta the checks that need the folder are skipped with a reason, and files stay under one prefix", async () => {
    const dir = folder("sem-pasta")
    const port = await reference(dir)
    const run = await runChecker([`127.0.0.1:${port}`, "--timeout", "2", "--json", "--somente", "nomes,op10"])
    const report = JSON.parse(run.stdout) as Report & { prefixo: string }
    const skipped = report.verificacoes.filter((v) => v.resultado === "pulada")
    expect(skipped.map((v) => v.id)).toContain("nomes/link-fora")
    for (const v of skipped) expect(v.motivo).toContain("--pasta")
    expect(run.code).toBe(0)
    const left = readdirSync(dir)
    expect(left.length).toBeGreaterThan(0)
    for (const name of left) expect(name.startsWith(report.prefixo)).toBe(true)
  }, 60_000)
})

describe("interrupted run", () => {
  test("Ctrl+C in the middle of a run exits 130 and still removes what the run created in the folder", async () => {
    const dir = folder("interrompido")
    const port = await reference(dir)
    const child = Bun.spawn(
      [process.execPath, CHECKER, `127.0.0.1:${port}`, "--timeout", "2", "--pasta", dir, "--somente", "prazos"],
      {
        cwd: ROOT,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe"
      }
    )
    started.push(child)
    // The deadline checks wait about 3 s; by then their 32 MiB file is on the server.
    expect(
      await eventually(() => readdirSync(dir).some((name) => name.startsWith("conformidade-")), { millis: 20_000 })
    ).toBe(true)
    child.kill("SIGINT")
    expect(await within(child.exited, 10_000, () => "still running")).toBe(130)
    // Whatever the server itself still held (a temporary of an upload cut short) is its own to remove.
    expect(await eventually(() => readdirSync(dir).length === 0, { millis: 5_000 })).toBe(true)
  }, 60_000)
})

/** Each mutant, the category that exposes it, and the check that must fail. */
const CAUGHT_BY: Record<Mutant, readonly [string, string]> = {
  "json-aspas-simples": ["op20", "op20/json"],
  "tamanho-numero": ["op20", "op20/tamanho-texto"],
  "sem-md5": ["op40", "op40/hash-errado"],
  "um-status-op40": ["op40", "op40/confere"],
  "little-endian": ["op10", "op10/existe"],
  travessia: ["nomes", "nomes/travessia"],
  "link-fora": ["nomes", "nomes/link-fora"],
  "upload-nao-atomico": ["op30", "op30/interrompido"],
  "dados-truncados": ["op10", "op10/existe"],
  "inexistente-vazio": ["op10", "op10/inexistente"],
  "sem-timeout": ["prazos", "prazos/ocioso"],
  "um-cliente-por-vez": ["concorrencia", "concorrencia/ocioso-nao-bloqueia"],
  "segunda-operacao": ["enquadramento", "enquadramento/uma-operacao"],
  "alocacao-cega": ["robustez", "robustez/comprimento-4gib"],
  "sem-status-final": ["op30", "op30/envio"],
  "fifo-bloqueia": ["nomes", "nomes/fifo"],
  "listagem-comprimento-curto": ["enquadramento", "enquadramento/comprimento-declarado"]
}

describe("broken servers are reported", () => {
  test.each(MUTANTS.map((mutant) => [mutant]))(
    "mutant %s: its check fails, with a Portuguese explanation, and the exit status is 1",
    async (mutant) => {
      const [category, id] = CAUGHT_BY[mutant]
      const dir = folder(mutant)
      const port = await reference(dir, mutant)
      const { code, report } = await checkJson(port, dir, ["--somente", category])
      const failed = failures(report)
      expect(failed.map((v) => v.id)).toContain(id)
      const mine = failed.find((v) => v.id === id)!
      expect(mine.detalhe!.length).toBeGreaterThan(20)
      expect(mine.fonte).not.toBe("recomendado")
      expect(code).toBe(1)
      expect(report.codigo_saida).toBe(1)
    },
    60_000
  )

  test("a listing one byte longer than its declared length is told so first, not as bad JSON", async () => {
    const dir = folder("curto")
    const port = await reference(dir, "listagem-comprimento-curto")
    const { report } = await checkJson(port, dir, ["--so", "op20/json,enquadramento/uma-operacao"])
    expect(report.verificacoes.map((v) => v.id)).toEqual(["enquadramento/uma-operacao", "op20/json"])
    for (const verdict of report.verificacoes) {
      expect(verdict.detalhe).toMatch(
        /comprimento declarado (\d+), mas chegaram \d+ bytes \(1 byte depois do fim declarado: 5d\)/
      )
      expect(verdict.detalhe).toContain("últimos bytes dentro do comprimento")
      expect(verdict.detalhe).not.toContain("não é JSON")
    }
  }, 60_000)

  test("a body that ends early says the declared length, what arrived and its last bytes", async () => {
    const dir = folder("truncado")
    const port = await reference(dir, "dados-truncados")
    const { report } = await checkJson(port, dir, ["--so", "op10/existe"])
    expect(report.verificacoes.find((v) => v.id === "op10/existe")!.detalhe).toMatch(
      /comprimento declarado 3000, mas só chegaram 2900 bytes .*últimos bytes recebidos: … [0-9a-f ]+\./
    )
  }, 60_000)

  test("the little-endian mutant is told its sizes look little-endian", async () => {
    const dir = folder("le")
    const port = await reference(dir, "little-endian")
    const { report } = await checkJson(port, dir, ["--somente", "op10"])
    expect(report.verificacoes.find((v) => v.id === "op10/existe")!.detalhe).toContain("little-endian")
  }, 60_000)
})

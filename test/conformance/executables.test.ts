import { afterAll, describe, expect, test } from "bun:test"
import { copyFileSync, existsSync, linkSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"

/**
 * The checkers as installed programs: one executable (dist/arquivos) that is
 * every program, chosen by the name it runs under or by its first argument.
 * A copy outside the repository stands for an install whose checkout was
 * deleted: it must need nothing from the project.
 */

const ROOT = path.join(import.meta.dir, "..", "..")
const BUILT = path.join(ROOT, "dist", "arquivos")
const missing = !existsSync(BUILT)
if (missing) console.log(`pulado: ${BUILT} não existe (rode npm run build)`)

const home = mkdtempSync(path.join(tmpdir(), "arquivos-copia-"))
afterAll(() => rmSync(home, { recursive: true, force: true }))

const run = async (words: ReadonlyArray<string>) => {
  const child = Bun.spawn([...words], { cwd: home, stdout: "pipe", stderr: "pipe", stdin: "ignore" })
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited
  ])
  clearTimeout(timer)
  return { code, stdout, stderr }
}

describe.skipIf(missing)("one copied executable, linked under several names", () => {
  const names = ["conformidade", "conformidade-cliente", "arquivos-cliente"]
  const exe = path.join(home, "arquivos")
  if (!missing) {
    copyFileSync(BUILT, exe)
    for (const name of names) linkSync(exe, path.join(home, name))
  }

  test("each name runs its program; the plain name takes the program as first argument", async () => {
    const server = await run([path.join(home, "conformidade"), "--listar"])
    expect(server.code).toBe(0)
    expect(server.stdout).toContain("enquadramento/comprimento-declarado")
    const judge = await run([path.join(home, "conformidade-cliente"), "--listar"])
    expect(judge.code).toBe(0)
    expect(judge.stdout).toContain("op30/espera-status")
    expect((await run([exe, "cliente", "--version"])).stdout).toStartWith("arquivos-cliente ")
    expect((await run([exe, "nada"])).code).toBe(2)
    expect((await run([path.join(home, "conformidade"), "--so", "nada"])).code).toBe(2)
  }, 60_000)

  test("the copied judge judges the copied client, with no repository around", async () => {
    const result = await run([
      path.join(home, "conformidade-cliente"),
      "--timeout",
      "2",
      "--so",
      "op10/pedido,op10/sucesso,op40/pedido,op40/sucesso",
      "--parcial",
      "{nome}.parcial",
      "--",
      path.join(home, "arquivos-cliente"),
      "{endereco}",
      "--pasta",
      "{pasta}",
      "--timeout",
      "2",
      "{op}",
      "{nome}"
    ])
    expect(result.stdout).toContain("enunciado    4/4 passaram")
    expect(result.code).toBe(0)
  }, 60_000)

  test("--json gives one report with the groups and the exit status; a command that cannot run exits 3", async () => {
    const judge = path.join(home, "conformidade-cliente")
    const client = [path.join(home, "arquivos-cliente"), "{endereco}", "--pasta", "{pasta}", "{op}", "{nome}"]
    const json = await run([judge, "--json", "--timeout", "2", "--so", "op20/recusa", "--", ...client])
    expect(json.code).toBe(0)
    const report = JSON.parse(json.stdout) as {
      grupos: Record<string, { passaram: number }>
      verificacoes: Array<{ id: string; resultado: string }>
      codigo_saida: number
    }
    expect(report.verificacoes).toEqual([expect.objectContaining({ id: "op20/recusa", resultado: "passou" })])
    expect(report.grupos.enunciado!.passaram).toBe(1)
    expect(report.codigo_saida).toBe(0)
    const missing = await run([judge, "--so", "op20/recusa", "--", path.join(home, "nao-existe"), "{op}"])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain("não foi possível executar")
    const usage = await run([judge, "--timeout", "x", "--", "c"])
    expect(usage.code).toBe(2)
  }, 60_000)
})

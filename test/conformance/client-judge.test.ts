import { describe, expect, test } from "bun:test"
import * as path from "node:path"
import type { Judged } from "../../src/conformance/check.ts"
import type { JudgeArgs } from "../../src/conformance/client/args.ts"
import { parseJudgeArgs } from "../../src/conformance/client/args.ts"
import { VERDICTS } from "../../src/conformance/client/catalog.ts"
import { commandLine } from "../../src/conformance/client/launch.ts"
import { judgeClient } from "../../src/conformance/client/runner.ts"

/**
 * The client judge: the project's own client and a correct toy client pass
 * every required verdict; each bug planted in the toy client is caught by
 * the verdict meant for it.
 */

const ROOT = path.join(import.meta.dir, "..", "..")
const BUN = process.execPath
const TOY = path.join(import.meta.dir, "toy-client.ts")

const args = (command: ReadonlyArray<string>, extra: Partial<JudgeArgs> = {}): JudgeArgs => ({
  command,
  timeoutSeconds: 1,
  strict: false,
  json: false,
  partial: "{nome}.parcial",
  only: undefined,
  ids: undefined,
  ...extra
})

const toy = (bug?: string) => [
  BUN,
  TOY,
  "{endereco}",
  "{pasta}",
  "{op}",
  "{nome}",
  ...(bug === undefined ? [] : [`--bug=${bug}`])
]

const failures = (results: ReadonlyArray<Judged>) =>
  results.filter((r) => r.outcome._tag === "Fail" && r.check.source !== "recomendado").map((r) => r.check.id)

const judged = async (command: ReadonlyArray<string>, extra: Partial<JudgeArgs> = {}) => {
  const run = await judgeClient(args(command, extra))
  if (run._tag !== "Done") throw new Error(run.message)
  return run.results
}

describe("the command line", () => {
  test("placeholders are replaced in every word; a lone {nome} is dropped for listar", () => {
    const values = { endereco: "127.0.0.1:5", pasta: "/p", op: "listar" as const, nome: "" }
    expect(commandLine(["c", "{endereco}", "--pasta={pasta}", "{op}", "{nome}"], values)).toEqual([
      "c",
      "127.0.0.1:5",
      "--pasta=/p",
      "listar"
    ])
    expect(commandLine(["{op}", "{nome}", "x{nome}"], { ...values, op: "baixar", nome: "a b" })).toEqual([
      "baixar",
      "a b",
      "xa b"
    ])
  })

  test("usage errors and --listar", () => {
    const ids = VERDICTS.map((v) => v.id)
    expect(parseJudgeArgs([], ids)._tag).toBe("Bad")
    expect(parseJudgeArgs(["--parcial", "../{nome}", "--", "x"], ids)._tag).toBe("Bad")
    expect(parseJudgeArgs(["--so", "op10/nada", "--", "x"], ids)._tag).toBe("Bad")
    expect(parseJudgeArgs(["--listar"], ids)._tag).toBe("List")
    const parsed = parseJudgeArgs(["--so", "op10/pedido", "--timeout", "2", "--", "c", "{op}"], ids)
    expect(parsed).toMatchObject({
      _tag: "Run",
      args: { command: ["c", "{op}"], timeoutSeconds: 2, ids: ["op10/pedido"] }
    })
    expect(new Set(ids).size).toBe(ids.length)
  })

  test("a command that cannot be started is reported as such (exit status 3 in the program)", async () => {
    const run = await judgeClient(args(["/nao/existe/cliente", "{op}"], { ids: ["op20/recusa"] }))
    expect(run._tag).toBe("CannotRun")
  })
})

describe("clients that follow the protocol pass", () => {
  test("the project's own client (its partials are {nome}.parcial)", async () => {
    const results = await judged([
      BUN,
      path.join(ROOT, "bin", "cliente.ts"),
      "{endereco}",
      "--pasta",
      "{pasta}",
      "--timeout",
      "1",
      "{op}",
      "{nome}"
    ])
    expect(failures(results)).toEqual([])
    expect(results.length).toBe(VERDICTS.length)
  }, 120_000)

  test("the tests' toy client, without bugs", async () => {
    const results = await judged(toy())
    expect(failures(results)).toEqual([])
  }, 120_000)
})

const PYTHON = Bun.which("python3")
if (PYTHON === null) console.log("test/conformance: o adaptador Python é pulado — python3 não está instalado")

describe.skipIf(PYTHON === null)("the adapter of docs/FERRAMENTAS.md, around a menu-driven Python client", () => {
  test("passes through the adapter, as the document promises", async () => {
    const ids = [
      "op10/pedido",
      "op10/sucesso",
      "op20/sucesso",
      "op30/pedido",
      "op30/espera-status",
      "op40/pedido",
      "op40/sucesso",
      "op50/sucesso",
      "op50/hostil-pai-fora",
      "op50/hostil-pai"
    ]
    const adapter = path.join(import.meta.dir, "python", "adaptador.py")
    const results = await judged([PYTHON!, adapter, "{endereco}", "{pasta}", "{op}", "{nome}"], {
      ids,
      timeoutSeconds: 5
    })
    expect(results.map((r) => [r.check.id, r.outcome._tag])).toEqual(ids.map((id) => [id, "Pass"]))
  }, 90_000)
})

describe("each planted bug is caught", () => {
  test.each([
    ["length-chars", ["op10/pedido"], "número de caracteres"],
    ["early-size", ["op30/espera-status"], "Só enviar se o servidor aceitou"],
    ["md5-empty", ["op40/pedido"], "é o MD5 de nada"],
    ["read-to-close", ["op10/bytes-depois"], "tem 140 bytes; esperado 100"],
    ["trust-names", ["op50/hostil-pai-fora"], "gravou fora da sua pasta"],
    ["keep-final-on-fail", ["op10/corpo-curto-sem-final"], 'ficou um arquivo "relatório.txt"'],
    ["exit0-on-refusal", ["op10/recusa"], "esperado um status diferente de 0"],
    ["no-timeout", ["prazos/download-parado"], "esperado desistir em até"],
    ["recv-once", ["op40/segmentos"], 'não há "video.bin" na pasta do cliente']
  ])(
    "%s",
    async (bug, ids, words) => {
      const results = await judged(toy(bug), { ids })
      expect(results.map((r) => [r.check.id, r.outcome._tag])).toEqual(ids.map((id) => [id, "Fail"]))
      const detail = results[0]!.outcome._tag === "Fail" ? results[0]!.outcome.detail : ""
      expect(detail).toContain(words)
    },
    30_000
  )
})

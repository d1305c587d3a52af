import { describe, expect, test } from "bun:test"
import type { CheckerArgs } from "../../src/conformance/args.ts"
import { check, type Outcome, type Source } from "../../src/conformance/check.ts"
import { exitCode, jsonReport, resultLine, summaryText, tally } from "../../src/conformance/report.ts"
import type { Result } from "../../src/conformance/runner.ts"

/** The report: counts per source, the exit status with and without --estrito, and the wording of each line. */

const result = (source: Source, outcome: Outcome, id = `op10/${source}`): Result => ({
  check: check(id, "op10", source, `título ${id}`, "PROTOCOL.md §5", async () => {}),
  outcome,
  millis: 3
})

const pass: Outcome = { _tag: "Pass" }
const fail: Outcome = { _tag: "Fail", detail: "enviado 0a; recebido 00; esperado 01." }
const skip: Outcome = { _tag: "Skip", reason: "precisa de --pasta" }

const args: CheckerArgs = {
  host: "127.0.0.1",
  port: 1,
  folder: undefined,
  timeoutSeconds: 2,
  strict: false,
  json: false,
  only: undefined
}

describe("report", () => {
  test("each source is counted on its own", () => {
    const results = [
      result("enunciado", pass),
      result("enunciado", fail, "a"),
      result("PROTOCOL.md", skip),
      result("recomendado", fail)
    ]
    expect(tally(results, "enunciado")).toEqual({ passed: 1, failed: 1, skipped: 0 })
    expect(tally(results, "PROTOCOL.md")).toEqual({ passed: 0, failed: 0, skipped: 1 })
    expect(tally(results, "recomendado")).toEqual({ passed: 0, failed: 1, skipped: 0 })
  })

  test("a recommended failure fails the run only with --estrito; required failures always do; skips never do", () => {
    expect(exitCode([result("enunciado", pass), result("recomendado", fail)], false)).toBe(0)
    expect(exitCode([result("enunciado", pass), result("recomendado", fail)], true)).toBe(1)
    expect(exitCode([result("PROTOCOL.md", fail)], false)).toBe(1)
    expect(exitCode([result("enunciado", fail)], false)).toBe(1)
    expect(exitCode([result("enunciado", skip), result("PROTOCOL.md", skip)], true)).toBe(0)
  })

  test("a failure line says what happened and where the rule comes from; a skip says why", () => {
    expect(resultLine(result("enunciado", fail, "op10/inexistente"))).toBe(
      "  ✗ [enunciado] título op10/inexistente\n      enviado 0a; recebido 00; esperado 01.\n      (PROTOCOL.md §5; verificação op10/inexistente)"
    )
    expect(resultLine(result("PROTOCOL.md", skip, "nomes/fifo"))).toBe(
      "  - [PROTOCOL.md] título nomes/fifo — pulada: precisa de --pasta"
    )
    expect(resultLine(result("recomendado", pass, "x"))).toBe("  ✓ [recomendado] título x")
  })

  test("the summary gives one line per source and the verdict", () => {
    const text = summaryText(
      [result("enunciado", pass), result("PROTOCOL.md", fail), result("recomendado", skip)],
      args,
      "conformidade-00",
      false
    )
    expect(text).toContain("enunciado    1/1 passaram\n")
    expect(text).toContain("PROTOCOL.md  0/1 passaram, 1 falhou\n")
    expect(text).toContain("recomendado  0/0 passaram, 1 pulada\n")
    expect(text).toContain("falhou em verificações exigidas")
    expect(text).toContain("conformidade-00")
  })

  test("the JSON report has the groups, every check and the exit status", () => {
    const report = jsonReport(
      [result("enunciado", pass), result("recomendado", fail)],
      { ...args, strict: true },
      "p",
      true
    )
    expect(report.grupos).toEqual({
      enunciado: { passaram: 1, falharam: 0, puladas: 0 },
      "PROTOCOL.md": { passaram: 0, falharam: 0, puladas: 0 },
      recomendado: { passaram: 0, falharam: 1, puladas: 0 }
    })
    expect(report.verificacoes[1]).toMatchObject({ fonte: "recomendado", resultado: "falhou", detalhe: fail.detail })
    expect(report.codigo_saida).toBe(1)
  })
})

import { describe, expect, test } from "bun:test"
import type { OperationRecord } from "../../src/programs/server/exchange.ts"
import { makeMetrics } from "../../src/programs/server/metrics.ts"
import { parseExposition, sampleValue } from "../support/prometheus.ts"

/**
 * The exposition the metrics render, fed in-process, read by the strict
 * parser of test/support/prometheus.ts (and by promtool where installed);
 * the parser itself refuses what Prometheus would.
 */

const record = (op: string, result: string, bytes: number): OperationRecord => ({ op, name: "x", bytes, result })

const fed = () => {
  const metrics = makeMetrics()
  metrics.attach({ connections: () => 2 })
  metrics.operationEnded("c", record("baixar", "ok", 100), 0, 3)
  metrics.operationEnded("c", record("baixar", "cancelado: o cliente fechou", 40), 0, 2_000)
  metrics.operationEnded("c", record("enviar", "cortado: o servidor foi encerrado", 7), 0, 0)
  metrics.operationEnded("c", record("?", "falha: pedido incompleto", 0), 0, 30_000)
  metrics.operationEnded("c", record("op-0x63", "falha: operação desconhecida", 0), 0, 1)
  metrics.operationEnded("c", record("baixar-varios", "recusado", 0), 0, 1)
  metrics.refused("c", "limite-por-endereco", "recusado: limite de 1 por endereço")
  return metrics
}

describe("the metrics' exposition", () => {
  test("parses strictly, and says what was fed", () => {
    const families = parseExposition(fed().render(true))
    expect(sampleValue(families, "arquivos_operacoes_total", { op: "baixar", resultado: "ok" })).toBe(1)
    expect(sampleValue(families, "arquivos_operacoes_total", { op: "baixar", resultado: "cancelado" })).toBe(1)
    expect(sampleValue(families, "arquivos_operacoes_total", { op: "enviar", resultado: "cortado" })).toBe(1)
    expect(sampleValue(families, "arquivos_operacoes_total", { op: "desconhecida", resultado: "falha" })).toBe(2)
    expect(sampleValue(families, "arquivos_operacoes_total", { op: "baixar-varios", resultado: "recusado" })).toBe(1)
    expect(sampleValue(families, "arquivos_bytes_total", { direcao: "saida" })).toBe(140)
    expect(sampleValue(families, "arquivos_bytes_total", { direcao: "entrada" })).toBe(7)
    expect(sampleValue(families, "arquivos_conexoes_ativas")).toBe(2)
    expect(sampleValue(families, "arquivos_recusas_total", { motivo: "limite-por-endereco" })).toBe(1)
    const bucket = (le: string) =>
      sampleValue(families, "arquivos_operacao_duracao_segundos_bucket", { op: "baixar", le })
    expect([bucket("0.001"), bucket("0.005"), bucket("1"), bucket("2.5"), bucket("+Inf")]).toEqual([0, 1, 1, 2, 2])
    expect(sampleValue(families, "arquivos_operacao_duracao_segundos_sum", { op: "baixar" })).toBe(2.003)
    expect(sampleValue(families, "arquivos_aceitando")).toBe(1)
  })

  const promtool = Bun.which("promtool")
  if (promtool === null)
    console.log("promtool ausente (pacote prometheus do Debian): a exposição é lida só pelo leitor estrito")
  test.skipIf(promtool === null)("promtool check metrics accepts it", async () => {
    const child = Bun.spawn([promtool!, "check", "metrics"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" })
    child.stdin.write(fed().render(false))
    await child.stdin.end()
    const [code, out, err] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text()
    ])
    expect(`${out}${err}`).not.toMatch(/error/i)
    expect(code).toBe(0)
  })
})

describe("the strict exposition parser", () => {
  const valid = `# HELP a_total Um contador.\n# TYPE a_total counter\na_total{x="1"} 3\na_total{x="2\\"\\\\\\n"} 0\n`

  test("reads a valid text, escapes undone", () => {
    const families = parseExposition(valid)
    expect(families.get("a_total")!.type).toBe("counter")
    expect(sampleValue(families, "a_total", { x: '2"\\\n' })).toBe(0)
  })

  test.each([
    ["no final line feed", valid.trimEnd()],
    ["a bad metric name", "1a 3\n"],
    ["a bad label escape", 'a{x="\\t"} 1\n'],
    ["an unquoted label", "a{x=1} 1\n"],
    ["a reserved label name", 'a{__x="1"} 1\n'],
    ["a bad value", "a 1,5\n"],
    ["TYPE after samples", "a 1\n# TYPE a gauge\n"],
    ["TYPE twice", "# TYPE a gauge\n# TYPE a gauge\n"],
    ["HELP twice", "# HELP a x\n# HELP a y\n"],
    ["an unknown type", "# TYPE a contador\n"],
    ["a family in two runs", 'a 1\nb 1\na{x="1"} 1\n'],
    ["a repeated series", 'a{x="1",y="2"} 1\na{y="2",x="1"} 2\n'],
    ["a negative counter", "# TYPE a counter\na -1\n"],
    ["a histogram without +Inf", '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    [
      "decreasing buckets",
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'
    ],
    ["+Inf unlike _count", '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n']
  ])("refuses %s", (_why, text) => {
    expect(() => parseExposition(text)).toThrow(/exposição inválida/)
  })
})

import type { CheckerArgs } from "./args.ts"
import { type Described, type Judged, SOURCES, type Source } from "./check.ts"

/** The report: one line per check as it finishes, a summary per source, the exit code. */

export interface Tally {
  readonly passed: number
  readonly failed: number
  readonly skipped: number
}

export const tally = (results: ReadonlyArray<Judged>, source: Source): Tally => {
  const mine = results.filter((result) => result.check.source === source)
  return {
    passed: mine.filter((r) => r.outcome._tag === "Pass").length,
    failed: mine.filter((r) => r.outcome._tag === "Fail").length,
    skipped: mine.filter((r) => r.outcome._tag === "Skip").length
  }
}

/** 0 when every required check passed; 1 otherwise (recommended checks count only when strict). */
export const exitCode = (results: ReadonlyArray<Judged>, strict: boolean): 0 | 1 => {
  const counted: ReadonlyArray<Source> = strict ? SOURCES : ["enunciado", "PROTOCOL.md"]
  return results.some((r) => r.outcome._tag === "Fail" && counted.includes(r.check.source)) ? 1 : 0
}

const MARK = { Pass: "✓", Fail: "✗", Skip: "-" } as const

export const resultLine = (result: Judged): string => {
  const head = `  ${MARK[result.outcome._tag]} [${result.check.source}] ${result.check.title}`
  switch (result.outcome._tag) {
    case "Pass":
      return head
    case "Skip":
      return `${head} — pulada: ${result.outcome.reason}`
    case "Fail":
      return `${head}\n      ${result.outcome.detail}\n      (${result.check.reference}; verificação ${result.check.id})`
  }
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** The summary's lines per source and the verdict on `subject` ("o servidor", "o cliente"). */
export const verdictLines = (results: ReadonlyArray<Judged>, strict: boolean, subject: string): Array<string> => {
  const lines = ["", "Resumo"]
  for (const source of SOURCES) {
    const t = tally(results, source)
    const total = t.passed + t.failed
    lines.push(
      `  ${source.padEnd(12)} ${t.passed}/${total} passaram` +
        (t.failed > 0 ? `, ${plural(t.failed, "falhou", "falharam")}` : "") +
        (t.skipped > 0 ? `, ${plural(t.skipped, "pulada", "puladas")}` : "")
    )
  }
  const code = exitCode(results, strict)
  lines.push(
    "",
    code === 0
      ? `Resultado: ${subject} cumpre tudo o que o enunciado e o PROTOCOL.md exigem${strict ? " (e as recomendações)" : ""}.`
      : `Resultado: ${subject} falhou em verificações ${strict ? "(contando as recomendadas)" : "exigidas pelo enunciado ou pelo PROTOCOL.md"}.`
  )
  return lines
}

export const summaryText = (
  results: ReadonlyArray<Judged>,
  args: CheckerArgs,
  prefix: string,
  cleaned: boolean
): string => {
  const lines = verdictLines(results, args.strict, "o servidor")
  lines.push(
    cleaned
      ? `Tudo o que o verificador criou (prefixo ${prefix}) foi apagado da pasta.`
      : `Os arquivos criados com op 30 começam com ${prefix} e continuam no servidor (o protocolo não apaga; com --pasta o verificador os apaga).`
  )
  return lines.join("\n")
}

export const categoryHeader = (category: string) => `\n${category}`

/** The part of the JSON report both tools share: counts per source, each check, the exit status. */
export const jsonResults = (results: ReadonlyArray<Judged>, strict: boolean) => ({
  grupos: Object.fromEntries(
    SOURCES.map((source) => {
      const t = tally(results, source)
      return [source, { passaram: t.passed, falharam: t.failed, puladas: t.skipped }]
    })
  ),
  verificacoes: results.map((r) => ({
    id: r.check.id,
    categoria: r.check.category,
    fonte: r.check.source,
    titulo: r.check.title,
    referencia: r.check.reference,
    resultado: r.outcome._tag === "Pass" ? "passou" : r.outcome._tag === "Fail" ? "falhou" : "pulada",
    ...(r.outcome._tag === "Fail" ? { detalhe: r.outcome.detail } : {}),
    ...(r.outcome._tag === "Skip" ? { motivo: r.outcome.reason } : {}),
    ms: r.millis
  })),
  codigo_saida: exitCode(results, strict)
})

export const jsonReport = (results: ReadonlyArray<Judged>, args: CheckerArgs, prefix: string, cleaned: boolean) => ({
  servidor: `${args.host}:${args.port}`,
  timeout: args.timeoutSeconds,
  estrito: args.strict,
  prefixo: prefix,
  limpo: cleaned,
  ...jsonResults(results, args.strict)
})

/** `--listar`: one line per check, its id, source and title, grouped by category. */
export const listingText = (checks: ReadonlyArray<Described>): string => {
  const lines: Array<string> = []
  const width = Math.max(0, ...checks.map((check) => check.id.length)) + 2
  let category = ""
  for (const check of checks) {
    if (check.category !== category) {
      category = check.category
      lines.push(`${lines.length > 0 ? "\n" : ""}${category}`)
    }
    lines.push(`  ${check.id.padEnd(width)} [${check.source}] ${check.title}`)
  }
  return lines.join("\n")
}

import { CHECKER_USAGE, parseCheckerArgs } from "./args.ts"
import { CATALOG } from "./catalog.ts"
import { print, resultPrinter } from "./output.ts"
import { exitCode, jsonReport, listingText, summaryText } from "./report.ts"
import { runChecks } from "./runner.ts"

/** `conformidade`: parse, run, print; the exit status is 0, 1, 2 or 3. */

export const checkServer = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = parseCheckerArgs(
    argv,
    CATALOG.map((check) => check.id)
  )
  if (parsed._tag === "Help") {
    await print(CHECKER_USAGE)
    return 0
  }
  if (parsed._tag === "List") {
    await print(listingText(CATALOG))
    return 0
  }
  if (parsed._tag === "Bad") {
    await print(`conformidade: ${parsed.message}\n\n${CHECKER_USAGE}`, Bun.stderr)
    return 2
  }
  const args = parsed.args
  if (!args.json) void print(`Verificando ${args.host}:${args.port} (timeout do servidor: ${args.timeoutSeconds} s)`)
  const run = await runChecks(args, resultPrinter(args.json))
  switch (run._tag) {
    case "Unreachable":
      if (args.json)
        await print(JSON.stringify({ servidor: `${args.host}:${args.port}`, erro: run.message, codigo_saida: 3 }))
      else await print(`conformidade: ${run.message}`, Bun.stderr)
      return 3
    case "BadFolder":
      await print(`conformidade: ${run.message}`, Bun.stderr)
      return 2
    case "Done":
      if (args.json) await print(JSON.stringify(jsonReport(run.results, args, run.prefix, run.cleaned), null, 2))
      else await print(summaryText(run.results, args, run.prefix, run.cleaned))
      return exitCode(run.results, args.strict)
  }
}

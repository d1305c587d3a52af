import { CHECKER_USAGE, parseCheckerArgs } from "./args.ts"
import { categoryHeader, exitCode, jsonReport, resultLine, summaryText } from "./report.ts"
import { runChecks } from "./runner.ts"

/** Entry point of `bun run conformidade`: parse, run, print, exit with 0, 1, 2 or 3. */

const parsed = parseCheckerArgs(process.argv.slice(2))
if (parsed._tag === "Help") {
  console.log(CHECKER_USAGE)
  process.exit(0)
}
if (parsed._tag === "Bad") {
  console.error(`conformidade: ${parsed.message}\n\n${CHECKER_USAGE}`)
  process.exit(2)
}
const args = parsed.args
if (!args.json) console.log(`Verificando ${args.host}:${args.port} (timeout do servidor: ${args.timeoutSeconds} s)`)
let lastCategory = ""
const run = await runChecks(args, (result) => {
  if (args.json) return
  if (result.check.category !== lastCategory) {
    lastCategory = result.check.category
    console.log(categoryHeader(lastCategory))
  }
  console.log(resultLine(result))
})
switch (run._tag) {
  case "Unreachable":
    if (args.json) console.log(JSON.stringify({ servidor: `${args.host}:${args.port}`, erro: run.message, codigo_saida: 3 }))
    else console.error(`conformidade: ${run.message}`)
    process.exit(3)
  case "BadFolder":
    console.error(`conformidade: ${run.message}`)
    process.exit(2)
  case "Done":
    if (args.json) console.log(JSON.stringify(jsonReport(run.results, args, run.prefix, run.cleaned), null, 2))
    else console.log(summaryText(run.results, args, run.prefix, run.cleaned))
    process.exit(exitCode(run.results, args.strict))
}

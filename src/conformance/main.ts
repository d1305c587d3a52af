import { CHECKER_USAGE, parseCheckerArgs } from "./args.ts"
import { categoryHeader, exitCode, jsonReport, resultLine, summaryText } from "./report.ts"
import { runChecks } from "./runner.ts"

/** Entry point of `bun run conformidade`: parse, run, print, exit with 0, 1, 2 or 3. */

/**
 * Every line goes out through one queue, in order, and is awaited before the
 * process exits (a pipe may take a long report in several writes).
 */
let output: Promise<unknown> = Promise.resolve()
const print = (text: string, stream = Bun.stdout): Promise<unknown> => {
  output = output.then(() => Bun.write(stream, `${text}\n`))
  return output
}

const parsed = parseCheckerArgs(process.argv.slice(2))
if (parsed._tag === "Help") {
  await print(CHECKER_USAGE)
  process.exit(0)
}
if (parsed._tag === "Bad") {
  await print(`conformidade: ${parsed.message}\n\n${CHECKER_USAGE}`, Bun.stderr)
  process.exit(2)
}
const args = parsed.args
if (!args.json) void print(`Verificando ${args.host}:${args.port} (timeout do servidor: ${args.timeoutSeconds} s)`)
let lastCategory = ""
const run = await runChecks(args, (result) => {
  if (args.json) return
  if (result.check.category !== lastCategory) {
    lastCategory = result.check.category
    void print(categoryHeader(lastCategory))
  }
  void print(resultLine(result))
})
switch (run._tag) {
  case "Unreachable":
    if (args.json)
      await print(JSON.stringify({ servidor: `${args.host}:${args.port}`, erro: run.message, codigo_saida: 3 }))
    else await print(`conformidade: ${run.message}`, Bun.stderr)
    process.exit(3)
    break
  case "BadFolder":
    await print(`conformidade: ${run.message}`, Bun.stderr)
    process.exit(2)
    break
  case "Done":
    if (args.json) await print(JSON.stringify(jsonReport(run.results, args, run.prefix, run.cleaned), null, 2))
    else await print(summaryText(run.results, args, run.prefix, run.cleaned))
    process.exit(exitCode(run.results, args.strict))
}

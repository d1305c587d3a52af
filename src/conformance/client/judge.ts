import { print, resultPrinter } from "../output.ts"
import { exitCode, jsonResults, listingText, verdictLines } from "../report.ts"
import { JUDGE_USAGE, parseJudgeArgs } from "./args.ts"
import { VERDICTS } from "./catalog.ts"
import { judgeClient } from "./runner.ts"

/** `conformidade-cliente`: parse, run the scenarios, print; the exit status is 0, 1, 2 or 3. */

export const checkClient = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = parseJudgeArgs(
    argv,
    VERDICTS.map((verdict) => verdict.id)
  )
  if (parsed._tag === "Help") {
    await print(JUDGE_USAGE)
    return 0
  }
  if (parsed._tag === "List") {
    await print(listingText([...VERDICTS].sort((a, b) => a.category.localeCompare(b.category))))
    return 0
  }
  if (parsed._tag === "Bad") {
    await print(`conformidade-cliente: ${parsed.message}\n\n${JUDGE_USAGE}`, Bun.stderr)
    return 2
  }
  const args = parsed.args
  if (!args.json)
    void print(`Verificando o cliente: ${args.command.join(" ")} (timeout do cliente: ${args.timeoutSeconds} s)`)
  const run = await judgeClient(args, resultPrinter(args.json))
  if (run._tag === "CannotRun") {
    if (args.json) await print(JSON.stringify({ comando: args.command, erro: run.message, codigo_saida: 3 }))
    else await print(`conformidade-cliente: ${run.message}`, Bun.stderr)
    return 3
  }
  if (args.json)
    await print(
      JSON.stringify(
        {
          comando: args.command,
          timeout: args.timeoutSeconds,
          parcial: args.partial,
          estrito: args.strict,
          ...jsonResults(run.results, args.strict)
        },
        null,
        2
      )
    )
  else await print(verdictLines(run.results, args.strict, "o cliente").join("\n"))
  return exitCode(run.results, args.strict)
}

import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { ClientServices } from "../context.ts"
import { parseCommand, tokenize } from "./commands.ts"
import { ExitCode } from "./failures.ts"
import { printable } from "./format.ts"
import { type Console, runCommand } from "./runner.ts"

/**
 * Batch mode, as `sftp -b`: one command a line, `#` comments, each command
 * echoed before it runs; the first failing command stops the script with its
 * exit status, unless its line starts with `-`.
 */
export const runBatch = (
  lines: ReadonlyArray<string>,
  console: Console
): Effect.Effect<ExitCode, never, ClientServices> =>
  Effect.gen(function* () {
    for (const [index, raw] of lines.entries()) {
      const text = raw.trim()
      if (text === "" || text.startsWith("#")) continue
      const tolerant = text.startsWith("-")
      const line = tolerant ? text.slice(1).trim() : text
      console.out(`cliente> ${printable(line)}`)
      const command = Either.flatMap(tokenize(line), parseCommand)
      if (Either.isLeft(command)) {
        console.err(`linha ${index + 1}: ${command.left}`)
        if (tolerant) continue
        return ExitCode.Usage
      }
      if (command.right._tag === "Quit") return ExitCode.Ok
      const code = yield* runCommand(command.right, console)
      if (code !== ExitCode.Ok && !tolerant) return code
    }
    return ExitCode.Ok
  })

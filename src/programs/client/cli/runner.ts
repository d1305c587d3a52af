import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { FileStore } from "../../../services/FileStore.ts"
import type { ClientServices } from "../context.ts"
import { download } from "../download.ts"
import { downloadMany } from "../downloadMany.ts"
import type { ClientError } from "../errors.ts"
import { list } from "../list.ts"
import { resume } from "../resume.ts"
import { upload } from "../upload.ts"
import { type Command, HELP_TEXT } from "./commands.ts"
import { describeClientError, ExitCode, exitCodeOf } from "./failures.ts"
import { humanSize, listingTable, printable } from "./format.ts"
import { makeProgressView, type ProgressOutput } from "./progressView.ts"

/** Where a command's text goes, and what the session remembers between commands. */
export interface Console {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  readonly progress: ProgressOutput
  readonly server: string
  readonly debug: boolean
  /** Names from the last listing, for Tab completion. */
  remoteNames: ReadonlyArray<string>
}

const downloadOrContinue = (name: string, console: Console, sink: ReturnType<typeof makeProgressView>) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const partial = yield* store.partialSize(name)
    if (Option.isNone(partial) || partial.value === 0) return yield* download(name, sink)
    console.out(
      `"${printable(name)}": há um download parcial (${humanSize(partial.value)}); continuando de onde parou.`
    )
    const resumed = yield* Effect.either(resume(name, undefined, sink))
    if (Either.isRight(resumed)) return resumed.right
    if (resumed.left._tag !== "HashMismatch") return yield* resumed.left
    sink.finish()
    console.out(`"${printable(name)}": o parcial não confere com o arquivo do servidor; baixando do zero.`)
    return yield* download(name, sink)
  })

/** The program behind each command; what it prints on success. */
const programOf = (
  command: Command,
  console: Console,
  sink: ReturnType<typeof makeProgressView>
): Effect.Effect<ExitCode, ClientError, ClientServices> => {
  switch (command._tag) {
    case "List":
      return Effect.map(list, ({ entries, json }) => {
        console.remoteNames = entries.map((entry) => entry.nome)
        console.out(command.json ? json : listingTable(entries))
        return ExitCode.Ok
      })
    case "Download":
      return Effect.map(downloadOrContinue(command.name, console, sink), () => ExitCode.Ok)
    case "Upload":
      return Effect.map(upload(command.name, sink), () => ExitCode.Ok)
    case "Resume":
      return Effect.map(resume(command.name, command.position, sink), (result) => {
        if (result.alreadyComplete || result.from === result.size) {
          console.out(`"${printable(result.name)}" já está completo (${humanSize(result.size)}); nada a baixar.`)
        }
        return ExitCode.Ok
      })
    case "DownloadMany":
      return Effect.map(downloadMany(command.mask, sink), ({ results }) => {
        sink.finish()
        let failures = 0
        for (const result of results) {
          if (result._tag === "Skipped") {
            failures++
            console.err(`"${printable(result.name)}": o servidor não conseguiu enviar (sumiu ou ficou ilegível).`)
          } else if (result._tag === "LocalFailure") {
            failures++
            console.err(describeClientError(result.failure, { server: console.server, command }))
          }
        }
        const saved = results.length - failures
        console.out(
          results.length === 0
            ? `Nenhum arquivo casa com "${printable(command.mask)}".`
            : `${saved} de ${results.length} arquivos baixados.`
        )
        return failures === 0 ? ExitCode.Ok : ExitCode.Refused
      })
    case "Help":
      return Effect.sync(() => {
        console.out(HELP_TEXT)
        return ExitCode.Ok
      })
    case "Quit":
      return Effect.succeed(ExitCode.Ok)
  }
}

/**
 * Runs one command to its exit status. Every expected failure becomes one
 * Portuguese sentence on stderr; internals only with --debug.
 */
export const runCommand = (command: Command, console: Console): Effect.Effect<ExitCode, never, ClientServices> => {
  const sink = makeProgressView(console.progress)
  return programOf(command, console, sink).pipe(
    Effect.onExit(() => Effect.sync(() => sink.finish())),
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        if (Cause.isInterruptedOnly(cause)) {
          console.err("Cancelado.")
          return ExitCode.Refused
        }
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure)) {
          console.err(describeClientError(failure.value, { server: console.server, command }))
          if (console.debug) console.err(Cause.pretty(cause))
          return exitCodeOf(failure.value)
        }
        console.err(`Erro interno: ${console.debug ? Cause.pretty(cause) : "use --debug para detalhes"}`)
        return ExitCode.Network
      })
    )
  )
}

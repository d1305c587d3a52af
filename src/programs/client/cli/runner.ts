import * as path from "node:path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { partialNameOf } from "../../../domain/names.ts"
import { FileStore } from "../../../services/FileStore.ts"
import type { ClientServices } from "../context.ts"
import type { ClientError } from "../errors.ts"
import { list } from "../list.ts"
import { resume } from "../resume.ts"
import { upload } from "../upload.ts"
import type { Command } from "./commands.ts"
import { type Console, localPath, resumeWords } from "./console.ts"
import { debugDetails, describeClientError, ExitCode, exitCodeOf } from "./failures.ts"
import { humanSize, listingTable, plural, printable } from "./format.ts"
import { helpText } from "./help.ts"
import { changeLocalFolder, listLocal, showLocalFolder } from "./local.ts"
import { makeProgressView, type ProgressView } from "./progressView.ts"
import {
  downloadEachContinuing,
  downloadManyAtOnce,
  downloadOrContinue,
  partialsMatching,
  sayComplete,
  uploadMany
} from "./transfers.ts"

export type { Console } from "./console.ts"

/** The program behind each command; what it prints on success. */
const programOf = (
  command: Command,
  console: Console,
  sink: ProgressView
): Effect.Effect<ExitCode, ClientError, ClientServices> => {
  switch (command._tag) {
    case "List":
      return Effect.map(list, ({ entries, json }) => {
        console.remoteNames = entries.map((entry) => entry.nome)
        if (command.json) console.data(json)
        else console.out(listingTable(entries, console.columns()))
        return ExitCode.Ok
      })
    case "Download":
      return Effect.map(
        downloadOrContinue(
          command.name,
          console,
          sink,
          localPath(console, command.target ?? command.name),
          command.continued === true
        ),
        () => ExitCode.Ok
      )
    case "Upload":
      return Effect.map(upload(command.name, sink, localPath(console, command.name)), () => ExitCode.Ok)
    case "Resume":
      return Effect.map(resume(command.name, command.position, sink, localPath(console, command.name)), (result) => {
        if (result.alreadyComplete || result.from === result.size) sayComplete(console, result.name, result.size)
        return ExitCode.Ok
      })
    case "DownloadMany":
      return Effect.flatMap(partialsMatching(command.mask, console), (partials) =>
        partials > 0
          ? downloadEachContinuing(command.mask, partials, console, sink)
          : downloadManyAtOnce(command, console, sink)
      )
    case "UploadMany":
      return uploadMany(command.mask, console, sink)
    case "LocalList":
      return listLocal(console)
    case "LocalFolder":
      return showLocalFolder(console)
    case "LocalChange":
      return changeLocalFolder(console, command.folder)
    case "Help":
      return Effect.sync(() => {
        console.out(helpText(console.columns() ?? 80, command.topic))
        return ExitCode.Ok
      })
    case "Invalid":
      return Effect.sync(() => {
        console.err(command.message)
        return ExitCode.Usage
      })
    case "Each":
      // Run one by one by runCommand; never reached here.
      return Effect.dieMessage("Each is run by runCommand")
    case "Quit":
      return Effect.succeed(ExitCode.Ok)
  }
}

interface Downloaded {
  /** The server's name. */
  readonly name: string
  /** Where it is written in the client folder. */
  readonly local: string
}

/** The file a download command writes to, whose partial is what a failure or a cancel leaves. */
const downloadedName = (command: Command, sink: ProgressView, console: Console): Downloaded | undefined => {
  switch (command._tag) {
    case "Download":
      return { name: command.name, local: localPath(console, command.target ?? command.name) }
    case "Resume":
      return { name: command.name, local: localPath(console, command.name) }
    case "DownloadMany": {
      const current = sink.current()
      return current && { name: current.name, local: localPath(console, current.name) }
    }
    default:
      return undefined
  }
}

/** Where a downloaded file landed, as a path from where the client was started (its folder as given). */
const landing = (command: Command, console: Console, name: string): string | undefined => {
  switch (command._tag) {
    case "Download":
      return path.join(console.folder, localPath(console, name === command.name ? (command.target ?? name) : name))
    case "Resume":
    case "DownloadMany":
      return path.join(console.folder, localPath(console, name))
    default:
      return undefined
  }
}

/** How many bytes the partial at `local` holds now (0 when there is none). */
const keptBytes = (file: Downloaded | undefined) =>
  file === undefined
    ? Effect.succeed(0)
    : Effect.flatMap(FileStore, (store) => store.partialSize(file.local)).pipe(
        Effect.map(Option.getOrElse(() => 0)),
        Effect.orElseSucceed(() => 0)
      )

/** The size of the complete local file, if there is one. */
const finalSize = (file: Downloaded | undefined) =>
  file === undefined
    ? Effect.succeed(undefined)
    : Effect.flatMap(FileStore, (store) => store.size(file.local)).pipe(
        Effect.map(Option.getOrUndefined),
        Effect.orElseSucceed(() => undefined)
      )

/** The one line that says what a cancel (Ctrl+C) left behind. */
const cancelLine = (
  command: Command,
  console: Console,
  file: Downloaded | undefined,
  kept: number,
  completed: number,
  count: number,
  /** An upload was cancelled after all its bytes had reached the server (ProgressSink.delivered). */
  delivered: boolean
) => {
  // The command to paste goes on a line of its own, which is never wrapped. A batch is continued by
  // running it again: its partial is continued, and the files already saved come again.
  const again =
    command._tag === "DownloadMany"
      ? console.resumeCommand(["baixar-varios", command.mask])
      : file === undefined
        ? ""
        : console.resumeCommand(resumeWords(console, file.name, file.local))
  const keptText =
    file !== undefined && kept > 0
      ? `"${printable(file.name)}" ficou com ${humanSize(kept)} em "${printable(partialNameOf(file.local))}". Para continuar:\n  ${again}`
      : undefined
  switch (command._tag) {
    case "Upload":
      return delivered
        ? `Cancelado no fim: todos os bytes já tinham saído desta máquina e sido confirmados; o servidor pode gravar o arquivo. Confira com listar.`
        : `Cancelado: nada foi gravado no servidor (um envio só aparece lá quando chega inteiro).`
    case "Download":
    case "Resume":
      return keptText === undefined ? "Cancelado: nada foi baixado." : `Cancelado: ${keptText}`
    case "UploadMany":
      return `Cancelado: ${completed} de ${plural(count, "arquivo enviado", "arquivos enviados")}; ${delivered ? "o envio em curso já tinha saído inteiro desta máquina, e o servidor pode gravá-lo (confira com listar)." : "o envio em curso não foi gravado no servidor."}`
    case "DownloadMany":
      return `Cancelado: ${completed} de ${plural(count, "arquivo baixado", "arquivos baixados")}${keptText === undefined ? `. Para tentar de novo:\n  ${again}` : `; ${keptText}`}`
    default:
      return "Cancelado."
  }
}

/**
 * Runs one command to its exit status. Every expected failure becomes one
 * Portuguese sentence on stderr; internals only with --debug. An interrupt
 * (Ctrl+C) prints the one line that says what was kept, and stays an
 * interrupt: the caller decides what comes next.
 */
export const runCommand = (command: Command, console: Console): Effect.Effect<ExitCode, never, ClientServices> =>
  command._tag === "Each"
    ? // Several names in one line: each in turn, all of them even after a failure (as lftp); the worst status.
      Effect.reduce(command.commands, ExitCode.Ok as ExitCode, (worst, next) =>
        Effect.map(runCommand(next, console), (code) => Math.max(worst, code) as ExitCode)
      )
    : runOne(command, console)

const runOne = (command: Command, console: Console): Effect.Effect<ExitCode, never, ClientServices> => {
  const sink = makeProgressView(console.progress, (name) => landing(command, console, name))
  let completed = 0
  let count = 0
  let delivered = false
  const counting: ProgressView = {
    ...sink,
    delivered: () => {
      delivered = true
    },
    batch: (files, bytes) => {
      count = files
      sink.batch?.(files, bytes)
    },
    completed: () => {
      completed++
      sink.completed?.()
    }
  }
  return programOf(command, console, counting).pipe(
    Effect.onInterrupt(() =>
      Effect.gen(function* () {
        // A Ctrl+C that lands after a one-file command confirmed its file: its result line was the final one.
        if (completed > 0 && (command._tag === "Download" || command._tag === "Upload" || command._tag === "Resume"))
          return
        const file = downloadedName(command, sink, console)
        const kept = yield* keptBytes(file)
        sink.notice(cancelLine(command, console, file, kept, completed, count, delivered))
      })
    ),
    Effect.onExit(() => Effect.sync(() => sink.finish())),
    Effect.catchAllCause((cause) =>
      Effect.gen(function* () {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure)) {
          const file = downloadedName(command, sink, console)
          const kept = yield* keptBytes(file)
          const finalExists = failure.value._tag === "HashMismatch" && (yield* finalSize(file)) !== undefined
          console.err(
            describeClientError(failure.value, {
              server: console.server,
              tls: console.tls,
              command,
              kept,
              finalExists,
              ...(file === undefined
                ? {}
                : { resumeCommand: () => console.resumeCommand(resumeWords(console, file.name, file.local)) })
            })
          )
          if (console.debug) for (const line of debugDetails(cause)) console.err(line)
          return exitCodeOf(failure.value)
        }
        console.err(`Erro interno${console.debug ? "" : " (use --debug para detalhes)"}.`)
        if (console.debug) for (const line of debugDetails(cause)) console.err(line)
        return ExitCode.Network
      })
    )
  )
}

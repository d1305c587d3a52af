import { realpathSync, statSync } from "node:fs"
import * as path from "node:path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { maskMatcher } from "../../../domain/mask.ts"
import { PARTIAL_SUFFIX, partialNameOf } from "../../../domain/names.ts"
import { MAX_U32 } from "../../../domain/protocol.ts"
import { FileStore } from "../../../services/FileStore.ts"
import type { ClientServices } from "../context.ts"
import { download } from "../download.ts"
import { downloadMany } from "../downloadMany.ts"
import type { ClientError } from "../errors.ts"
import { list } from "../list.ts"
import { resume } from "../resume.ts"
import { upload } from "../upload.ts"
import { type Command, helpText } from "./commands.ts"
import { debugDetails, describeClientError, ExitCode, exitCodeOf } from "./failures.ts"
import { humanSize, listingTable, plural, printable } from "./format.ts"
import { makeProgressView, type ProgressOutput, type ProgressView } from "./progressView.ts"

/** Where a command's text goes, and what the session remembers between commands. */
export interface Console {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  readonly progress: ProgressOutput
  readonly server: string
  readonly debug: boolean
  /** A command (its words) as the user would type it here, e.g. the one that continues a download. */
  readonly resumeCommand: (words: ReadonlyArray<string>) => string
  /** Names from the last listing, for Tab completion. */
  remoteNames: ReadonlyArray<string>
  /** The local folder set by `lcd`, relative to the client folder ("" for the folder itself). */
  localFolder: string
}

/** Where `name` lives locally: under the folder set by `lcd`. */
export const localPath = (console: Console, name: string): string =>
  console.localFolder === "" ? name : `${console.localFolder}/${name}`

/** The words that continue a download of `name` kept at `local`. */
const resumeWords = (console: Console, name: string, local: string): ReadonlyArray<string> =>
  local === localPath(console, name) ? ["retomar", name] : ["baixar", name, "-o", local.slice(console.localFolder === "" ? 0 : console.localFolder.length + 1)]

const downloadOrContinue = (name: string, console: Console, sink: ProgressView, local = localPath(console, name)) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const partial = yield* store.partialSize(local)
    if (Option.isNone(partial) || partial.value === 0) return yield* download(name, sink, local)
    console.out(`"${printable(name)}": há um download parcial (${humanSize(partial.value)}); continuando de onde parou.`)
    const resumed = yield* Effect.either(resume(name, undefined, sink, local))
    if (Either.isRight(resumed)) {
      if (resumed.right.from === resumed.right.size) {
        sink.skip?.(name) // keeps the [i/N] numbering of a batch: this file had no transfer
        console.out(`"${printable(name)}" já estava todo no parcial (${humanSize(resumed.right.size)}); completo.`)
      }
      return resumed.right
    }
    if (resumed.left._tag !== "HashMismatch") return yield* resumed.left
    sink.finish()
    console.out(`"${printable(name)}": o parcial não confere com o arquivo do servidor; baixando do zero.`)
    return yield* download(name, sink, local)
  })

/** The program behind each command; what it prints on success. */
const programOf = (command: Command, console: Console, sink: ProgressView): Effect.Effect<ExitCode, ClientError, ClientServices> => {
  switch (command._tag) {
    case "List":
      return Effect.map(list, ({ entries, json }) => {
        console.remoteNames = entries.map((entry) => entry.nome)
        console.out(command.json ? json : listingTable(entries))
        return ExitCode.Ok
      })
    case "Download":
      return Effect.map(
        downloadOrContinue(command.name, console, sink, localPath(console, command.target ?? command.name)),
        () => ExitCode.Ok
      )
    case "Upload":
      return Effect.map(upload(command.name, sink, localPath(console, command.name)), () => ExitCode.Ok)
    case "Resume":
      return Effect.map(resume(command.name, command.position, sink, localPath(console, command.name)), (result) => {
        if (result.alreadyComplete || result.from === result.size) {
          console.out(`"${printable(result.name)}" já está completo (${humanSize(result.size)}); nada a baixar.`)
        }
        return ExitCode.Ok
      })
    case "DownloadMany":
      return Effect.flatMap(partialsMatching(command.mask, console), (partials) =>
        partials > 0 ? downloadEachContinuing(command.mask, partials, console, sink) : downloadManyAtOnce(command, console, sink)
      )
    case "UploadMany":
      return uploadMany(command.mask, command, console, sink)
    case "LocalList":
      return Effect.map(localFiles(console), (files) => {
        console.out(
          files.length === 0
            ? "(nenhum arquivo na pasta local)"
            : listingTable(files.map((file) => ({ nome: file.name, tamanho: String(file.size) })))
        )
        return ExitCode.Ok
      })
    case "LocalFolder":
      return Effect.map(FileStore, (store) => {
        console.out(path.join(store.root, console.localFolder))
        return ExitCode.Ok
      })
    case "LocalChange":
      return Effect.flatMap(FileStore, (store) =>
        Effect.sync(() => {
          // Without a folder: back to the client folder itself.
          const target = command.folder === undefined ? "." : path.posix.normalize(path.posix.join(console.localFolder, command.folder))
          const relative = target === "." ? "" : target
          if (relative === ".." || relative.startsWith("../") || path.posix.isAbsolute(relative)) {
            console.err(`"${printable(command.folder ?? "")}" fica fora da pasta local (${store.root}): recusado.`)
            return ExitCode.Refused
          }
          const absolute = path.join(store.root, relative)
          let real: string | undefined
          try {
            real = statSync(absolute).isDirectory() ? realpathSync(absolute) : undefined
          } catch {
            real = undefined
          }
          if (real === undefined) {
            console.err(`"${printable(command.folder ?? "")}" não é uma pasta dentro da pasta local. Use "lls" para ver o que há.`)
            return ExitCode.Refused
          }
          if (real !== store.root && !real.startsWith(`${store.root}${path.sep}`)) {
            console.err(`"${printable(command.folder ?? "")}" leva para fora da pasta local (link simbólico?): recusado.`)
            return ExitCode.Refused
          }
          console.localFolder = relative
          console.out(`Pasta local: ${absolute}`)
          return ExitCode.Ok
        })
      )
    case "Help":
      return Effect.sync(() => {
        console.out(helpText(console.progress.live ? console.progress.width() : 80, command.topic))
        return ExitCode.Ok
      })
    case "Each":
      // Run one by one by runCommand; never reached here.
      return Effect.dieMessage("Each is run by runCommand")
    case "Quit":
      return Effect.succeed(ExitCode.Ok)
  }
}

/** op 50: the whole batch on one connection. */
const downloadManyAtOnce = (command: Extract<Command, { _tag: "DownloadMany" }>, console: Console, sink: ProgressView) =>
  Effect.map(downloadMany(command.mask, sink, console.localFolder), ({ results }) => {
    sink.finish()
    if (results.length === 0) {
      // As sftp and lftp: a mask that matches nothing is an error, so a script notices.
      console.err(`Nenhum arquivo do servidor casa com "${printable(command.mask)}". Use "listar" para ver os nomes.`)
      return ExitCode.Refused
    }
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
    console.out(`${saved} de ${plural(results.length, "arquivo baixado", "arquivos baixados")}.`)
    return failures === 0 ? ExitCode.Ok : ExitCode.Refused
  })

/** Local partial downloads whose names match `mask`. */
const partialsMatching = (mask: string, console: Console) =>
  Effect.map(localFiles(console), (files) => {
    const matches = maskMatcher(mask)
    return files.filter((file) => file.name.endsWith(PARTIAL_SUFFIX) && matches(file.name.slice(0, -PARTIAL_SUFFIX.length))).length
  })

/** The files under the local folder set by `lcd`, named relative to it. */
const localFiles = (console: Console) =>
  Effect.flatMap(FileStore, (store) =>
    Effect.map(store.list, (files) =>
      console.localFolder === ""
        ? files
        : files
            .filter((file) => file.name.startsWith(`${console.localFolder}/`))
            .map((file) => ({ ...file, name: file.name.slice(console.localFolder.length + 1) }))
    )
  )

/**
 * `baixar-varios` with partial downloads of matching files at hand (as
 * `lftp mget -c`): op 50 would send those files whole again, so the listing
 * decides what matches and each file goes on its own connection, a partial
 * continued after its MD5 check, the others downloaded.
 */
const downloadEachContinuing = (mask: string, partials: number, console: Console, sink: ProgressView) =>
  Effect.gen(function* () {
    const { entries } = yield* list
    const matches = maskMatcher(mask)
    const files = entries.filter((entry) => matches(entry.nome) && Number(entry.tamanho) <= MAX_U32)
    if (files.length === 0) {
      console.err(`Nenhum arquivo do servidor casa com "${printable(mask)}". Use "listar" para ver os nomes.`)
      return ExitCode.Refused
    }
    console.out(
      `"${printable(mask)}": ${plural(partials, "download parcial encontrado", "downloads parciais encontrados")}; continuando de onde pararam, um arquivo por conexão.`
    )
    sink.batch?.(files.length, files.reduce((sum, entry) => sum + Number(entry.tamanho), 0))
    let worst: ExitCode = ExitCode.Ok
    let saved = 0
    for (const entry of files) {
      const result = yield* Effect.either(downloadOrContinue(entry.nome, console, sink))
      if (Either.isRight(result)) {
        saved++
        continue
      }
      sink.finish()
      console.err(describeClientError(result.left, { server: console.server, command: { _tag: "Download", name: entry.nome } }))
      worst = Math.max(worst, exitCodeOf(result.left)) as ExitCode
    }
    console.out(`${saved} de ${plural(files.length, "arquivo baixado", "arquivos baixados")}.`)
    return worst
  })

/**
 * mput: every local file the mask matches (the rules of op 50, applied
 * here), each uploaded on its own connection; a file that fails is
 * reported and the rest go on.
 */
const uploadMany = (mask: string, command: Command, console: Console, sink: ProgressView) =>
  Effect.gen(function* () {
    const matches = maskMatcher(mask)
    const files = (yield* localFiles(console)).filter((file) => !file.name.endsWith(PARTIAL_SUFFIX) && matches(file.name))
    if (files.length === 0) {
      console.err(`Nenhum arquivo da pasta local casa com "${printable(mask)}". Use "lls" para ver os nomes.`)
      return ExitCode.Refused
    }
    sink.batch?.(files.length, files.reduce((sum, file) => sum + file.size, 0))
    let worst: ExitCode = ExitCode.Ok
    let sent = 0
    for (const file of files) {
      const result = yield* Effect.either(upload(file.name, sink, localPath(console, file.name)))
      if (Either.isRight(result)) {
        sent++
        continue
      }
      sink.finish()
      console.err(describeClientError(result.left, { server: console.server, command: { _tag: "Upload", name: file.name } }))
      worst = Math.max(worst, exitCodeOf(result.left)) as ExitCode
    }
    console.out(`${sent} de ${plural(files.length, "arquivo enviado", "arquivos enviados")}.`)
    return worst
  })

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

/** How many bytes the partial at `local` holds now (0 when there is none). */
const keptBytes = (file: Downloaded | undefined) =>
  file === undefined
    ? Effect.succeed(0)
    : Effect.flatMap(FileStore, (store) => store.partialSize(file.local)).pipe(
        Effect.map(Option.getOrElse(() => 0)),
        Effect.orElseSucceed(() => 0)
      )

/** The one line that says what a cancel (Ctrl+C) left behind. */
const cancelLine = (command: Command, console: Console, file: Downloaded | undefined, kept: number, completed: number, count: number) => {
  const keptText =
    file !== undefined && kept > 0
      ? `"${printable(file.name)}" ficou com ${humanSize(kept)} em "${printable(partialNameOf(file.local))}"; para continuar: ${console.resumeCommand(resumeWords(console, file.name, file.local))}`
      : undefined
  switch (command._tag) {
    case "Upload":
      return `Cancelado: nada foi gravado no servidor (um envio só aparece lá quando chega inteiro).`
    case "Download":
    case "Resume":
      return keptText === undefined ? "Cancelado: nada foi baixado." : `Cancelado: ${keptText}`
    case "UploadMany":
      return `Cancelado: ${completed} de ${plural(count, "arquivo enviado", "arquivos enviados")}; o envio em curso não foi gravado no servidor.`
    case "DownloadMany":
      return `Cancelado: ${completed} de ${plural(count, "arquivo baixado", "arquivos baixados")}${keptText === undefined ? "." : `; ${keptText}`}`
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
  const sink = makeProgressView(console.progress)
  let completed = 0
  let count = 0
  const counting: ProgressView = {
    ...sink,
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
        const file = downloadedName(command, sink, console)
        const kept = yield* keptBytes(file)
        sink.notice(cancelLine(command, console, file, kept, completed, count))
      })
    ),
    Effect.onExit(() => Effect.sync(() => sink.finish())),
    Effect.catchAllCause((cause) =>
      Effect.gen(function* () {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure)) {
          const file = downloadedName(command, sink, console)
          const kept = yield* keptBytes(file)
          console.err(
            describeClientError(failure.value, {
              server: console.server,
              command,
              kept,
              ...(file === undefined ? {} : { resumeCommand: () => console.resumeCommand(resumeWords(console, file.name, file.local)) })
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

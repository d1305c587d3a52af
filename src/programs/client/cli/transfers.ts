import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { maskMatcher } from "../../../domain/mask.ts"
import { PARTIAL_SUFFIX } from "../../../domain/names.ts"
import { fitsU32 } from "../../../domain/protocol.ts"
import { FileStore } from "../../../services/FileStore.ts"
import { download } from "../download.ts"
import { downloadMany } from "../downloadMany.ts"
import { list } from "../list.ts"
import { resume } from "../resume.ts"
import { upload } from "../upload.ts"
import type { Command } from "./commands.ts"
import { type Console, localPath } from "./console.ts"
import { describeClientError, ExitCode, exitCodeOf } from "./failures.ts"
import { humanSize, plural, printable } from "./format.ts"
import { localFiles } from "./local.ts"
import type { ProgressView } from "./progressView.ts"

/** Downloads of one or many files, and uploads of many: what the commands run, with what they print. */

/** The line for a resume that found the local file already whole. */
export const sayComplete = (console: Console, name: string, size: number) =>
  console.out(`"${printable(name)}" já está completo (${humanSize(size)}); nada a baixar.`)

/**
 * A download, continued when a partial of it is at hand (and started over
 * when that partial does not match). `continued` (-c): with no partial, a
 * complete local file is resumed, so its MD5 is checked and it is kept.
 */
export const downloadOrContinue = (
  name: string,
  console: Console,
  sink: ProgressView,
  local = localPath(console, name),
  continued = false
) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const partial = yield* store.partialSize(local)
    if (Option.isNone(partial) || partial.value === 0) {
      if (!continued || Option.isNone(yield* store.size(local))) return yield* download(name, sink, local)
      const resumed = yield* resume(name, undefined, sink, local)
      if (resumed.alreadyComplete || resumed.from === resumed.size) sayComplete(console, name, resumed.size)
      return resumed
    }
    console.err(
      `"${printable(name)}": há um download parcial (${humanSize(partial.value)}); continuando de onde parou.`
    )
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
    console.err(`"${printable(name)}": o parcial não confere com o arquivo do servidor; baixando do zero.`)
    return yield* download(name, sink, local)
  })

/** op 50: the whole batch on one connection. */
export const downloadManyAtOnce = (
  command: Extract<Command, { _tag: "DownloadMany" }>,
  console: Console,
  sink: ProgressView
) =>
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
        console.err(describeClientError(result.failure, { server: console.server, tls: console.tls, command }))
      }
    }
    const saved = results.length - failures
    console.out(`${saved} de ${plural(results.length, "arquivo baixado", "arquivos baixados")}.`)
    return failures === 0 ? ExitCode.Ok : ExitCode.Refused
  })

/** Local partial downloads whose names match `mask`. */
export const partialsMatching = (mask: string, console: Console) =>
  Effect.map(localFiles(console), (files) => {
    const matches = maskMatcher(mask)
    return files.filter(
      (file) => file.name.endsWith(PARTIAL_SUFFIX) && matches(file.name.slice(0, -PARTIAL_SUFFIX.length))
    ).length
  })

/**
 * `baixar-varios` with partial downloads of matching files at hand (as
 * `lftp mget -c`): op 50 would send those files whole again, so the listing
 * decides what matches and each file goes on its own connection, a partial
 * continued after its MD5 check, the others downloaded.
 */
export const downloadEachContinuing = (mask: string, partials: number, console: Console, sink: ProgressView) =>
  Effect.gen(function* () {
    const { entries } = yield* list
    const matches = maskMatcher(mask)
    const files = entries.filter((entry) => matches(entry.nome) && fitsU32(Number(entry.tamanho)))
    if (files.length === 0) {
      console.err(`Nenhum arquivo do servidor casa com "${printable(mask)}". Use "listar" para ver os nomes.`)
      return ExitCode.Refused
    }
    console.err(
      `"${printable(mask)}": ${plural(partials, "download parcial encontrado", "downloads parciais encontrados")}; continuando de onde pararam, um arquivo por conexão.`
    )
    sink.batch?.(
      files.length,
      files.reduce((sum, entry) => sum + Number(entry.tamanho), 0)
    )
    let worst: ExitCode = ExitCode.Ok
    let saved = 0
    for (const entry of files) {
      const result = yield* Effect.either(downloadOrContinue(entry.nome, console, sink))
      if (Either.isRight(result)) {
        saved++
        continue
      }
      sink.finish()
      console.err(
        describeClientError(result.left, {
          server: console.server,
          tls: console.tls,
          command: { _tag: "Download", name: entry.nome }
        })
      )
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
export const uploadMany = (mask: string, console: Console, sink: ProgressView) =>
  Effect.gen(function* () {
    const matches = maskMatcher(mask)
    const files = (yield* localFiles(console)).filter(
      (file) => !file.name.endsWith(PARTIAL_SUFFIX) && matches(file.name)
    )
    if (files.length === 0) {
      console.err(`Nenhum arquivo da pasta local casa com "${printable(mask)}". Use "lls" para ver os nomes.`)
      return ExitCode.Refused
    }
    sink.batch?.(
      files.length,
      files.reduce((sum, file) => sum + file.size, 0)
    )
    let worst: ExitCode = ExitCode.Ok
    let sent = 0
    for (const file of files) {
      const result = yield* Effect.either(upload(file.name, sink, localPath(console, file.name)))
      if (Either.isRight(result)) {
        sent++
        continue
      }
      sink.finish()
      console.err(
        describeClientError(result.left, {
          server: console.server,
          tls: console.tls,
          command: { _tag: "Upload", name: file.name }
        })
      )
      worst = Math.max(worst, exitCodeOf(result.left)) as ExitCode
    }
    console.out(`${sent} de ${plural(files.length, "arquivo enviado", "arquivos enviados")}.`)
    return worst
  })

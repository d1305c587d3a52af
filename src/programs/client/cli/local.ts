import { realpathSync, statSync } from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { FileStore } from "../../../services/FileStore.ts"
import type { Console } from "./console.ts"
import { ExitCode } from "./failures.ts"
import { listingTable, printable } from "./format.ts"

/** The local commands: lls, lpwd and lcd, all within the client folder. */

/** The files under the local folder set by `lcd`, named relative to it. */
export const localFiles = (console: Console) =>
  Effect.flatMap(FileStore, (store) =>
    Effect.map(store.list, (files) =>
      console.localFolder === ""
        ? files
        : files
            .filter((file) => file.name.startsWith(`${console.localFolder}/`))
            .map((file) => ({ ...file, name: file.name.slice(console.localFolder.length + 1) }))
    )
  )

/** lls: the files under the local folder, as a table. */
export const listLocal = (console: Console) =>
  Effect.map(localFiles(console), (files) => {
    console.out(
      files.length === 0
        ? "(nenhum arquivo na pasta local)"
        : listingTable(
            files.map((file) => ({ nome: file.name, tamanho: String(file.size) })),
            console.columns()
          )
    )
    return ExitCode.Ok
  })

/** lpwd */
export const showLocalFolder = (console: Console) =>
  Effect.map(FileStore, (store) => {
    console.out(path.join(store.root, console.localFolder))
    return ExitCode.Ok
  })

/**
 * lcd: a folder that exists inside the client folder (a link that leads out
 * of it is refused); without one, back to the client folder itself.
 */
export const changeLocalFolder = (console: Console, folder: string | undefined) =>
  Effect.flatMap(FileStore, (store) =>
    Effect.sync(() => {
      const target = folder === undefined ? "." : path.posix.normalize(path.posix.join(console.localFolder, folder))
      const relative = target === "." ? "" : target
      if (relative === ".." || relative.startsWith("../") || path.posix.isAbsolute(relative)) {
        console.err(
          `"${printable(folder ?? "")}" fica fora da pasta local (${store.root}): recusado. Para trabalhar em outra pasta, inicie o cliente com --pasta PASTA.`
        )
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
        console.err(`"${printable(folder ?? "")}" não é uma pasta dentro da pasta local. Use "lls" para ver o que há.`)
        return ExitCode.Refused
      }
      if (real !== store.root && !real.startsWith(`${store.root}${path.sep}`)) {
        console.err(`"${printable(folder ?? "")}" leva para fora da pasta local (link simbólico?): recusado.`)
        return ExitCode.Refused
      }
      console.localFolder = relative
      console.out(`Pasta local: ${absolute}`)
      return ExitCode.Ok
    })
  )

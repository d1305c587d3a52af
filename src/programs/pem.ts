import { readFileSync } from "node:fs"
import * as Either from "effect/Either"

/**
 * A PEM file named on a command line (a certificate, a key, a CA), read
 * whole; Left: a Portuguese sentence naming it (`what` says which option).
 */
export const readPem = (file: string, what: string): Either.Either<string, string> => {
  try {
    return Either.right(readFileSync(file, "utf8"))
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const why = code === "ENOENT" ? "não existe" : code === "EACCES" ? "sem permissão de leitura" : "não pôde ser lido"
    return Either.left(`${what} "${file}" ${why}`)
  }
}

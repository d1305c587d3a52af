import { readFileSync } from "node:fs"
import * as Either from "effect/Either"
import { type Cidr, parseCidr } from "../../domain/cidr.ts"

/**
 * `--permitir-arquivo`: the client networks, read from a file the operator
 * edits and SIGHUP re-reads. One network or address per line (or several
 * separated by commas or spaces); `#` starts a comment. An empty file
 * allows no one. Left: a Portuguese sentence naming the file and the line.
 */
export const readAllowFile = (file: string): Either.Either<ReadonlyArray<Cidr>, string> => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const why = code === "ENOENT" ? "não existe" : code === "EACCES" ? "sem permissão de leitura" : "não pôde ser lido"
    return Either.left(`--permitir-arquivo "${file}": ${why}`)
  }
  const blocks: Array<Cidr> = []
  const lines = text.split("\n")
  for (const [index, line] of lines.entries()) {
    for (const word of line.replace(/#.*/, "").split(/[\s,]+/)) {
      if (word === "") continue
      const parsed = parseCidr(word)
      if (Either.isLeft(parsed)) return Either.left(`--permitir-arquivo "${file}", linha ${index + 1}: ${parsed.left}`)
      blocks.push(parsed.right)
    }
  }
  return Either.right(blocks)
}

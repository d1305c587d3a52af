import * as Either from "effect/Either"
import { MAX_NAME_BYTES } from "./protocol.ts"

/**
 * The name rules, in one place. A name is a relative UTF-8 path with `/`
 * separators that stays inside the served folder and names no hidden entry.
 */

/** Why a name (or mask) is refused: the list is the value, the type comes from it. */
export const NameProblems = [
  "Empty",
  "TooLong",
  "InvalidUtf8",
  "ControlCharacter",
  "Backslash",
  "Absolute",
  "DriveLetter",
  "EmptyComponent",
  "DotComponent",
  "Hidden",
  "UnsupportedPattern"
] as const
export type NameProblem = (typeof NameProblems)[number]

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const utf8 = new TextEncoder()

// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const DRIVE = /^[A-Za-z]:/

const checkText = (text: string): NameProblem | undefined => {
  if (text.length === 0) return "Empty"
  if (CONTROL.test(text)) return "ControlCharacter"
  if (text.includes("\\")) return "Backslash"
  if (text.startsWith("/")) return "Absolute"
  if (DRIVE.test(text)) return "DriveLetter"
  for (const component of text.split("/")) {
    if (component === "") return "EmptyComponent"
    if (component === "." || component === "..") return "DotComponent"
    if (component.startsWith(".")) return "Hidden"
  }
  return undefined
}

const decode = (bytes: Uint8Array): Either.Either<string, NameProblem> => {
  if (bytes.length === 0) return Either.left("Empty")
  if (bytes.length > MAX_NAME_BYTES) return Either.left("TooLong")
  try {
    return Either.right(strictUtf8.decode(bytes))
  } catch {
    return Either.left("InvalidUtf8")
  }
}

/** Validates a name as it arrives on the wire. */
export const parseName = (bytes: Uint8Array): Either.Either<string, NameProblem> =>
  Either.flatMap(decode(bytes), (text) => {
    const problem = checkText(text)
    return problem === undefined ? Either.right(text) : Either.left(problem)
  })

/** Validates a name typed by a user or found on disk. */
export const checkName = (name: string): Either.Either<string, NameProblem> =>
  // A lone surrogate would silently become U+FFFD on encoding: refuse it instead.
  name.isWellFormed() ? parseName(utf8.encode(name)) : Either.left("InvalidUtf8")

export const isValidName = (name: string): boolean => Either.isRight(checkName(name))

/**
 * A set `[...]` in one part of a mask: closed by the first `]`, not empty,
 * `!` first negates, `x-y` is a range with x <= y (a `-` first or last is a
 * member), and neither `[` nor a leading `^` inside (other engines read them
 * differently). Returns whether some set in the part breaks these rules.
 */
const badSet = (part: string): boolean => {
  const chars = Array.from(part)
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] !== "[") continue
    let j = i + 1
    if (chars[j] === "!") j++
    if (chars[j] === "^") return true
    const first = j
    while (j < chars.length && chars[j] !== "]") {
      if (chars[j] === "[") return true
      const isRange = chars[j + 1] === "-" && j + 2 < chars.length && chars[j + 2] !== "]"
      if (isRange && chars[j]!.codePointAt(0)! > chars[j + 2]!.codePointAt(0)!) return true
      j += isRange ? 3 : 1
    }
    if (j >= chars.length || j === first) return true
    i = j
  }
  return false
}

/**
 * Masks follow the name rules (a mask never escapes the folder either) and
 * allow only `*`, `?` and `[...]` as pattern syntax. Braces, `**`, a
 * leading `!` and malformed or ambiguous sets mean something else (or
 * nothing) to glob engines, so they are refused.
 */
export const parseMask = (bytes: Uint8Array): Either.Either<string, NameProblem> =>
  Either.flatMap(parseName(bytes), (mask) =>
    /[{}]|\*\*|^!|\/!/.test(mask) || mask.split("/").some(badSet)
      ? Either.left("UnsupportedPattern")
      : Either.right(mask)
  )

export const checkMask = (mask: string): Either.Either<string, NameProblem> =>
  mask.isWellFormed() ? parseMask(utf8.encode(mask)) : Either.left("InvalidUtf8")

/** Portuguese sentence for a name problem, for logs and users. */
export const describeNameProblem = (problem: NameProblem): string => {
  switch (problem) {
    case "Empty":
      return "o nome está vazio"
    case "TooLong":
      return `o nome passa de ${MAX_NAME_BYTES} bytes`
    case "InvalidUtf8":
      return "o nome não é UTF-8 válido"
    case "ControlCharacter":
      return "o nome contém caracteres de controle"
    case "Backslash":
      return "o nome contém barra invertida (use /)"
    case "Absolute":
      return "o nome é um caminho absoluto"
    case "DriveLetter":
      return "o nome começa com letra de unidade"
    case "EmptyComponent":
      return "o nome tem uma parte vazia (// ou / no fim)"
    case "DotComponent":
      return "o nome contém . ou .. como parte do caminho"
    case "Hidden":
      return "o nome tem uma parte oculta (começa com .)"
    case "UnsupportedPattern":
      return "a máscara usa sintaxe não suportada (use só *, ? e [...])"
  }
}

/** Suffix of a download in progress on the client side (kept for resume). */
export const PARTIAL_SUFFIX = ".parcial"

export const partialNameOf = (name: string): string => name + PARTIAL_SUFFIX

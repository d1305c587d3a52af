import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import {
  checkMask,
  checkName,
  describeNameProblem,
  isValidName,
  type NameProblem,
  NameProblems,
  parseMask,
  parseName
} from "../../src/domain/names.ts"
import { hex, utf8 } from "./bytes.ts"

/** The name and mask rules as tables: input (text or raw bytes) → "ok" or the first problem found. */

type Input = string | Uint8Array
type Expected = NameProblem | "ok"

/** A short readable title for a row: quoted text, or the bytes in hex; long inputs are cut. */
const label = (input: Input): string => {
  const bytes = typeof input === "string" ? utf8(input) : input
  const shown =
    typeof input === "string"
      ? JSON.stringify(input).replace(/[\u007f-\u00a0]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
      : `bytes ${Buffer.from(input).toString("hex") || "(none)"}`
  return shown.length > 40 ? `${shown.slice(0, 30)}… (${bytes.length} bytes)` : shown
}

const outcome = (result: Either.Either<string, NameProblem>): Expected => (Either.isRight(result) ? "ok" : result.left)

/**
 * Checks the byte parser and, for text input, the string checker: both must
 * agree, and an accepted name must come back unchanged.
 */
const expectRule = (
  parse: (bytes: Uint8Array) => Either.Either<string, NameProblem>,
  check: (text: string) => Either.Either<string, NameProblem>,
  input: Input,
  expected: Expected
) => {
  const bytes = typeof input === "string" ? utf8(input) : input
  const parsed = parse(bytes)
  expect(outcome(parsed)).toBe(expected)
  if (Either.isRight(parsed)) expect(utf8(parsed.right)).toEqual(bytes)
  if (typeof input === "string") {
    const checked = check(input)
    expect(outcome(checked)).toBe(expected)
    if (Either.isRight(checked)) expect(checked.right).toBe(input)
  }
}

const nameRows: ReadonlyArray<readonly [Input, Expected]> = [
  // Plain, nested and UTF-8 names.
  ["a", "ok"],
  ["a.txt", "ok"],
  ["a/b/c.txt", "ok"],
  ["ação.txt", "ok"],
  ["日本.txt", "ok"],
  ["😀.png", "ok"],
  ["dir/sub dir/my file.txt", "ok"],
  ["a. ", "ok"],
  ["a.", "ok"],
  [" leading space", "ok"],
  ["a..b", "ok"],
  ["a/b..", "ok"],
  ["ab:c", "ok"],
  ["1:x", "ok"],
  ["*.jpg", "ok"],
  ["\u00a0nbsp", "ok"],
  // Length: counted in bytes of UTF-8.
  ["", "Empty"],
  [new Uint8Array(0), "Empty"],
  ["a".repeat(4096), "ok"],
  ["a".repeat(4097), "TooLong"],
  ["ç".repeat(2048), "ok"],
  ["ç".repeat(2048) + "a", "TooLong"],
  ["日".repeat(1365) + "a", "ok"],
  ["日".repeat(1366), "TooLong"],
  ["😀".repeat(1024), "ok"],
  ["😀".repeat(1024) + "a", "TooLong"],
  [`${"d/".repeat(2047)}ab`, "ok"],
  // Invalid UTF-8.
  [hex("80"), "InvalidUtf8"],
  [hex("61 80 62"), "InvalidUtf8"],
  [hex("c0 af"), "InvalidUtf8"],
  [hex("e0 80 af"), "InvalidUtf8"],
  [hex("ed a0 80"), "InvalidUtf8"],
  [hex("ff fe"), "InvalidUtf8"],
  [hex("61 e6 97"), "InvalidUtf8"],
  [hex("f4 90 80 80"), "InvalidUtf8"],
  // Control characters: C0, DEL and C1.
  ["a\u0000b", "ControlCharacter"],
  ["\u0000", "ControlCharacter"],
  ["a\nb", "ControlCharacter"],
  ["a\rb", "ControlCharacter"],
  ["a\tb", "ControlCharacter"],
  ["a\u001fb", "ControlCharacter"],
  ["a\u007fb", "ControlCharacter"],
  ["a\u0080b", "ControlCharacter"],
  ["a\u0085b", "ControlCharacter"],
  ["a\u009fb", "ControlCharacter"],
  // Separators, roots and drives.
  ["a\\b", "Backslash"],
  ["\\abs", "Backslash"],
  ["..\\x", "Backslash"],
  ["/abs", "Absolute"],
  ["/", "Absolute"],
  ["//server/share", "Absolute"],
  ["C:x", "DriveLetter"],
  ["c:/x", "DriveLetter"],
  ["z:", "DriveLetter"],
  // Empty, dot and hidden components.
  ["a//b", "EmptyComponent"],
  ["a/", "EmptyComponent"],
  ["a/b/", "EmptyComponent"],
  [".", "DotComponent"],
  ["./a", "DotComponent"],
  ["a/./b", "DotComponent"],
  ["..", "DotComponent"],
  ["../a", "DotComponent"],
  ["a/../b", "DotComponent"],
  ["a/..", "DotComponent"],
  ["../../etc/passwd", "DotComponent"],
  [".hidden", "Hidden"],
  ["dir/.hidden", "Hidden"],
  [".dir/x", "Hidden"],
  ["...", "Hidden"],
  [".env", "Hidden"]
]

describe("parseName / checkName", () => {
  for (const [input, expected] of nameRows) {
    test(`${label(input)} → ${expected}`, () => {
      expectRule(parseName, checkName, input, expected)
    })
  }

  test("the table is large enough", () => {
    expect(nameRows.length).toBeGreaterThanOrEqual(40)
  })

  test("isValidName follows checkName", () => {
    expect(isValidName("a/b.txt")).toBe(true)
    expect(isValidName("ação.txt")).toBe(true)
    expect(isValidName("../a")).toBe(false)
    expect(isValidName("")).toBe(false)
    expect(isValidName(".hidden")).toBe(false)
  })
})

const maskRows: ReadonlyArray<readonly [Input, Expected]> = [
  ["*.jpg", "ok"],
  ["dir/*.txt", "ok"],
  ["?", "ok"],
  ["[ab]*.txt", "ok"],
  ["[!a]*", "ok"],
  ["*", "ok"],
  ["a*b?c", "ok"],
  ["*/x.txt", "ok"],
  ["foto 2024-*.jpg", "ok"],
  ["ação*.txt", "ok"],
  ["a!b", "ok"],
  // Glob syntax this protocol does not support.
  ["{a,b}", "UnsupportedPattern"],
  ["*.{jpg,png}", "UnsupportedPattern"],
  ["a{", "UnsupportedPattern"],
  ["}", "UnsupportedPattern"],
  ["**", "UnsupportedPattern"],
  ["**.jpg", "UnsupportedPattern"],
  ["a/**/b", "UnsupportedPattern"],
  ["a/**", "UnsupportedPattern"],
  ["!x", "UnsupportedPattern"],
  ["!*.jpg", "UnsupportedPattern"],
  ["dir/!x", "UnsupportedPattern"],
  // The name rules apply to masks too.
  ["../*.jpg", "DotComponent"],
  ["*/../x", "DotComponent"],
  [".*", "Hidden"],
  ["dir/.*", "Hidden"],
  ["/*.jpg", "Absolute"],
  ["", "Empty"],
  ["*\\x", "Backslash"],
  ["C:*", "DriveLetter"],
  ["dir//*", "EmptyComponent"],
  ["*\n", "ControlCharacter"],
  ["*".repeat(4097), "TooLong"],
  [hex("2a ff"), "InvalidUtf8"]
]

describe("parseMask / checkMask", () => {
  for (const [input, expected] of maskRows) {
    test(`${label(input)} → ${expected}`, () => {
      expectRule(parseMask, checkMask, input, expected)
    })
  }
})

describe("describeNameProblem", () => {
  // A Record: a problem added to NameProblems without its sentence here does not compile.
  const sentences: Record<NameProblem, string> = {
    Empty: "o nome está vazio",
    TooLong: "o nome passa de 4096 bytes",
    InvalidUtf8: "o nome não é UTF-8 válido",
    ControlCharacter: "o nome contém caracteres de controle",
    Backslash: "o nome contém barra invertida (use /)",
    Absolute: "o nome é um caminho absoluto",
    DriveLetter: "o nome começa com letra de unidade",
    EmptyComponent: "o nome tem uma parte vazia (// ou / no fim)",
    DotComponent: "o nome contém . ou .. como parte do caminho",
    Hidden: "o nome tem uma parte oculta (começa com .)",
    UnsupportedPattern: "a máscara usa sintaxe não suportada (use só *, ? e [...])"
  }

  test.each(NameProblems.map((problem) => [problem, sentences[problem]] as const))("%s → %p", (problem, sentence) => {
    expect(describeNameProblem(problem)).toBe(sentence)
  })

  test("every problem has its own non-empty sentence", () => {
    const all = NameProblems.map(describeNameProblem)
    expect(all.every((sentence) => sentence.trim().length > 0)).toBe(true)
    expect(new Set(all).size).toBe(all.length)
  })
})

describe("strings that are not well-formed UTF-16", () => {
  // Regression: TextEncoder turns a lone surrogate into U+FFFD, which would
  // validate a different name than the one given.
  test.each(["a\uD800", "\uDC00.txt", "x/\uD83D"])("checkName(%j) is InvalidUtf8", (name) => {
    expect(checkName(name)).toEqual(Either.left("InvalidUtf8"))
    expect(checkMask(name)).toEqual(Either.left("InvalidUtf8"))
  })
})

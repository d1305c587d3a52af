import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import { maskMatcher } from "../../src/domain/mask.ts"
import { checkMask } from "../../src/domain/names.ts"

/** Matching of op 50 masks (already validated by parseMask) against names. */

describe("maskMatcher", () => {
  test.each([
    // [mask, name, matches]
    ["*.jpg", "a.jpg", true],
    ["*.jpg", "foto 1.jpg", true],
    ["*.jpg", "ação.jpg", true],
    ["*.jpg", "d/a.jpg", false],
    ["*.jpg", "a.jpeg", false],
    ["*.jpg", "a.jpg.txt", false],
    ["*.jpg", "a.JPG", false],
    ["*.JPG", "a.jpg", false],
    ["*.JPG", "a.JPG", true],
    ["*", "a", true],
    ["*", "a/b", false],
    ["a*", "a/b", false],
    ["*b", "a/b", false],
    ["d/*.jpg", "d/x.jpg", true],
    ["d/*.jpg", "x.jpg", false],
    ["d/*.jpg", "d/e/x.jpg", false],
    ["d/*.jpg", "e/x.jpg", false],
    ["*/x.jpg", "d/x.jpg", true],
    ["*/x.jpg", "x.jpg", false],
    ["?", "a", true],
    ["?", "ab", false],
    ["?", "ç", true],
    ["?", "日", true],
    ["?", "😀", true],
    ["?.txt", "ç.txt", true],
    ["a?b", "a/b", false],
    ["a?b", "axb", true],
    ["[ab]x", "ax", true],
    ["[ab]x", "bx", true],
    ["[ab]x", "cx", false],
    ["[ab]x", "Ax", false],
    ["[!a]x", "ax", false],
    ["[!a]x", "bx", true],
    ["[a-c].txt", "b.txt", true],
    ["[a-c].txt", "d.txt", false],
    ["[ab]*.txt", "banana.txt", true],
    ["[ab]*.txt", "cereja.txt", false],
    ["A.txt", "a.txt", false],
    ["a.txt", "a.txt", true]
  ])("mask %p against %p → %p", (mask, name, matches) => {
    expect(maskMatcher(mask)(name)).toBe(matches)
  })

  test("one matcher can be reused for many names", () => {
    const matches = maskMatcher("*.txt")
    expect(["a.txt", "b.jpg", "c.txt", "d/e.txt"].filter(matches)).toEqual(["a.txt", "c.txt"])
  })

  // Regression: Bun.Glob alone lets bracket expressions match "/".
  test("bracket expressions never match /", () => {
    expect(maskMatcher("a[!b]c")("a/c")).toBe(false)
    expect(maskMatcher("a[/]b")("a/b")).toBe(false)
    expect(maskMatcher("d[!x]*")("d/secret.txt")).toBe(false)
    expect(Either.isLeft(checkMask("a[/]b"))).toBe(true)
  })
})

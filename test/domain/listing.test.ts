import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import { byName, encodeListing, parseListing } from "../../src/domain/listing.ts"
import type { ListingEntry } from "../../src/domain/messages.ts"

/** The op 20 listing: exact JSON out, validated JSON in, code point order. */

const parsed = (json: string): ReadonlyArray<ListingEntry> | "invalid" => {
  const result = parseListing(json)
  return Either.isRight(result) ? result.right : "invalid"
}

describe("encodeListing", () => {
  test("one entry, exact text", () => {
    expect(encodeListing([{ nome: "a.txt", tamanho: "123" }])).toBe(`[{"nome":"a.txt","tamanho":"123"}]`)
  })

  test("no entries", () => {
    expect(encodeListing([])).toBe("[]")
  })

  test("several entries keep their order; UTF-8 names are written as is", () => {
    expect(
      encodeListing([
        { nome: "b/ação.txt", tamanho: "0" },
        { nome: "a.jpg", tamanho: "4294967295" }
      ])
    ).toBe(`[{"nome":"b/ação.txt","tamanho":"0"},{"nome":"a.jpg","tamanho":"4294967295"}]`)
  })

  test("only nome and tamanho are written, in that order", () => {
    const entry = { tamanho: "1", extra: true, nome: "a" }
    expect(encodeListing([entry])).toBe(`[{"nome":"a","tamanho":"1"}]`)
  })

  test("quotes in a name are escaped", () => {
    expect(encodeListing([{ nome: `a"b.txt`, tamanho: "1" }])).toBe(`[{"nome":"a\\"b.txt","tamanho":"1"}]`)
  })
})

describe("parseListing", () => {
  test.each([
    ["no entries", []],
    ["one entry", [{ nome: "a.txt", tamanho: "123" }]],
    [
      "nested, UTF-8, emoji and quoted names",
      [
        { nome: "a.txt", tamanho: "0" },
        { nome: "dir/ação.txt", tamanho: "4294967295" },
        { nome: "😀.png", tamanho: "10" },
        { nome: `a"b.txt`, tamanho: "1" }
      ]
    ]
  ] as ReadonlyArray<readonly [string, ReadonlyArray<ListingEntry>]>)("round trips %s", (_, entries) => {
    expect(parsed(encodeListing(entries))).toEqual(entries)
  })

  test("accepts whitespace, as in the statement's example (with double quotes)", () => {
    const json = `[{ "nome": "arquivo1.txt", "tamanho": "12345" }, { "nome": "arquivo2.jpg", "tamanho": "45678" }]`
    expect(parsed(json)).toEqual([
      { nome: "arquivo1.txt", tamanho: "12345" },
      { nome: "arquivo2.jpg", tamanho: "45678" }
    ])
  })

  test("refuses unknown properties (the exact format, nothing passed along)", () => {
    expect(Either.isLeft(parseListing(`[{"nome":"a","tamanho":"1","data":"2024"}]`))).toBe(true)
  })

  test.each([
    [`[{"nome":"a.txt",`],
    [`{"nome":"a.txt","tamanho":"1"}`],
    [`[{ 'nome': 'a.txt', 'tamanho': '1' }, ]`],
    [`[{"nome":"a.txt","tamanho":123}]`],
    [`[{"nome":"a.txt","tamanho":"01"}]`],
    [`[{"nome":"a.txt","tamanho":"-1"}]`],
    [`[{"nome":"a.txt","tamanho":""}]`],
    [`[{"tamanho":"1"}]`],
    [`[{"nome":"a.txt"}]`],
    [`[{"nome":"../x","tamanho":"1"}]`],
    [`[{"nome":"/abs","tamanho":"1"}]`],
    [`[{"nome":".hidden","tamanho":"1"}]`],
    [`[{"nome":"a\\\\b","tamanho":"1"}]`],
    [`[{"nome":"","tamanho":"1"}]`],
    [`[null]`],
    [``]
  ])("refuses %p with a non-empty explanation", (json) => {
    const result = parseListing(json)
    if (Either.isRight(result)) throw new Error("expected a refusal")
    expect(result.left.length).toBeGreaterThan(0)
  })
})

describe("byName", () => {
  test("orders by code point: B < a < ä < 😀", () => {
    const entries = ["😀", "ä", "a", "B"].map((nome) => ({ nome }))
    expect(entries.sort(byName).map((entry) => entry.nome)).toEqual(["B", "a", "ä", "😀"])
  })

  test("code point order, not UTF-16 order: U+FF5E before U+1F600", () => {
    // Default string comparison puts the surrogate pair of 😀 (0xD83D) before 0xFF5E.
    expect(["～", "😀"].sort()).toEqual(["😀", "～"])
    const entries = [{ nome: "😀" }, { nome: "～" }]
    expect(entries.sort(byName).map((entry) => entry.nome)).toEqual(["～", "😀"])
  })

  test("a prefix sorts first, and / sorts by its byte value", () => {
    const entries = ["ab", "a/b", "a"].map((nome) => ({ nome }))
    expect(entries.sort(byName).map((entry) => entry.nome)).toEqual(["a", "a/b", "ab"])
  })

  test("returns 0 for equal names and a signed result otherwise", () => {
    expect(byName({ nome: "a" }, { nome: "a" })).toBe(0)
    expect(byName({ nome: "a" }, { nome: "b" })).toBe(-1)
    expect(byName({ nome: "b" }, { nome: "a" })).toBe(1)
  })
})

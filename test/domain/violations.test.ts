import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import { Decoder, type Grammar } from "../../src/domain/decoder.ts"
import { downloadManyReply, downloadReply, listReply, resumeReply, uploadReply } from "../../src/domain/grammars.ts"
import type { ServerEvent } from "../../src/domain/messages.ts"
import { describeNameProblem } from "../../src/domain/names.ts"
import { clientStream } from "../../src/domain/operations.ts"
import { cat, failurePoint, hex, utf8, violationOf } from "./bytes.ts"

/**
 * Every ProtocolViolation the grammars can produce, and where in the stream
 * it happens: a violation must be raised as soon as the offending field is
 * read, never after waiting for bytes that follow it.
 */

/** Bytes of a length-prefixed UTF-8 string, as the wire carries names. */
const field = (text: string): Uint8Array => {
  const bytes = utf8(text)
  const length = new Uint8Array(4)
  new DataView(length.buffer).setUint32(0, bytes.length, false)
  return cat(length, bytes)
}

describe("UnknownOpcode", () => {
  test.each([[0x00], [0x01], [0x0b], [0x0f], [0x15], [0x1f], [0x29], [0x33], [0x64], [0xff]])(
    "opcode %p fails after exactly 1 byte",
    (op) => {
      const decoder = new Decoder(clientStream())
      const result = decoder.feed(Uint8Array.of(op))
      if (Either.isRight(result)) throw new Error("expected a violation")
      expect(result.left.reason).toBe("UnknownOpcode")
      expect(result.left.detail).toBe(`operação desconhecida 0x${op.toString(16).padStart(2, "0")}`)
      expect(decoder.bufferedBytes).toBe(0)
    }
  )

  test.each([[10], [30], [40], [50]])("known opcode %p alone waits for more bytes", (op) => {
    const decoder = new Decoder(clientStream())
    const result = decoder.feed(Uint8Array.of(op))
    expect(Either.isRight(result) && result.right.length).toBe(0)
    expect(decoder.isDone).toBe(false)
  })
})

describe("BadLength: the length is refused before any name byte is read", () => {
  const cases = [
    ["00000000", 0],
    ["00001001", 4097],
    ["00010000", 65536],
    ["80000000", 0x8000_0000],
    ["ffffffff", 0xffff_ffff]
  ] as const

  for (const [op, what] of [
    [0x0a, "nome"],
    [0x1e, "nome"],
    [0x28, "nome"],
    [0x32, "máscara"]
  ] as const) {
    test.each(cases)(`op ${op} with length %s fails right after the 5 header bytes`, (lengthHex, length) => {
      const header = cat(Uint8Array.of(op), hex(lengthHex))
      // The first 4 bytes are not enough to judge: the decoder waits.
      const decoder = new Decoder(clientStream())
      const partial = decoder.feed(header.subarray(0, 4))
      expect(Either.isRight(partial) && partial.right.length).toBe(0)
      // The 5th byte completes the length, which is refused at once.
      const result = decoder.feed(header.subarray(4))
      if (Either.isRight(result)) throw new Error("expected a violation")
      expect(result.left.reason).toBe("BadLength")
      expect(result.left.detail).toBe(`${what}: comprimento ${length} fora de 1..4096`)
      expect(decoder.bufferedBytes).toBe(0)
    })
  }

  test("length 4096 is accepted: the decoder waits for the name", () => {
    const decoder = new Decoder(clientStream())
    const result = decoder.feed(hex("0a 00001000"))
    expect(Either.isRight(result) && result.right.length).toBe(0)
    expect(decoder.isDone).toBe(false)
  })

  test("a manifest name of length 0 in an op 50 reply", () => {
    const { at, violation } = failurePoint(downloadManyReply("*"), hex("00 00000001 00000000 00000000"))
    expect(violation.reason).toBe("BadLength")
    expect(at).toBe(9)
  })

  test("a manifest name of length 0xffffffff in an op 50 reply", () => {
    const { at, violation } = failurePoint(downloadManyReply("*"), hex("00 00000001 ffffffff"))
    expect(violation.reason).toBe("BadLength")
    expect(at).toBe(9)
  })
})

describe("InvalidName", () => {
  const cases: ReadonlyArray<readonly [string, Uint8Array, string]> = [
    ["../x", utf8("../x"), describeNameProblem("DotComponent")],
    ["invalid UTF-8 ff fe", hex("fffe"), describeNameProblem("InvalidUtf8")],
    ["NUL inside", hex("610062"), describeNameProblem("ControlCharacter")],
    ["/etc/passwd", utf8("/etc/passwd"), describeNameProblem("Absolute")],
    ["a\\b", utf8("a\\b"), describeNameProblem("Backslash")],
    [".hidden", utf8(".hidden"), describeNameProblem("Hidden")]
  ]

  for (const [op, label] of [
    [0x0a, "op 10"],
    [0x1e, "op 30"],
    [0x28, "op 40"]
  ] as const) {
    test.each(cases)(`${label}: %s`, (_, name, detail) => {
      const length = new Uint8Array(4)
      new DataView(length.buffer).setUint32(0, name.length, false)
      const wire = cat(Uint8Array.of(op), length, name)
      const { at, violation } = failurePoint(clientStream(), wire)
      expect(violation.reason).toBe("InvalidName")
      expect(violation.detail).toBe(detail)
      // Fails on the last byte of the name, not later.
      expect(at).toBe(wire.length)
    })
  }
})

describe("InvalidMask", () => {
  test.each([
    ["{a,b}", "UnsupportedPattern"],
    ["**", "UnsupportedPattern"],
    ["a/**/b", "UnsupportedPattern"],
    ["!x", "UnsupportedPattern"],
    ["../*.jpg", "DotComponent"],
    [".*", "Hidden"],
    ["/*.jpg", "Absolute"]
  ] as const)("mask %p is refused (%s)", (mask, problem) => {
    const wire = cat(hex("32"), field(mask))
    const { at, violation } = failurePoint(clientStream(), wire)
    expect(violation.reason).toBe("InvalidMask")
    expect(violation.detail).toBe(describeNameProblem(problem))
    expect(at).toBe(wire.length)
  })

  test("a mask that is not UTF-8", () => {
    const violation = violationOf(clientStream(), hex("32 00000002 fffe"))
    expect(violation.reason).toBe("InvalidMask")
    expect(violation.detail).toBe(describeNameProblem("InvalidUtf8"))
  })
})

describe("UnexpectedStatus", () => {
  const cases: ReadonlyArray<readonly [string, () => Grammar<ServerEvent>, string, string]> = [
    ["downloadReply first status 02", downloadReply, "02", "0x02"],
    ["downloadReply first status 0a", downloadReply, "0a", "0x0a"],
    ["downloadReply first status ff", downloadReply, "ff", "0xff"],
    ["listReply first status 02", () => listReply(), "02", "0x02"],
    ["listReply first status 14", () => listReply(), "14", "0x14"],
    ["uploadReply first status 02", uploadReply, "02", "0x02"],
    ["uploadReply second status 02", uploadReply, "00 02", "0x02"],
    ["uploadReply second status 0a", uploadReply, "00 0a", "0x0a"],
    ["resumeReply first status 0a (only the second may say not found)", resumeReply, "0a", "0x0a"],
    ["resumeReply first status 14", resumeReply, "14", "0x14"],
    ["resumeReply second status 01 (not allowed after acceptance)", resumeReply, "00 01", "0x01"],
    ["resumeReply second status 02", resumeReply, "00 02", "0x02"],
    ["resumeReply second status 0b", resumeReply, "00 0b", "0x0b"],
    ["downloadManyReply first status 03", () => downloadManyReply("*"), "03", "0x03"],
    ["downloadManyReply first status 0a", () => downloadManyReply("*"), "0a", "0x0a"]
  ]

  test.each(cases)("%s", (_, grammar, wire, shown) => {
    const bytes = hex(wire)
    const { at, violation } = failurePoint(grammar(), bytes)
    expect(violation.reason).toBe("UnexpectedStatus")
    expect(violation.detail).toBe(`status inesperado ${shown}`)
    expect(at).toBe(bytes.length)
  })

  test.each([["02"], ["0a"], ["ff"]])("downloadManyReply per-file status %s", (status) => {
    const wire = hex(`00 00000002 00000005 612e747874 00000000 00000005 622e747874 00000000 01 ${status}`)
    const { at, violation } = failurePoint(downloadManyReply("*.txt"), wire)
    expect(violation.reason).toBe("UnexpectedStatus")
    expect(violation.detail).toBe(`status inesperado 0x${status} para o arquivo 2`)
    expect(at).toBe(wire.length)
  })
})

describe("LengthTooLarge", () => {
  test("a listing longer than the cap fails right after its length, without waiting for the JSON", () => {
    const { at, violation } = failurePoint(listReply(10), hex("00 0000000b 5b5d"))
    expect(violation.reason).toBe("LengthTooLarge")
    expect(violation.detail).toBe("listagem de 11 bytes passa do limite de 10")
    expect(at).toBe(5)
  })

  test("a listing length of 0xffffffff under the default cap", () => {
    const { at, violation } = failurePoint(listReply(), hex("00 ffffffff"))
    expect(violation.reason).toBe("LengthTooLarge")
    expect(at).toBe(5)
  })

  test("an op 50 count above the cap fails right after the count", () => {
    const wire = hex("00 00000003 00000005 612e747874 00000000")
    const { at, violation } = failurePoint(downloadManyReply("*.txt", 2), wire)
    expect(violation.reason).toBe("LengthTooLarge")
    expect(violation.detail).toBe("3 arquivos anunciados; o limite é 2")
    expect(at).toBe(5)
  })

  test("an op 50 count above the default cap of 10000", () => {
    const { violation } = failurePoint(downloadManyReply("*"), hex("00 00002711"))
    expect(violation.reason).toBe("LengthTooLarge")
    expect(violation.detail).toBe("10001 arquivos anunciados; o limite é 10000")
  })
})

describe("InvalidListing", () => {
  const listing = (json: string | Uint8Array) => {
    const bytes = typeof json === "string" ? utf8(json) : json
    const length = new Uint8Array(4)
    new DataView(length.buffer).setUint32(0, bytes.length, false)
    return cat(hex("00"), length, bytes)
  }

  test.each([
    ["broken JSON", `[{"nome":"a.txt",`],
    ["not JSON at all", "hello"],
    ["empty text", ""],
    ["the statement's single quotes", `[{ 'nome': 'a.txt', 'tamanho': '1' }]`],
    ["a trailing comma", `[{"nome":"a.txt","tamanho":"1"},]`],
    ["an object instead of an array", `{"nome":"a.txt","tamanho":"1"}`],
    ["tamanho as a number", `[{"nome":"a.txt","tamanho":123}]`],
    ["tamanho negative", `[{"nome":"a.txt","tamanho":"-1"}]`],
    ["tamanho with a leading zero", `[{"nome":"a.txt","tamanho":"01"}]`],
    ["tamanho not an integer", `[{"nome":"a.txt","tamanho":"1.5"}]`],
    ["missing nome", `[{"tamanho":"1"}]`],
    ["missing tamanho", `[{"nome":"a.txt"}]`],
    ["nome as a number", `[{"nome":1,"tamanho":"1"}]`],
    ["nome ../x", `[{"nome":"../x","tamanho":"1"}]`],
    ["nome absolute", `[{"nome":"/etc/passwd","tamanho":"1"}]`],
    ["nome hidden", `[{"nome":".env","tamanho":"1"}]`],
    ["nome empty", `[{"nome":"","tamanho":"1"}]`],
    ["an entry that is null", `[null]`]
  ])("%s", (_, json) => {
    const wire = listing(json)
    const { at, violation } = failurePoint(listReply(), wire)
    expect(violation.reason).toBe("InvalidListing")
    expect(violation.detail.length).toBeGreaterThan(0)
    expect(at).toBe(wire.length)
  })

  test("a listing that is not UTF-8", () => {
    const violation = violationOf(listReply(), listing(hex("5b ff 5d")))
    expect(violation.reason).toBe("InvalidListing")
    expect(violation.detail).toBe("a listagem não é UTF-8 válido")
  })
})

describe("op 50 manifest names", () => {
  test("a name that does not match the mask → UnexpectedName, right after the name", () => {
    const wire = hex("00 00000001 00000005 612e6a7067")
    const { at, violation } = failurePoint(downloadManyReply("*.txt"), wire)
    expect(violation.reason).toBe("UnexpectedName")
    expect(violation.detail).toBe(`o servidor anunciou "a.jpg", que não casa com a máscara`)
    expect(at).toBe(wire.length)
  })

  test("a nested name for a top-level mask → UnexpectedName", () => {
    const wire = cat(hex("00 00000001"), field("d/a.txt"))
    expect(violationOf(downloadManyReply("*.txt"), wire).reason).toBe("UnexpectedName")
  })

  test("the same name twice → UnexpectedName, right after the second name", () => {
    const wire = hex("00 00000002 00000005 612e747874 00000001 00000005 612e747874")
    const { at, violation } = failurePoint(downloadManyReply("*.txt"), wire)
    expect(violation.reason).toBe("UnexpectedName")
    expect(violation.detail).toBe(`o servidor anunciou "a.txt" duas vezes`)
    expect(at).toBe(wire.length)
  })

  test.each([
    ["../../etc/passwd", "DotComponent"],
    ["/abs", "Absolute"],
    ["a/../../b", "DotComponent"],
    [".ssh/id_rsa", "Hidden"],
    ["C:x", "DriveLetter"]
  ] as const)("a hostile name %p → InvalidName (%s), whatever the mask", (name, problem) => {
    const wire = cat(hex("00 00000001"), field(name))
    const { at, violation } = failurePoint(downloadManyReply("*"), wire)
    expect(violation.reason).toBe("InvalidName")
    expect(violation.detail).toBe(describeNameProblem(problem))
    expect(at).toBe(wire.length)
  })
})

describe("Decoder: end, stickiness and excess bytes", () => {
  test.each([
    ["nothing at all", ""],
    ["after the opcode", "0a"],
    ["inside the length", "0a 000000"],
    ["inside the name", "0a 00000005 612e"],
    ["before the upload size", "1e 00000001 78"],
    ["inside the upload body", "1e 00000001 78 00000005 0102"],
    ["before the resume md5", "28 00000001 78 00000000"],
    ["inside the resume md5", "28 00000001 78 00000000 d41d8cd98f00b204"]
  ])("end() %s → Truncated", (_, wire) => {
    const decoder = new Decoder(clientStream())
    expect(Either.isRight(decoder.feed(hex(wire)))).toBe(true)
    const ended = decoder.end()
    if (Either.isRight(ended)) throw new Error("expected Truncated")
    expect(ended.left.reason).toBe("Truncated")
    expect(ended.left.detail).toBe("a conexão terminou no meio da mensagem")
    // Truncation is sticky too.
    const again = decoder.feed(hex("00"))
    expect(Either.isLeft(again) && again.left).toBe(ended.left)
  })

  test.each([
    ["downloadReply before its size", downloadReply, "00"],
    ["downloadReply inside its body", downloadReply, "00 00000003 61"],
    ["uploadReply before its second status", uploadReply, "00"],
    ["resumeReply before its second status", resumeReply, "00"],
    ["listReply inside its JSON", () => listReply(), "00 00000002 5b"],
    ["downloadManyReply inside its manifest", () => downloadManyReply("*"), "00 00000001 00000001 61"],
    ["downloadManyReply before a file status", () => downloadManyReply("*"), "00 00000001 00000001 61 00000000"]
  ] as const)("end() %s → Truncated", (_, grammar, wire) => {
    const decoder = new Decoder<ServerEvent>(grammar())
    expect(Either.isRight(decoder.feed(hex(wire)))).toBe(true)
    const ended = decoder.end()
    expect(Either.isLeft(ended) && ended.left.reason).toBe("Truncated")
  })

  test("end() after a complete message → Right", () => {
    const decoder = new Decoder(clientStream())
    expect(Either.isRight(decoder.feed(hex("0a 00000001 78")))).toBe(true)
    expect(decoder.isDone).toBe(true)
    expect(Either.isRight(decoder.end())).toBe(true)
  })

  test("after a violation, every feed and end() return the same Left", () => {
    const decoder = new Decoder(clientStream())
    const first = decoder.feed(hex("0b"))
    if (Either.isRight(first)) throw new Error("expected a violation")
    for (const more of [hex("0a 00000001 78"), hex("14"), new Uint8Array(0)]) {
      const next = decoder.feed(more)
      expect(Either.isLeft(next) && next.left).toBe(first.left)
    }
    const ended = decoder.end()
    expect(Either.isLeft(ended) && ended.left).toBe(first.left)
    expect(decoder.isDone).toBe(false)
  })

  test("bytes after a complete message stay in bufferedBytes and produce nothing", () => {
    const decoder = new Decoder(clientStream())
    const first = decoder.feed(hex("14 ff fe"))
    expect(Either.isRight(first) && first.right).toEqual([{ _tag: "Request", request: { _tag: "List" } }])
    expect(decoder.isDone).toBe(true)
    expect(decoder.bufferedBytes).toBe(2)
    const more = decoder.feed(hex("0a 00000001"))
    expect(Either.isRight(more) && more.right).toEqual([])
    expect(decoder.bufferedBytes).toBe(7)
    expect(Either.isRight(decoder.end())).toBe(true)
  })

  test("bytes after a complete body are not taken as body", () => {
    const decoder = new Decoder(downloadReply())
    const result = decoder.feed(hex("00 00000002 6869 0102"))
    if (Either.isLeft(result)) throw new Error("unexpected violation")
    expect(result.right.map((event) => event._tag)).toEqual(["Status", "Size", "Data", "End"])
    const data = result.right[2]
    expect(data?._tag === "Data" && Buffer.from(data.bytes).toString("hex")).toBe("6869")
    expect(decoder.bufferedBytes).toBe(2)
  })
})

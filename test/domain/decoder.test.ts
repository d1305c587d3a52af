import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import { Decoder } from "../../src/domain/decoder.ts"
import { encodeManifest, encodeStatusSize, u32 } from "../../src/domain/encode.ts"
import { ProtocolViolation } from "../../src/domain/errors.ts"
import { downloadManyReply, downloadReply } from "../../src/domain/grammars.ts"
import type { ClientEvent, ServerEvent } from "../../src/domain/messages.ts"
import { clientStream, encodeRequest } from "../../src/domain/operations.ts"
import { cat, hex, normalize, toHex } from "./bytes.ts"

/**
 * The decoder's body pass-through (`Pass`, `inBody`, `passing`, `skip`), driven
 * through the real grammars: an I/O layer may move a body itself and only tell
 * the decoder how many bytes went by.
 */

const EMPTY = new Uint8Array(0)

/** A body whose every byte depends on its position, so a lost, repeated or moved byte shows. */
const bodyOf = (size: number, seed = 3) =>
  Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed + (i >>> 8)) & 0xff)

/** The events of a feed that must succeed. */
const fed = <E>(decoder: Decoder<E>, bytes: Uint8Array): ReadonlyArray<E> => {
  const result = decoder.feed(bytes)
  if (Either.isLeft(result)) throw new Error(`unexpected violation ${result.left.reason}: ${result.left.detail}`)
  return result.right
}

/** The bytes of every Data event, concatenated. */
const dataOf = (events: ReadonlyArray<{ readonly _tag: string }>): Uint8Array =>
  cat(
    ...events.flatMap((event) =>
      event._tag === "Data" ? [(event as unknown as { readonly bytes: Uint8Array }).bytes] : []
    )
  )

/** The op 10 reply header: status 0 and the size. */
const downloadHeader = (size: number) => encodeStatusSize(0, size)

/** The op 30 upload header: request and size. */
const uploadHeader = (name: string, size: number) => cat(encodeRequest({ _tag: "Upload", name }), u32(size))

describe("Decoder: a body the caller passes itself (downloadReply)", () => {
  test("after the header alone: inBody, and passing is the whole body size", () => {
    const decoder = new Decoder(downloadReply())
    expect(decoder.inBody).toBe(false)
    expect(decoder.passing).toBe(0)
    expect(normalize(fed(decoder, downloadHeader(1000)))).toEqual([
      { _tag: "Status", status: 0 },
      { _tag: "Size", size: 1000 }
    ])
    expect(decoder.inBody).toBe(true)
    expect(decoder.passing).toBe(1000)
    expect(decoder.bufferedBytes).toBe(0)
    expect(decoder.isDone).toBe(false)
  })

  test("before the size is complete, nothing is passing", () => {
    const decoder = new Decoder(downloadReply())
    expect(fed(decoder, hex("00 0000")).map((event) => event._tag)).toEqual(["Status"])
    expect(decoder.inBody).toBe(false)
    expect(decoder.passing).toBe(0)
    expect(() => decoder.skip(1)).toThrow()
  })

  test("body bytes fed with the header become Data at once; passing is what is left", () => {
    const body = bodyOf(1000)
    const decoder = new Decoder(downloadReply())
    const events = fed(decoder, cat(downloadHeader(1000), body.subarray(0, 300)))
    expect(events.map((event) => event._tag)).toEqual(["Status", "Size", "Data"])
    expect(toHex(dataOf(events))).toBe(toHex(body.subarray(0, 300)))
    expect(decoder.bufferedBytes).toBe(0)
    expect(decoder.inBody).toBe(true)
    expect(decoder.passing).toBe(700)
    // More partial feeds: each is handed on whole, passing goes down by as much.
    const more = fed(decoder, body.subarray(300, 301))
    expect(more.map((event) => event._tag)).toEqual(["Data"])
    expect(toHex(dataOf(more))).toBe(toHex(body.subarray(300, 301)))
    expect(decoder.passing).toBe(699)
    expect(toHex(dataOf(fed(decoder, body.subarray(301, 999))))).toBe(toHex(body.subarray(301, 999)))
    expect(decoder.passing).toBe(1)
    expect(decoder.isDone).toBe(false)
    // The last byte completes the body: its Data and the End come together.
    const last = fed(decoder, body.subarray(999))
    expect(normalize(last)).toEqual([{ _tag: "Data", bytes: toHex(body.subarray(999)) }, { _tag: "End" }])
    expect(decoder.inBody).toBe(false)
    expect(decoder.passing).toBe(0)
    expect(decoder.isDone).toBe(true)
  })

  test("skip of the whole body, then an empty feed, gives exactly End; then the decoder is done", () => {
    const decoder = new Decoder(downloadReply())
    fed(decoder, downloadHeader(4096))
    expect(decoder.passing).toBe(4096)
    decoder.skip(4096)
    expect(decoder.passing).toBe(0)
    // Nothing happens until the next feed.
    expect(decoder.isDone).toBe(false)
    expect(fed(decoder, EMPTY)).toEqual([{ _tag: "End" }])
    expect(decoder.isDone).toBe(true)
    expect(decoder.inBody).toBe(false)
    expect(decoder.bufferedBytes).toBe(0)
    expect(Either.isRight(decoder.end())).toBe(true)
    // Done: a further empty feed adds nothing.
    expect(fed(decoder, EMPTY)).toEqual([])
  })

  test("skips in several steps add up; passing follows each one", () => {
    const decoder = new Decoder(downloadReply())
    fed(decoder, downloadHeader(100))
    decoder.skip(0)
    expect(decoder.passing).toBe(100)
    decoder.skip(40)
    expect(decoder.passing).toBe(60)
    // An empty feed in the middle of the pass emits nothing and changes nothing.
    expect(fed(decoder, EMPTY)).toEqual([])
    expect(decoder.inBody).toBe(true)
    expect(decoder.passing).toBe(60)
    decoder.skip(59)
    expect(decoder.passing).toBe(1)
    expect(fed(decoder, EMPTY)).toEqual([])
    decoder.skip(1)
    expect(fed(decoder, EMPTY)).toEqual([{ _tag: "End" }])
    expect(decoder.isDone).toBe(true)
  })

  test("skip of more than passing throws, and leaves the decoder as it was", () => {
    const decoder = new Decoder(downloadReply())
    fed(decoder, cat(downloadHeader(10), bodyOf(4)))
    expect(decoder.passing).toBe(6)
    expect(() => decoder.skip(7)).toThrow()
    expect(() => decoder.skip(-1)).toThrow()
    expect(() => decoder.skip(Number.NaN)).toThrow()
    expect(decoder.passing).toBe(6)
    decoder.skip(6)
    expect(() => decoder.skip(1)).toThrow()
    expect(fed(decoder, EMPTY)).toEqual([{ _tag: "End" }])
    // Done: nothing passing, any skip but 0 throws.
    expect(() => decoder.skip(1)).toThrow()
  })

  test("end() in the middle of the body is a Truncated violation, and stays one", () => {
    const decoder = new Decoder(downloadReply())
    fed(decoder, cat(downloadHeader(10), bodyOf(3)))
    const ended = decoder.end()
    if (Either.isRight(ended)) throw new Error("expected Truncated")
    expect(ended.left).toBeInstanceOf(ProtocolViolation)
    expect(ended.left.reason).toBe("Truncated")
    // A failed decoder refuses more bytes with the same violation, and passes nothing.
    const after = decoder.feed(bodyOf(7))
    if (Either.isRight(after)) throw new Error("expected the violation again")
    expect(after.left).toBe(ended.left)
    expect(decoder.passing).toBe(0)
    expect(() => decoder.skip(1)).toThrow()
  })

  test("end() after a partial skip is Truncated too", () => {
    const decoder = new Decoder(downloadReply())
    fed(decoder, downloadHeader(10))
    decoder.skip(9)
    const ended = decoder.end()
    if (Either.isRight(ended)) throw new Error("expected Truncated")
    expect(ended.left.reason).toBe("Truncated")
  })

  test("a body of size 0 goes straight to End: never inBody, nothing passing", () => {
    const decoder = new Decoder(downloadReply())
    expect(normalize(fed(decoder, downloadHeader(0)))).toEqual([
      { _tag: "Status", status: 0 },
      { _tag: "Size", size: 0 },
      { _tag: "End" }
    ])
    expect(decoder.inBody).toBe(false)
    expect(decoder.passing).toBe(0)
    expect(decoder.isDone).toBe(true)
    expect(() => decoder.skip(1)).toThrow()
  })

  test("a whole reply fed one byte at a time: the Data bytes are the body, the last event is End", () => {
    const body = bodyOf(777, 9)
    const wire = cat(downloadHeader(body.length), body)
    const decoder = new Decoder(downloadReply())
    const events: Array<ServerEvent> = []
    for (let i = 0; i < wire.length; i++) {
      events.push(...fed(decoder, wire.subarray(i, i + 1)))
      if (i >= 4 && i < wire.length - 1) {
        // Inside the body after each byte: nothing buffered, the rest passing.
        expect(decoder.inBody).toBe(true)
        expect(decoder.passing).toBe(wire.length - 1 - i)
      }
    }
    expect(events.filter((event) => event._tag === "Data").length).toBe(body.length)
    expect(toHex(dataOf(events))).toBe(toHex(body))
    expect(events[events.length - 1]).toEqual({ _tag: "End" })
    expect(events.filter((event) => event._tag === "End").length).toBe(1)
    expect(decoder.isDone).toBe(true)
  })

  test("bytes past the end of the reply stay buffered, whether the body was fed or skipped", () => {
    const body = bodyOf(50)
    const extra = hex("deadbeef")
    const whole = new Decoder(downloadReply())
    const events = fed(whole, cat(downloadHeader(50), body, extra))
    expect(toHex(dataOf(events))).toBe(toHex(body))
    expect(events[events.length - 1]).toEqual({ _tag: "End" })
    expect(whole.isDone).toBe(true)
    expect(whole.bufferedBytes).toBe(4)

    const skipped = new Decoder(downloadReply())
    fed(skipped, cat(downloadHeader(50), body.subarray(0, 20)))
    skipped.skip(30)
    expect(fed(skipped, extra)).toEqual([{ _tag: "End" }])
    expect(skipped.isDone).toBe(true)
    expect(skipped.bufferedBytes).toBe(4)
  })
})

describe("Decoder: a body the caller passes itself (clientStream upload)", () => {
  test("header, part of the body fed, the rest skipped: Request, Size, the fed Data, End", () => {
    const body = bodyOf(5000, 1)
    const decoder = new Decoder(clientStream())
    const first = fed(decoder, cat(uploadHeader("up.bin", 5000), body.subarray(0, 1234)))
    expect(normalize(first)).toEqual([
      { _tag: "Request", request: { _tag: "Upload", name: "up.bin" } },
      { _tag: "Size", size: 5000 },
      { _tag: "Data", bytes: toHex(body.subarray(0, 1234)) }
    ])
    expect(decoder.passing).toBe(5000 - 1234)
    decoder.skip(5000 - 1234)
    const rest: ReadonlyArray<ClientEvent> = fed(decoder, EMPTY)
    expect(rest).toEqual([{ _tag: "End" }])
    expect(decoder.isDone).toBe(true)
    expect(Either.isRight(decoder.end())).toBe(true)
  })

  test("after the header alone, passing is the upload size; a 0-byte upload ends at once", () => {
    const decoder = new Decoder(clientStream())
    fed(decoder, uploadHeader("a", 65_536))
    expect(decoder.inBody).toBe(true)
    expect(decoder.passing).toBe(65_536)

    const empty = new Decoder(clientStream())
    expect(fed(empty, uploadHeader("a", 0)).map((event) => event._tag)).toEqual(["Request", "Size", "End"])
    expect(empty.inBody).toBe(false)
    expect(empty.isDone).toBe(true)
  })

  test("a byte sent after the upload body is excess: buffered, not decoded", () => {
    const decoder = new Decoder(clientStream())
    fed(decoder, uploadHeader("a", 8))
    decoder.skip(8)
    expect(fed(decoder, hex("14 14"))).toEqual([{ _tag: "End" }])
    expect(decoder.isDone).toBe(true)
    expect(decoder.bufferedBytes).toBe(2)
  })

  test("end() in the middle of an upload body is Truncated", () => {
    const decoder = new Decoder(clientStream())
    fed(decoder, cat(uploadHeader("a", 8), bodyOf(3)))
    expect(decoder.passing).toBe(5)
    const ended = decoder.end()
    if (Either.isRight(ended)) throw new Error("expected Truncated")
    expect(ended.left.reason).toBe("Truncated")
  })
})

describe("Decoder: skipping one body and decoding what follows (downloadManyReply)", () => {
  const manifest = encodeManifest(0, [
    { name: "a.jpg", size: 10 },
    { name: "b.jpg", size: 0 },
    { name: "c.jpg", size: 6 }
  ])
  const bodyA = bodyOf(10, 5)
  const bodyC = bodyOf(6, 8)

  test("part of a body fed, the rest skipped, then the next files' bytes decode normally", () => {
    const decoder = new Decoder(downloadManyReply("*.jpg"))
    const head = fed(decoder, cat(manifest, encodeStatusSize(0, 10), bodyA.subarray(0, 4)))
    expect(head.map((event) => event._tag)).toEqual(["Status", "Manifest", "FileStart", "Data"])
    expect(toHex(dataOf(head))).toBe(toHex(bodyA.subarray(0, 4)))
    expect(decoder.passing).toBe(6)
    decoder.skip(6)
    // What follows the skipped body, in the same feed: the end of file 1, file 2 (empty), file 3 in part.
    const next = fed(decoder, cat(encodeStatusSize(0, 0), encodeStatusSize(0, 6), bodyC.subarray(0, 2)))
    expect(normalize(next)).toEqual([
      { _tag: "End" },
      { _tag: "FileStart", index: 1, size: 0 },
      { _tag: "End" },
      { _tag: "FileStart", index: 2, size: 6 },
      { _tag: "Data", bytes: toHex(bodyC.subarray(0, 2)) }
    ])
    expect(decoder.inBody).toBe(true)
    expect(decoder.passing).toBe(4)
    decoder.skip(4)
    expect(fed(decoder, EMPTY)).toEqual([{ _tag: "End" }])
    expect(decoder.isDone).toBe(true)
  })

  test("a skipped body followed by a bad status fails on the status, not on the body", () => {
    const decoder = new Decoder(downloadManyReply("*.jpg"))
    fed(decoder, cat(manifest, encodeStatusSize(0, 10)))
    decoder.skip(10)
    const result = decoder.feed(hex("07"))
    if (Either.isRight(result)) throw new Error("expected UnexpectedStatus")
    expect(result.left.reason).toBe("UnexpectedStatus")
  })

  test("the whole reply fed one byte at a time gives the same events as in one piece", () => {
    const wire = cat(manifest, encodeStatusSize(0, 10), bodyA, encodeStatusSize(0, 0), encodeStatusSize(0, 6), bodyC)
    const whole = normalize(fed(new Decoder(downloadManyReply("*.jpg")), wire))
    const decoder = new Decoder(downloadManyReply("*.jpg"))
    const events: Array<ServerEvent> = []
    for (let i = 0; i < wire.length; i++) events.push(...fed(decoder, wire.subarray(i, i + 1)))
    expect(normalize(events)).toEqual(whole)
    expect(toHex(dataOf(events))).toBe(toHex(cat(bodyA, bodyC)))
    expect(events[events.length - 1]).toEqual({ _tag: "End" })
    expect(decoder.isDone).toBe(true)
  })
})

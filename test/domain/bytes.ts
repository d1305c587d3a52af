import { expect } from "bun:test"
import { Either } from "effect"
import { Decoder, type Grammar } from "../../src/domain/decoder.ts"
import { concat } from "../../src/domain/encode.ts"
import type { ProtocolViolation } from "../../src/domain/errors.ts"

/**
 * Shared helpers for the domain tests: hex literals, event normalization, and
 * a decoder driver that feeds the same bytes in every possible segmentation.
 */

/** Bytes from a hex literal; whitespace is ignored, so fields can be spaced out. */
export const hex = (text: string): Uint8Array => {
  const digits = text.replace(/\s+/g, "")
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex literal: ${text}`)
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16))
}

/** Lowercase hex of bytes, without separators. */
export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

export const cat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => concat(parts)

/** Replaces every Uint8Array, at any depth, by its hex string, so events compare as plain data. */
const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return toHex(value)
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, plain(field)]))
  }
  return value
}

/**
 * Events as plain data, with consecutive `Data` events merged into one: how a
 * body is split depends on how the bytes arrived, its content must not.
 * A `Data` event becomes `{ _tag: "Data", bytes: "<hex>" }`.
 */
export const normalize = (events: ReadonlyArray<{ readonly _tag: string }>): ReadonlyArray<unknown> => {
  const out: Array<unknown> = []
  let data: Array<Uint8Array> | undefined
  const flush = () => {
    if (data !== undefined) out.push({ _tag: "Data", bytes: toHex(cat(...data)) })
    data = undefined
  }
  for (const event of events) {
    if (event._tag === "Data") {
      data ??= []
      data.push((event as unknown as { readonly bytes: Uint8Array }).bytes)
    } else {
      flush()
      out.push(plain(event))
    }
  }
  flush()
  return out
}

/** Feeds `segments` in order to a fresh decoder; expects every feed and the end to succeed. */
const decodeSegments = <E extends { readonly _tag: string }>(
  grammar: () => Grammar<E>,
  segments: ReadonlyArray<Uint8Array>,
  label: string
): ReadonlyArray<unknown> => {
  const decoder = new Decoder(grammar())
  const events: Array<E> = []
  for (const segment of segments) {
    const result = decoder.feed(segment)
    if (Either.isLeft(result)) {
      throw new Error(`${label}: unexpected violation ${result.left.reason}: ${result.left.detail}`)
    }
    events.push(...result.right)
  }
  expect(decoder.isDone).toBe(true)
  expect(decoder.bufferedBytes).toBe(0)
  expect(Either.isRight(decoder.end())).toBe(true)
  return normalize(events)
}

/**
 * Decodes one complete message three ways: in one piece, one byte at a time,
 * and split in two at every cut point. All must give the same events, consume
 * every byte and leave the grammar complete. Returns the normalized events.
 */
export const decodeEveryWay = <E extends { readonly _tag: string }>(
  grammar: () => Grammar<E>,
  bytes: Uint8Array
): ReadonlyArray<unknown> => {
  const whole = decodeSegments(grammar, [bytes], "whole")
  const single = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))
  expect(decodeSegments(grammar, single, "byte by byte")).toEqual(whole)
  for (let cut = 0; cut <= bytes.length; cut++) {
    const split = [bytes.subarray(0, cut), bytes.subarray(cut)]
    expect(decodeSegments(grammar, split, `cut at ${cut}`)).toEqual(whole)
  }
  return whole
}

/** Feeds all bytes at once and returns the violation; fails the test if there is none. */
export const violationOf = <E>(grammar: Grammar<E>, bytes: Uint8Array): ProtocolViolation => {
  const result = new Decoder(grammar).feed(bytes)
  if (Either.isRight(result)) throw new Error(`expected a violation, got ${result.right.length} events`)
  return result.left
}

/**
 * Feeds `bytes` one at a time and returns how many were fed when the decoder
 * first failed, with the violation; fails the test if it never fails.
 */
export const failurePoint = <E>(
  grammar: Grammar<E>,
  bytes: Uint8Array
): { readonly at: number; readonly violation: ProtocolViolation } => {
  const decoder = new Decoder(grammar)
  for (let i = 0; i < bytes.length; i++) {
    const result = decoder.feed(bytes.subarray(i, i + 1))
    if (Either.isLeft(result)) return { at: i + 1, violation: result.left }
  }
  throw new Error("expected a violation, the decoder accepted every byte")
}

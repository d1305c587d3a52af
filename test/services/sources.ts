import { Either } from "effect"
import type { ByteSink } from "../../src/services/ByteSink.ts"
import type { ByteSource } from "../../src/services/ByteSource.ts"
import { concatBytes } from "../support/bytes.ts"

/**
 * Sources and sinks for the pump tests (transport.test.ts on loopback,
 * pumps.test.ts in memory): a counter pattern that shows a chunk lost,
 * repeated or reordered, a source that counts and checks how it is used,
 * and a sink that keeps what it was given.
 */

/** A source of `bytes` that fills one buffer it may share with others, and steps back on demand. */
export const sharedSource = (bytes: Uint8Array, buffer: Uint8Array): ByteSource<never> => {
  let offset = 0
  return {
    buffer,
    fill: (into) => {
      const count = Math.min(into.length, bytes.length - offset)
      into.set(bytes.subarray(offset, offset + count))
      offset += count
      return Either.right(count)
    },
    rewind: (back) => {
      offset -= back
    }
  }
}

/**
 * A counter pattern: the bytes at p..p+3 (p a multiple of 4) are p / 4 as a
 * big-endian 32-bit number, so every 4-byte word of a transfer is unique and
 * a chunk lost, repeated or reordered shows up wherever it happens.
 */
export const patternByte = (p: number) => ((p >>> 2) >>> (8 * (3 - (p & 3)))) & 0xff

export const pattern = (from: number, length: number) => {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = patternByte(from + i)
  return out
}

/** The first index where two byte arrays differ (-1 when equal), for a readable failure. */
export const firstDifference = (a: Uint8Array, b: Uint8Array) => {
  const common = Math.min(a.length, b.length)
  for (let i = 0; i < common; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : common
}

export interface CountingSource extends ByteSource<SourceBroke> {
  /** Calls of `fill` so far. */
  readonly calls: () => number
  /** Bytes handed out by `fill` so far. */
  readonly filled: () => number
  /** Every `into` that was not a prefix of `buffer` (must stay empty). */
  readonly misuses: Array<string>
}

/** The error a test source fails with: compared by identity. */
export class SourceBroke {
  readonly _tag = "SourceBroke"
  constructor(readonly message = "the test source failed on purpose") {}
}

/**
 * A source of the counter pattern from position 0, through a buffer of
 * `size` bytes. `short` makes each fill hand out only part of what it is
 * asked for (as a read may); `failAt` makes the fill of that number (from 1)
 * return Left(`error`); `cheap` skips writing the pattern (for tests that
 * never look at the bytes).
 */
export const countingSource = (
  size: number,
  options: {
    readonly short?: boolean
    readonly failAt?: number
    readonly error?: SourceBroke
    readonly cheap?: boolean
    /** Bytes the source holds: asked for more, it records a misuse and fails (so a runaway send ends at once). */
    readonly limit?: number
  } = {}
): CountingSource => {
  const buffer = new Uint8Array(size)
  const misuses: Array<string> = []
  let calls = 0
  let position = 0
  const fill = (into: Uint8Array): Either.Either<number, SourceBroke> => {
    calls++
    if (
      into.buffer !== buffer.buffer ||
      into.byteOffset !== buffer.byteOffset ||
      into.length > buffer.length ||
      into.length === 0
    ) {
      misuses.push(`call ${calls}: into of ${into.length} bytes at offset ${into.byteOffset}`)
    }
    if (options.failAt !== undefined && calls >= options.failAt) return Either.left(options.error ?? new SourceBroke())
    if (options.limit !== undefined && position + into.length > options.limit) {
      const misuse = `call ${calls}: asked for ${into.length} bytes at ${position}, past the length ${options.limit}`
      misuses.push(misuse)
      return Either.left(new SourceBroke(misuse))
    }
    // Uneven short fills: anywhere from 1 byte to all of what was asked.
    const count = options.short ? Math.max(1, Math.min(into.length, 1 + ((calls * 7919) % into.length))) : into.length
    if (!options.cheap) for (let i = 0; i < count; i++) into[i] = patternByte(position + i)
    position += count
    return Either.right(count)
  }
  return { buffer, fill, calls: () => calls, filled: () => position, misuses }
}

/** The error a test sink fails with: compared by identity. */
export class SinkBroke {
  readonly _tag = "SinkBroke"
}

export interface CollectingSink extends ByteSink<SinkBroke> {
  /** Copies of what each `write` was given, in order. */
  readonly parts: Array<Uint8Array>
  readonly bytes: () => Uint8Array
  readonly total: () => number
}

/**
 * A sink that keeps a copy of every segment; `failAt` makes that call (from 1)
 * return Left(`error`), `throwAt` makes it throw `thrown` (neither takes the bytes).
 */
export const collectingSink = (
  options: {
    readonly failAt?: number
    readonly error?: SinkBroke
    readonly throwAt?: number
    readonly thrown?: unknown
    readonly onWrite?: (bytes: Uint8Array) => void
  } = {}
): CollectingSink => {
  const parts: Array<Uint8Array> = []
  let calls = 0
  return {
    parts,
    bytes: () => concatBytes(parts),
    total: () => parts.reduce((total, part) => total + part.length, 0),
    write: (bytes) => {
      calls++
      options.onWrite?.(bytes)
      if (options.throwAt === calls) throw options.thrown
      if (options.failAt === calls) return Either.left(options.error ?? new SinkBroke())
      parts.push(bytes.slice())
      return Either.right(undefined)
    }
  }
}

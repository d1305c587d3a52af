import { concat } from "../../src/domain/encode.ts"

/**
 * The one source of deterministic pseudo-random data (mulberry32) of the tests, so a
 * failing test can be reproduced byte for byte from its seed.
 */

/** A generator of unsigned 32-bit integers from a seed. */
export const makeRandom = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

export const seededBytes = (length: number, seed: number): Uint8Array<ArrayBuffer> => {
  const next = makeRandom(seed)
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i += 4) {
    const word = next()
    for (let k = 0; k < 4 && i + k < length; k++) out[i + k] = (word >>> (8 * k)) & 0xff
  }
  return out
}

/** Cuts bytes into consecutive pieces of seeded, uneven sizes from 1 to `max` (empty pieces included when `withEmpty`). */
export const unevenChunks = (bytes: Uint8Array, seed: number, max: number, withEmpty = false): Array<Uint8Array> => {
  const next = makeRandom(seed)
  const out: Array<Uint8Array> = []
  let offset = 0
  while (offset < bytes.length) {
    if (withEmpty && next() % 7 === 0) out.push(new Uint8Array(0))
    const size = Math.min(1 + (next() % max), bytes.length - offset)
    out.push(bytes.subarray(offset, offset + size))
    offset += size
  }
  return out
}

export const concatBytes = (parts: Iterable<Uint8Array>): Uint8Array => concat([...parts])

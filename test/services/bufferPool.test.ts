import { describe, expect, test } from "bun:test"
import { BufferPool, type BufferPoolOptions } from "../../src/services/files/bufferPool.ts"

/**
 * The pool of read buffers: which size each borrower gets, that returned
 * buffers are lent again, and that neither kind grows past its bound.
 * Small sizes stand in for the real 1 MiB / 64 KiB: only the counts matter.
 */

const LARGE = 16
const SMALL = 8
const options = (overrides: Partial<BufferPoolOptions> = {}): BufferPoolOptions => ({
  largeSize: LARGE,
  largeCount: 2,
  smallSize: SMALL,
  smallKept: 2,
  ...overrides
})

/**
 * A script of borrows and returns: "b" borrows, a number gives back the
 * buffer of that borrow (counting borrows from 0). The result lists the size
 * of every buffer borrowed, in order.
 */
type Step = "b" | number

const play = (pool: BufferPool, steps: ReadonlyArray<Step>) => {
  const borrowed: Array<Uint8Array> = []
  for (const step of steps) {
    if (step === "b") borrowed.push(pool.borrow())
    else pool.giveBack(borrowed[step]!)
  }
  return borrowed
}

describe("BufferPool: sizes lent", () => {
  // [largeCount, steps, expected size of each borrow]
  const table: ReadonlyArray<readonly [number, ReadonlyArray<Step>, ReadonlyArray<number>]> = [
    [2, ["b"], [LARGE]],
    [2, ["b", "b"], [LARGE, LARGE]],
    [2, ["b", "b", "b", "b"], [LARGE, LARGE, SMALL, SMALL]],
    // A large one returned makes room for the next borrower to get a large one again.
    [2, ["b", "b", "b", 0, "b", "b"], [LARGE, LARGE, SMALL, LARGE, SMALL]],
    // A small one returned does not: the large ones are still out.
    [2, ["b", "b", "b", 2, "b"], [LARGE, LARGE, SMALL, SMALL]],
    [2, ["b", 0, "b", 1, "b", "b", "b"], [LARGE, LARGE, LARGE, LARGE, SMALL]],
    [1, ["b", "b", 0, "b", "b"], [LARGE, SMALL, LARGE, SMALL]],
    [0, ["b", "b", 0, "b"], [SMALL, SMALL, SMALL]],
    [3, ["b", "b", "b", "b", 1, 2, "b", "b", "b"], [LARGE, LARGE, LARGE, SMALL, LARGE, LARGE, SMALL]]
  ]

  test.each(table)("largeCount %p, steps %p → sizes %p", (largeCount, steps, sizes) => {
    const pool = new BufferPool(options({ largeCount }))
    expect(play(pool, steps).map((buffer) => buffer.length)).toEqual([...sizes])
  })
})

describe("BufferPool: reuse and bounds", () => {
  test("a returned large buffer is lent again, the very same object", () => {
    const pool = new BufferPool(options())
    const first = pool.borrow()
    pool.giveBack(first)
    expect(pool.idle).toEqual({ large: 1, small: 0 })
    const again = pool.borrow()
    expect(again).toBe(first)
    expect(pool.idle).toEqual({ large: 0, small: 0 })
  })

  test("a returned small buffer is lent again, the very same object", () => {
    const pool = new BufferPool(options({ largeCount: 1 }))
    const large = pool.borrow()
    const small = pool.borrow()
    expect(small.length).toBe(SMALL)
    pool.giveBack(small)
    expect(pool.idle).toEqual({ large: 0, small: 1 })
    expect(pool.borrow()).toBe(small)
    expect(pool.borrow()).not.toBe(large)
  })

  test("returned buffers keep what the last borrower wrote (no zeroing, no copy)", () => {
    const pool = new BufferPool(options())
    const buffer = pool.borrow()
    buffer.fill(0xab)
    pool.giveBack(buffer)
    const again = pool.borrow()
    expect(again).toBe(buffer)
    expect([...again]).toEqual(new Array(LARGE).fill(0xab))
  })

  test("never more than largeCount large buffers in flight, and never more than largeCount ever created", () => {
    const largeCount = 3
    const pool = new BufferPool(options({ largeCount, smallKept: 4 }))
    const everLarge = new Set<Uint8Array>()
    const out: Array<Uint8Array> = []
    // Seeded, uneven borrows and returns: the bound must hold at every step.
    let state = 12345
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31)
    for (let step = 0; step < 2_000; step++) {
      if (out.length === 0 || next() % 3 !== 0) {
        const largeBefore = out.filter((buffer) => buffer.length === LARGE).length
        const buffer = pool.borrow()
        // Large while fewer than largeCount are out, small only once they all are.
        expect(buffer.length).toBe(largeBefore < largeCount ? LARGE : SMALL)
        if (buffer.length === LARGE) everLarge.add(buffer)
        out.push(buffer)
      } else {
        const [buffer] = out.splice(next() % out.length, 1)
        pool.giveBack(buffer!)
      }
      const largeOut = out.filter((buffer) => buffer.length === LARGE).length
      expect(largeOut).toBeLessThanOrEqual(largeCount)
      // Out plus waiting is every large buffer ever made: never more than largeCount.
      expect(largeOut + pool.idle.large).toBeLessThanOrEqual(largeCount)
      expect(pool.idle.small).toBeLessThanOrEqual(4)
    }
    expect(everLarge.size).toBeLessThanOrEqual(largeCount)
    expect(everLarge.size).toBe(largeCount)
    // Every buffer returned: the large ones all wait in the pool.
    for (const buffer of out.splice(0)) pool.giveBack(buffer)
    expect(pool.idle.large).toBe(largeCount)
  })

  test("a borrower gets a large buffer whenever fewer than largeCount are out", () => {
    const pool = new BufferPool(options({ largeCount: 2 }))
    const a = pool.borrow()
    const b = pool.borrow()
    const c = pool.borrow()
    expect([a.length, b.length, c.length]).toEqual([LARGE, LARGE, SMALL])
    pool.giveBack(b)
    const d = pool.borrow()
    expect(d).toBe(b)
    pool.giveBack(c)
    pool.giveBack(a)
    pool.giveBack(d)
    expect(pool.idle).toEqual({ large: 2, small: 1 })
    expect([pool.borrow(), pool.borrow(), pool.borrow()].map((buffer) => buffer.length)).toEqual([LARGE, LARGE, SMALL])
    expect(pool.idle).toEqual({ large: 0, small: 0 })
  })

  test("the small free list never exceeds smallKept; the extra ones are dropped", () => {
    const smallKept = 3
    const pool = new BufferPool(options({ largeCount: 0, smallKept }))
    const smalls = Array.from({ length: 10 }, () => pool.borrow())
    expect(new Set(smalls).size).toBe(10)
    for (const [i, buffer] of smalls.entries()) {
      pool.giveBack(buffer)
      expect(pool.idle.small).toBe(Math.min(i + 1, smallKept))
    }
    expect(pool.idle).toEqual({ large: 0, small: smallKept })
    // The kept ones are lent again (the first three returned); then fresh ones are made.
    const again = Array.from({ length: 5 }, () => pool.borrow())
    expect(new Set(again.slice(0, smallKept))).toEqual(new Set(smalls.slice(0, smallKept)))
    for (const buffer of again.slice(smallKept)) expect(smalls).not.toContain(buffer)
    expect(pool.idle.small).toBe(0)
  })

  test("smallKept 0 keeps no small buffer at all", () => {
    const pool = new BufferPool(options({ largeCount: 0, smallKept: 0 }))
    const buffer = pool.borrow()
    pool.giveBack(buffer)
    expect(pool.idle).toEqual({ large: 0, small: 0 })
    expect(pool.borrow()).not.toBe(buffer)
  })

  test.each([
    [SMALL, SMALL],
    [SMALL - 1, SMALL],
    [0, SMALL]
  ])("the constructor refuses largeSize %p <= smallSize %p", (largeSize, smallSize) => {
    expect(() => new BufferPool(options({ largeSize, smallSize }))).toThrow(/largeSize/)
  })

  test("the constructor accepts largeSize just above smallSize", () => {
    const pool = new BufferPool(options({ largeSize: SMALL + 1, largeCount: 1 }))
    expect([pool.borrow().length, pool.borrow().length]).toEqual([SMALL + 1, SMALL])
  })
})

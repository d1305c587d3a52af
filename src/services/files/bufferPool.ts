/**
 * Read buffers for long transfers, lent and taken back. A busy server then
 * reuses the same few megabytes instead of allocating a buffer per transfer
 * and leaving the old ones for the collector: with many transfers at once,
 * the process peak would follow the garbage, not the live data
 * (bench/historico.md).
 *
 * The first `largeCount` transfers in flight get large buffers (fewer, longer
 * reads); the ones beyond get small ones, so the total stays bounded by the
 * number of connections.
 */
export interface BufferPoolOptions {
  readonly largeSize: number
  readonly largeCount: number
  readonly smallSize: number
  /** Small buffers kept for reuse when returned; beyond that they are dropped. */
  readonly smallKept: number
}

export class BufferPool {
  private readonly freeLarge: Array<Uint8Array> = []
  private readonly freeSmall: Array<Uint8Array> = []
  private largeOut = 0

  constructor(readonly options: BufferPoolOptions) {
    // Returned buffers are told apart by their size.
    if (options.largeSize <= options.smallSize) throw new Error("BufferPool: largeSize must exceed smallSize")
  }

  /** A buffer for one transfer; its contents are whatever the last borrower left. */
  borrow(): Uint8Array {
    const { largeSize, largeCount, smallSize } = this.options
    if (this.largeOut < largeCount) {
      this.largeOut++
      return this.freeLarge.pop() ?? Buffer.allocUnsafe(largeSize)
    }
    return this.freeSmall.pop() ?? Buffer.allocUnsafe(smallSize)
  }

  /** Takes back a buffer from `borrow`; the lender must not touch it afterwards. */
  giveBack(buffer: Uint8Array): void {
    if (buffer.length === this.options.largeSize) {
      this.largeOut--
      this.freeLarge.push(buffer)
    } else if (this.freeSmall.length < this.options.smallKept) {
      this.freeSmall.push(buffer)
    }
  }

  /** Buffers waiting to be lent again, for tests and diagnostics. */
  get idle(): { readonly large: number; readonly small: number } {
    return { large: this.freeLarge.length, small: this.freeSmall.length }
  }
}

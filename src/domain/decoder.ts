import * as Either from "effect/Either"
import { ProtocolViolation, type ViolationReason } from "./errors.ts"

/**
 * A sans-I/O incremental decoder. A grammar is a generator that asks for
 * bytes and emits events; the `Decoder` feeds it whatever segments arrive,
 * so the same grammar accepts the stream in one piece or one byte at a time.
 */

export type Instruction<E> =
  /** Exactly `n` bytes, as a fresh copy (header fields: small). */
  | { readonly _tag: "Take"; readonly n: number }
  /**
   * `n` bytes of body, handed on as `event(piece)` as they arrive, without
   * copying; an I/O layer may instead move them itself and `skip` them.
   */
  | { readonly _tag: "Pass"; readonly n: number; readonly event: (bytes: Uint8Array) => E }
  | { readonly _tag: "Emit"; readonly event: E }
  | { readonly _tag: "Fail"; readonly violation: ProtocolViolation }

export type Grammar<E, A = void> = Generator<Instruction<E>, A, Uint8Array>

const EMPTY = new Uint8Array(0)

export function* take<E>(n: number): Grammar<E, Uint8Array> {
  return yield { _tag: "Take", n }
}

export function* pass<E>(n: number, event: (bytes: Uint8Array) => E): Grammar<E> {
  yield { _tag: "Pass", n, event }
}

export function* emit<E>(event: E): Grammar<E> {
  yield { _tag: "Emit", event }
}

export function* fail<E>(reason: ViolationReason, detail: string): Grammar<E, never> {
  yield { _tag: "Fail", violation: new ProtocolViolation({ reason, detail }) }
  throw new Error("unreachable: a failed grammar is never resumed")
}

// The fixed-size fields ask for their bytes themselves, with one shared
// instruction: no generator of `take` and no instruction per field.
const TAKE_1: Instruction<never> = { _tag: "Take", n: 1 }
const TAKE_4: Instruction<never> = { _tag: "Take", n: 4 }

export function* u8<E>(): Grammar<E, number> {
  const bytes = yield TAKE_1
  return bytes[0]!
}

/** Big-endian, as every length and size of the protocol. */
export function* u32<E>(): Grammar<E, number> {
  const bytes = yield TAKE_4
  return bytes[0]! * 0x1000000 + ((bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!)
}

/** Streams `size` bytes as `Data` events (or lets the caller skip them), then one `End`. */
export function* body<E>(size: number, data: (bytes: Uint8Array) => E, end: E): Grammar<E> {
  yield* pass(size, data)
  yield* emit(end)
}

export class Decoder<E> {
  private readonly chunks: Array<Uint8Array> = []
  private buffered = 0
  private pending: Instruction<E> | undefined
  private failure: ProtocolViolation | undefined
  /** Bytes still to come in the pending `Pass`. */
  private passLeft = 0

  constructor(private readonly grammar: Grammar<E>) {
    this.resume(EMPTY)
  }

  /** The grammar has read everything it expects. */
  get isDone(): boolean {
    return this.pending === undefined && this.failure === undefined
  }

  /** Bytes received but not consumed (after the end: bytes the peer sent in excess). */
  get bufferedBytes(): number {
    return this.buffered
  }

  /** The grammar is in a `Pass`: body bytes are being handed on. */
  get inBody(): boolean {
    return this.pending?._tag === "Pass"
  }

  /**
   * Body bytes the caller may move itself: those still to come in a `Pass`,
   * once nothing of it is buffered here (0 otherwise).
   */
  get passing(): number {
    return this.pending?._tag === "Pass" && this.buffered === 0 && this.failure === undefined ? this.passLeft : 0
  }

  /** The caller moved `n` of the `passing` bytes itself; the next `feed` goes on from there. */
  skip(n: number): void {
    if (!(n >= 0 && n <= this.passing)) throw new Error(`skip(${n}) with ${this.passing} bytes passing`)
    this.passLeft -= n
  }

  /** Adds bytes and returns every event they complete. */
  feed(bytes: Uint8Array): Either.Either<ReadonlyArray<E>, ProtocolViolation> {
    if (this.failure) return Either.left(this.failure)
    if (bytes.length > 0) {
      this.chunks.push(bytes)
      this.buffered += bytes.length
    }
    const events: Array<E> = []
    while (this.pending !== undefined) {
      const instruction: Instruction<E> = this.pending
      if (instruction._tag === "Emit") {
        events.push(instruction.event)
        this.resume(EMPTY)
      } else if (instruction._tag === "Fail") {
        this.failure = instruction.violation
        this.pending = undefined
        return Either.left(instruction.violation)
      } else if (instruction._tag === "Take") {
        if (this.buffered < instruction.n) break
        this.resume(this.copy(instruction.n))
      } else {
        if (this.passLeft === 0) {
          this.resume(EMPTY)
          continue
        }
        if (this.buffered === 0) break
        const bytes = this.slice(this.passLeft)
        this.passLeft -= bytes.length
        events.push(instruction.event(bytes))
      }
    }
    return Either.right(events)
  }

  /** The peer closed its side: fine only if the grammar is complete. */
  end(): Either.Either<void, ProtocolViolation> {
    if (this.failure) return Either.left(this.failure)
    if (this.pending === undefined) return Either.right(undefined)
    this.failure = new ProtocolViolation({ reason: "Truncated", detail: "a conexão terminou no meio da mensagem" })
    return Either.left(this.failure)
  }

  private resume(input: Uint8Array): void {
    const next = this.grammar.next(input)
    this.pending = next.done ? undefined : next.value
    if (this.pending?._tag === "Pass") this.passLeft = this.pending.n
  }

  /** Removes up to `max` bytes from the front, without copying. */
  private slice(max: number): Uint8Array {
    const first = this.chunks[0]!
    if (first.length <= max) {
      this.chunks.shift()
      this.buffered -= first.length
      return first
    }
    this.chunks[0] = first.subarray(max)
    this.buffered -= max
    return first.subarray(0, max)
  }

  /** Removes exactly `n` buffered bytes from the front, into a new array. */
  private copy(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const part = this.slice(n - filled)
      out.set(part, filled)
      filled += part.length
    }
    return out
  }
}

import { writeSync } from "node:fs"
import type { FileHandle } from "node:fs/promises"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { FileFailure } from "../../domain/errors.ts"
import type { ByteSink } from "../ByteSink.ts"
import { attempt, failureOf } from "./failures.ts"

const WRITTEN = Either.right(undefined)

/** Small writes are gathered up to this size before they go to the file... */
const WRITE_BUFFER = 1024 * 1024
/** ...in a buffer that starts at this size and doubles as needed (most files are small)... */
const FIRST_BUFFER = 64 * 1024
/** ...and writes at least this large go straight to the file. */
const DIRECT_WRITE = 64 * 1024

const writeAt = async (handle: FileHandle, bytes: Uint8Array, position: number) => {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done)
    done += bytesWritten
  }
}

/**
 * Appends to a file from `start`. Large segments (what a socket delivers
 * under load) are written as they are; small ones are gathered first, so a
 * trickle of tiny segments does not become a trickle of tiny writes. The
 * caller runs `flush` before relying on the bytes being in the file.
 *
 * `sink` writes synchronously, for a receive that runs in the socket's
 * callbacks: a write to the page cache takes a moment, as nginx's writes of
 * request bodies do, and saves a fiber step per segment (bench/historico.md).
 */
export const appender = (name: string, handle: FileHandle, start: number) => {
  // Allocated on the first small write, not zero-filled: only the `buffered` bytes written into it are read.
  let buffer: Uint8Array = new Uint8Array(0)
  let buffered = 0
  let position = start
  /** Adds a small segment to the gathering buffer; true when the buffer is full and must go out. */
  const gather = (bytes: Uint8Array): boolean => {
    if (buffered + bytes.length > buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(WRITE_BUFFER, Math.max(FIRST_BUFFER, 2 * (buffered + bytes.length))))
      grown.set(buffer.subarray(0, buffered))
      buffer = grown
    }
    buffer.set(bytes, buffered)
    buffered += bytes.length
    return buffered === WRITE_BUFFER
  }
  const takeBuffered = () => {
    const pending = buffer.subarray(0, buffered)
    buffered = 0
    return pending
  }
  const writeOut = (bytes: Uint8Array) =>
    attempt(name, async () => {
      await writeAt(handle, bytes, position)
      position += bytes.length
    })
  const flush = Effect.suspend(() => (buffered === 0 ? Effect.void : writeOut(takeBuffered())))
  const writeOutNow = (bytes: Uint8Array) => {
    let done = 0
    while (done < bytes.length) done += writeSync(handle.fd, bytes, done, bytes.length - done, position + done)
    position += bytes.length
  }
  const sink: ByteSink<FileFailure> = {
    write: (bytes) => {
      try {
        if (bytes.length >= DIRECT_WRITE || buffered + bytes.length > WRITE_BUFFER) {
          if (buffered > 0) writeOutNow(takeBuffered())
        }
        if (bytes.length >= DIRECT_WRITE) writeOutNow(bytes)
        else if (gather(bytes)) writeOutNow(takeBuffered())
        return WRITTEN
      } catch (error) {
        return Either.left(failureOf(name, error))
      }
    }
  }
  return { flush, sink }
}

import * as Effect from "effect/Effect"
import type { ReadableFile } from "../../services/FileStore.ts"
import type { Exchange } from "./exchange.ts"

/** A range up to this size is read at once and goes out in the same write as its header. */
export const COALESCE = 64 * 1024

/**
 * Sends a header and then the bytes [from, from + length) of a file, counting
 * them for the log. A small range shares one write with the header (one
 * segment on the wire, and no transfer machinery, which dominated the cost of
 * serving a small file); a large one is pumped from the file to the socket.
 */
export const sendRange = (exchange: Exchange, header: Uint8Array, file: ReadableFile, from: number, length: number) =>
  length <= COALESCE
    ? Effect.flatMap(file.read(from, length, header), (message) =>
        Effect.flatMap(exchange.wire.send(message), () => {
          exchange.record.bytes += length
          return Effect.void
        })
      )
    : Effect.zipRight(
        exchange.wire.send(header),
        Effect.flatMap(file.source(from), (source) =>
          exchange.wire.sendFrom(source, length, (bytes) => (exchange.record.bytes += bytes))
        )
      )

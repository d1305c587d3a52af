import { closeSync, fstatSync, openSync, readSync } from "node:fs"
import * as path from "node:path"

/**
 * Op 10 as the limit servers of the small-operations scenario do it
 * (rawServer.ts, designFloor.ts): the request gathered from the socket's
 * segments, and the whole reply made with synchronous calls.
 */

/** What a connection has received of its request so far. */
export interface Pending {
  pending: Uint8Array
}

/** Adds a segment; the name asked for once an op 10 request is whole, else undefined (more to come). */
export const requestedName = (state: Pending, bytes: Uint8Array): string | undefined => {
  const all = state.pending.length === 0 ? bytes : Buffer.concat([state.pending, bytes])
  if (all.length < 5) {
    state.pending = all
    return undefined
  }
  const length = new DataView(all.buffer, all.byteOffset).getUint32(1)
  if (all[0] !== 10 || all.length < 5 + length) {
    state.pending = all
    return undefined
  }
  return new TextDecoder().decode(all.subarray(5, 5 + length))
}

/** Status, size and data of `name` in `folder`, in one buffer; status 1 alone when it cannot be read. */
export const answer = (folder: string, name: string): Uint8Array => {
  let fd: number | undefined
  try {
    fd = openSync(path.join(folder, name), "r")
    const size = fstatSync(fd).size
    const out = new Uint8Array(5 + size)
    out[0] = 0
    new DataView(out.buffer).setUint32(1, size)
    let at = 0
    while (at < size) {
      const got = readSync(fd, out, 5 + at, size - at, at)
      if (got === 0) break
      at += got
    }
    return out
  } catch {
    return Uint8Array.of(1)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

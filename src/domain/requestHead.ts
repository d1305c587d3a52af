import { operationOf } from "./operations.ts"
import { logWord } from "./words.ts"

/** Bytes that may not be UTF-8, as text: an invalid sequence shows as U+FFFD. */
const bytesAsText = (bytes: Uint8Array): string => new TextDecoder("utf-8").decode(bytes)

/**
 * What a request that was refused before it was fully read asked for, from
 * its first bytes: the operation, and the name or mask as far as it arrived
 * (for the log line an administrator looks for, e.g. a `../etc/passwd`).
 */
export const describeRequestHead = (head: Uint8Array): { readonly op: string; readonly name: string } => {
  if (head.length === 0) return { op: "?", name: "-" }
  const opcode = head[0]!
  const operation = operationOf(opcode)
  const op = operation?.word ?? `op-0x${opcode.toString(16).padStart(2, "0")}`
  if (!operation?.named || head.length < 5) return { op, name: "-" }
  const length = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(1, false)
  const bytes = head.subarray(5, 5 + length)
  const text = bytesAsText(bytes)
  const cut = bytes.length < length ? `…(${length} bytes anunciados)` : ""
  return { op, name: logWord(text + cut) }
}

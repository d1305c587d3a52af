import * as Match from "effect/Match"
import type { FileFailureReason } from "./errors.ts"
import { operationOf } from "./operations.ts"
import type { OperationError } from "./statuses.ts"

/**
 * Portuguese text for each expected failure, as the server's log shows it:
 * no errno token, no English from the system, no internal tag, and each
 * reason said once.
 */

const fileReason: Record<FileFailureReason, string> = {
  NotFound: "não existe",
  NotRegularFile: "não é um arquivo comum",
  OutsideRoot: "fica fora da pasta",
  TooLarge: "é grande demais",
  IsDirectory: "é uma pasta",
  PermissionDenied: "sem permissão",
  NoSpace: "sem espaço em disco",
  Io: "erro de leitura ou escrita"
}

/** "1 arquivo", "2 arquivos": the count and the word that agrees with it. */
export const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`

/** A system error's detail without its errno token: "não encontrado (ENOENT)" → "não encontrado". */
export const withoutErrno = (detail: string): string => detail.replace(/\s*\(E[A-Z0-9_]+\)\s*$/, "")

/** The errno token at the end of a detail, if any ("ENOENT"), for a debug view. */
export const errnoIn = (detail: string): string | undefined => /\((E[A-Z0-9_]+)\)\s*$/.exec(detail)?.[1]

export const describeFailure = (error: OperationError): string =>
  Match.value(error).pipe(
    Match.tagsExhaustive({
      ProtocolViolation: (e) => `fora do protocolo: ${e.detail}`,
      FileFailure: (e) => {
        // The detail is shown where it says more than the reason: a size, an I/O error, or
        // the server's own explanation (read-only mode, --sem-sobrescrever, the space left);
        // a system error's text for the same reason would only repeat it.
        const detail = withoutErrno(e.detail)
        const fromSystem = detail !== e.detail
        const extra = e.reason === "Io" || e.reason === "TooLarge" || !fromSystem ? detail : ""
        return `${logWord(e.name)}: ${fileReason[e.reason]}${extra === "" || extra === fileReason[e.reason] ? "" : ` (${extra})`}`
      },
      HashMismatch: (e) =>
        e.size !== undefined && e.position > e.size
          ? `${logWord(e.name)}: a posição ${e.position} passa do fim do arquivo (${e.size} bytes)`
          : `${logWord(e.name)}: o MD5 dos primeiros ${e.position} bytes não confere`,
      ConnectionFailure: (e) => {
        switch (e.reason) {
          case "Refused":
            return "conexão recusada"
          case "Unresolved":
            return "nome do servidor não encontrado"
          case "Closed":
            return "a conexão foi fechada pelo outro lado"
          case "Reset":
            return "a conexão caiu (reiniciada pelo outro lado)"
          case "Io":
            return "erro de rede"
        }
      },
      Timeout: (e) => {
        switch (e.phase) {
          case "Request":
            return `o pedido não chegou inteiro em ${e.seconds} s`
          case "Idle":
            return `nada se moveu por ${e.seconds} s`
          case "Connect":
            return `a conexão não se estabeleceu em ${e.seconds} s`
        }
      }
    })
  )

/**
 * Whether a failure in the middle of a transfer means the peer went away
 * (closed or reset the connection, or stopped mid-message): for a client,
 * that is what a cancel (Ctrl+C) looks like, and is logged as one.
 */
export const isPeerGone = (error: OperationError): boolean =>
  (error._tag === "ConnectionFailure" && (error.reason === "Closed" || error.reason === "Reset")) ||
  (error._tag === "ProtocolViolation" && error.reason === "Truncated")

const SAFE_WORD = /^[^\s"\\\u0000-\u001f\u007f-\u009f]+$/u

/** Longest name a log line shows; the rest is counted, not printed (a hostile name can be 4 KiB). */
const LOG_NAME_CHARS = 256

/**
 * A name or mask as one word of a log line: bare when it has no space,
 * quote, backslash or control character; otherwise in double quotes with
 * those escaped (\", \\, \xNN), so every line splits the same way.
 */
export const logWord = (text: string): string => {
  const chars = Array.from(text)
  const shown = chars.length > LOG_NAME_CHARS ? `${chars.slice(0, LOG_NAME_CHARS).join("")}…` : text
  if (SAFE_WORD.test(shown) && shown !== "-") return shown
  const escaped = shown.replace(/["\\\u0000-\u001f\u007f-\u009f]/g, (char) =>
    char === '"' || char === "\\" ? `\\${char}` : `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`
  )
  return `"${escaped}"`
}

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

import * as Match from "effect/Match"
import { withoutErrno } from "./errno.ts"
import type { FileFailureReason } from "./errors.ts"
import type { OperationError } from "./statuses.ts"
import { logWord } from "./words.ts"

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
          // The transport's words for TLS failures are Portuguese (the system's own stay in the cause).
          case "TlsHandshake":
            return `TLS não estabelecido: ${e.detail}`
          case "TlsCertificate":
            return `certificado TLS recusado: ${e.detail}`
          case "TlsRefused":
            return `TLS recusado pelo outro lado: ${e.detail}`
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

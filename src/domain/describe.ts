import * as Match from "effect/Match"
import type { FileFailureReason } from "./errors.ts"
import type { OperationError } from "./statuses.ts"

/** One Portuguese sentence for each expected failure, for logs and users. */

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
      ProtocolViolation: (e) => `protocolo violado (${e.reason}): ${e.detail}`,
      FileFailure: (e) => `"${e.name}": ${fileReason[e.reason]} (${e.detail})`,
      HashMismatch: (e) => `"${e.name}": o MD5 dos primeiros ${e.position} bytes não confere`,
      ConnectionFailure: (e) => {
        switch (e.reason) {
          case "Refused":
            return `conexão recusada (${e.detail})`
          case "Unresolved":
            return `nome do servidor não encontrado (${e.detail})`
          case "Closed":
            return "a conexão foi fechada pelo outro lado"
          case "Reset":
            return `a conexão caiu (${e.detail})`
          case "Io":
            return `erro de rede (${e.detail})`
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

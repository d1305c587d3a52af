import * as Cause from "effect/Cause"
import * as Match from "effect/Match"
import { withoutErrno } from "../../../domain/errno.ts"
import type { ClientError } from "../errors.ts"
import type { Command } from "./commands.ts"
import { humanSize } from "./format.ts"

/** Exit statuses, as documented in the README. */
export const ExitCode = {
  Ok: 0,
  /** Refused by the server, not found, hash mismatch, or a local file problem. */
  Refused: 1,
  Usage: 2,
  /** Network error, timeout, or a server that broke the protocol. */
  Network: 3
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export const exitCodeOf = (error: ClientError): ExitCode =>
  Match.value(error).pipe(
    Match.tagsExhaustive({
      ServerRefused: () => ExitCode.Refused,
      TooManyMatches: () => ExitCode.Refused,
      HashMismatch: () => ExitCode.Refused,
      FileFailure: () => ExitCode.Refused,
      ProtocolViolation: () => ExitCode.Network,
      ConnectionFailure: () => ExitCode.Network,
      Timeout: () => ExitCode.Network
    })
  )

/** How the client spoke to the server, for the sentences of TLS failures: undefined, plain TCP. */
export interface TlsUse {
  /** --tls-certificado was given. */
  readonly clientCertificate: boolean
}

export interface FailureContext {
  /** "host:port" as the user typed it. */
  readonly server: string
  readonly tls?: TlsUse | undefined
  readonly command: Command
  /** Bytes the partial download holds after the failure (0 or absent: nothing to resume). */
  readonly kept?: number | undefined
  /** The exact command that continues the download; `retomar NAME` when not given. */
  readonly resumeCommand?: () => string
  /** A complete local file of that name exists (beside a partial, or alone). */
  readonly finalExists?: boolean
}

const subject = (command: Command): string | undefined => {
  switch (command._tag) {
    case "Download":
    case "Upload":
    case "Resume":
      return command.name
    case "DownloadMany":
      return command.mask
    default:
      return undefined
  }
}

/** Whether a failure mid-download leaves a partial worth resuming. */
const keepsPartial = (command: Command) => command._tag === "Download" || command._tag === "Resume"

/**
 * A system error's detail as people read it: the words without the errno
 * token ("não encontrado (ENOENT)" → "não encontrado"); the token is kept for --debug.
 */
export const plainDetail = withoutErrno

/** One sentence that names the file and says what to do. */
export const describeClientError = (error: ClientError, context: FailureContext): string => {
  const name = subject(context.command)
  const quoted = name === undefined ? "" : ` "${name}"`
  const about = name === undefined ? "" : ` (pedido:${quoted})`
  // Only a partial that holds bytes is worth resuming: a stall before the first byte leaves nothing.
  const resumeHint =
    keepsPartial(context.command) && name !== undefined && (context.kept ?? 0) > 0
      ? ` O que chegou (${humanSize(context.kept!)}) ficou guardado. Para continuar:\n  ${context.resumeCommand?.() ?? `retomar ${name}`}`
      : ""
  return Match.value(error).pipe(
    Match.tagsExhaustive({
      ServerRefused: (e) => {
        if (e.reason === "NotFound") return `"${e.name}" não existe no servidor. O parcial local foi mantido.`
        switch (e.request) {
          // Status 1 alone does not say why: list what it may be, without asserting one cause.
          case "Download":
            return `O servidor recusou baixar "${e.name}": o arquivo pode não existir lá, ser uma pasta ou não poder ser lido; ou o servidor pode estar ocupado (limite de conexões). Use "listar" para ver os nomes.`
          case "Upload":
            // Every refusal the server can make for op 30, the commonest first.
            return `O servidor recusou ou não conseguiu gravar "${e.name}". Pode ser: o arquivo já existe e o servidor não sobrescreve (--sem-sobrescrever); o servidor é somente leitura ou não pode gravar na pasta; já existe lá uma pasta com esse nome; o arquivo passa do tamanho máximo do servidor ou do espaço livre; o servidor está ocupado (limite de conexões) ou não atende o seu endereço.`
          case "Resume":
            return `O servidor recusou o pedido de retomar "${e.name}".`
          case "DownloadMany":
            return `O servidor recusou a máscara "${e.name}".`
          case "List":
            return "O servidor não conseguiu listar a pasta. Tente de novo."
        }
      },
      TooManyMatches: (e) =>
        `A máscara "${e.mask}" casou ${e.matches} arquivos; o servidor envia no máximo ${e.cap} por vez. Use uma máscara mais específica.`,
      HashMismatch: (e) => {
        // Say which local file was checked, and what "baixar" will replace: with a partial and a complete
        // file side by side, the partial is the one checked, and both give way to the server's copy.
        const checked =
          (context.kept ?? 0) > 0
            ? `O download parcial "${e.name}.parcial" (os primeiros ${e.position} bytes) não confere`
            : `Os primeiros ${e.position} bytes do "${e.name}" local não conferem`
        const replaces =
          (context.kept ?? 0) > 0 && context.finalExists
            ? ` (substitui o parcial e o "${e.name}" completo que está ao lado)`
            : ""
        return `${checked} com o arquivo do servidor (ou ele tem menos bytes que isso). Nada local foi alterado. Para baixar do zero${replaces}, use "baixar ${e.name}".`
      },
      FileFailure: (e) => {
        switch (e.reason) {
          case "NotFound": {
            // The detail only when it says more than "not found" (which folder is missing, what is not a folder).
            const detail = plainDetail(e.detail)
            return /^não (encontrado|existe)$/.test(detail)
              ? `"${e.name}" não existe na pasta local. Use "lls" para ver os nomes.`
              : `"${e.name}" não foi encontrado na pasta local (${detail}).`
          }
          case "OutsideRoot":
            return `"${e.name}" leva para fora da pasta local (link simbólico?): recusado.`
          case "IsDirectory":
            return `Já existe uma pasta chamada "${e.name}" na pasta local: renomeie-a ou apague-a e tente de novo.`
          case "NotRegularFile":
            return `"${e.name}" na pasta local não é um arquivo comum.`
          case "PermissionDenied":
            return `Sem permissão para ler ou gravar "${e.name}" na pasta local.`
          case "NoSpace":
            return `Sem espaço em disco para gravar "${e.name}". Libere espaço e use "retomar ${e.name}".`
          case "TooLarge":
            return `"${e.name}": ${e.detail}.`
          case "Io":
            return `Erro ao ler ou gravar "${e.name}" na pasta local: ${plainDetail(e.detail)}.`
        }
      },
      ProtocolViolation: (e) => {
        switch (e.reason) {
          // A reply that stops in the middle is a connection that dropped (a cut cable, a killed server), not a broken protocol.
          case "Truncated":
            return `A conexão com ${context.server} caiu${name === undefined ? "" : ` durante${quoted}`}: a resposta chegou pela metade.${resumeHint}`
          case "TlsSpoken":
            return `O servidor ${context.server} respondeu em TLS${about}: ele exige TLS. Use --tls (e --tls-ca com a CA que assinou o certificado dele, se não for uma CA do sistema).`
          case "NoReply":
            return noReplySentence(context, about)
          default:
            return `O servidor ${context.server} respondeu fora do protocolo ao pedido${quoted} (${e.detail}); nada foi gravado com o nome final.`
        }
      },
      ConnectionFailure: (e) => {
        switch (e.reason) {
          case "Refused":
            return `Conexão recusada por ${context.server}${about}: o servidor está rodando nessa porta?`
          case "Unresolved":
            return `Não foi possível encontrar o servidor de ${context.server}${about}: confira o nome.`
          case "TlsHandshake":
            return `O servidor ${context.server} não completou o TLS${about}: ele usa TLS nessa porta? Se não usa, tire o --tls.`
          case "TlsCertificate":
            return `O certificado do servidor ${context.server} não foi aceito${about}: ele não é de uma CA confiável (use --tls-ca com a CA que o assinou), venceu, ou não vale para o nome ou endereço usado.`
          case "TlsRefused":
            return context.tls?.clientCertificate
              ? `O servidor ${context.server} recusou o seu certificado de cliente${about}: ele não é de uma CA que o servidor aceita, ou venceu.`
              : `O servidor ${context.server} exige um certificado de cliente${about}: use --tls-certificado e --tls-chave.`
          default:
            return `A conexão com ${context.server} caiu${name === undefined ? "" : ` durante${quoted}`}.${resumeHint}`
        }
      },
      Timeout: (e) =>
        e.phase === "Connect"
          ? `O servidor ${context.server} não respondeu em ${e.seconds} s${about}: confira o endereço e a rede.`
          : `Nada se moveu por ${e.seconds} s${name === undefined ? "" : ` em${quoted}`}; a operação foi cancelada.${resumeHint}`
    })
  )
}

/** A connection that ended before the reply's first byte: over TLS, most likely a refused certificate; in plain TCP, a TLS server. */
const noReplySentence = (context: FailureContext, about: string): string => {
  if (context.tls === undefined) {
    return `O servidor ${context.server} fechou a conexão sem responder${about}: ele pode ter sido encerrado, ou exigir TLS (então use --tls).`
  }
  return context.tls.clientCertificate
    ? `O servidor ${context.server} fechou a conexão TLS sem responder${about}: ele pode ter recusado o seu certificado de cliente (de uma CA que ele não aceita).`
    : `O servidor ${context.server} fechou a conexão TLS sem responder${about}: ele pode exigir um certificado de cliente (use --tls-certificado e --tls-chave).`
}

const errnoOf = (value: unknown): string | undefined => {
  const code = (value as { code?: unknown } | null | undefined)?.code
  if (typeof code === "string") return code
  const detail = (value as { detail?: unknown } | null | undefined)?.detail
  return typeof detail === "string" ? /\((E[A-Z0-9_]+)\)\s*$/.exec(detail)?.[1] : undefined
}

/**
 * `--debug`: the chain of causes, one line each, labelled as details —
 * each error's tag and its data (reason, detail, errno), then its `cause`
 * chain — instead of a stack trace that says nothing to the user.
 */
export const debugDetails = (cause: Cause.Cause<unknown>): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const describe = (value: unknown, depth: number) => {
    const indent = "  ".repeat(depth)
    if (value === null || typeof value !== "object") return lines.push(`${indent}detalhe: ${String(value)}`)
    const record = value as Record<string, unknown>
    const tag = typeof record._tag === "string" ? record._tag : value instanceof Error ? value.name : "erro"
    const errno = errnoOf(value)
    // The errno token closes the line; a system error's own code and errno number would only repeat it.
    const hidden = ["_tag", "cause", "stack", "name", ...(errno === undefined ? [] : ["code", "errno"])]
    const fields = Object.entries(record)
      .filter(([key, field]) => !hidden.includes(key) && field !== undefined && typeof field !== "object")
      .map(([key, field]) => `${key}=${JSON.stringify(field)}`)
    const message =
      value instanceof Error && value.message !== "" && !fields.some((field) => field.startsWith("message="))
        ? [`message=${JSON.stringify(value.message)}`]
        : []
    lines.push(
      `${indent}detalhe: ${[tag, ...fields, ...message, ...(errno === undefined ? [] : [`errno=${errno}`])].join(" ")}`
    )
    if (depth < 5 && record.cause !== undefined) describe(record.cause, depth + 1)
  }
  for (const failure of Cause.failures(cause)) describe(failure, 0)
  for (const defect of Cause.defects(cause)) describe(defect, 0)
  if (Cause.isInterrupted(cause)) lines.push("detalhe: interrompido")
  return lines
}

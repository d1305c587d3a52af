import type { Socket, TLSOptions } from "bun"
import { ConnectionFailure } from "../../domain/errors.ts"
import { SocketState } from "./socketState.ts"
import type { ClientTls, ServerTls } from "./Transport.ts"
import type { Watch } from "./watchdog.ts"

/**
 * What the live transport adds for TLS: Bun's TLS options from the
 * transport's plain data, the state of a connection whose handshake is
 * watched, and the handshake's failures as `ConnectionFailure`s. Only TLS
 * connections come here; plain TCP never does.
 */

/**
 * TLS 1.2 and 1.3 only, whatever a later Bun allows by default: OpenSSL's
 * (and BoringSSL's) SSL_OP_NO_TLSv1 and SSL_OP_NO_TLSv1_1, as node:crypto's
 * `constants` spell them (not imported: a program that never uses TLS does
 * not load it).
 */
const TLS_1_2_AND_LATER = 0x0400_0000 | 0x1000_0000

/** A listener's TLS as Bun takes it: a client certificate is asked for, and required, only with a client CA. */
export const serverTlsOptions = (tls: ServerTls): TLSOptions => ({
  cert: tls.certificate,
  key: tls.key,
  secureOptions: TLS_1_2_AND_LATER,
  ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true })
})

let systemCas: Array<string> | undefined

/**
 * The system's CAs (read once); empty where the system has none Bun can read
 * (Bun's own list then applies). node:tls is loaded here, on the first TLS
 * connection with no --tls-ca: loading it costs a program's start-up time.
 */
const systemCaList = (): Array<string> => {
  systemCas ??= (() => {
    try {
      const { getCACertificates } = require("node:tls") as typeof import("node:tls")
      return getCACertificates("system")
    } catch {
      return []
    }
  })()
  return systemCas
}

/** A connection's TLS as Bun takes it: the server's certificate is always checked, name included. */
export const clientTlsOptions = (tls: ClientTls): TLSOptions => {
  const ca = tls.ca ?? systemCaList()
  return {
    serverName: tls.serverName,
    rejectUnauthorized: true,
    secureOptions: TLS_1_2_AND_LATER,
    ...(typeof ca === "string" || ca.length > 0 ? { ca } : {}),
    ...(tls.certificate === undefined ? {} : { cert: tls.certificate }),
    ...(tls.key === undefined ? {} : { key: tls.key })
  }
}

/** An accepted TLS connection's state: its handshake's deadline, and the client's certificate once known. */
export class TlsSocketState extends SocketState {
  handshaken = false
  certificate: string | undefined
  readonly deadline: Watch

  constructor(openedAt: number, onLate: () => void) {
    super(openedAt)
    this.deadline = {
      at: 0,
      look: () => {
        if (!this.handshaken && !this.closed) onLate()
        return undefined
      }
    }
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error ?? ""))

const codeOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null | undefined)?.code
  return typeof code === "string" ? code : ""
}

/** The peer did not start TLS within the listener's handshake deadline. */
export const handshakeLate = (seconds: number) =>
  new ConnectionFailure({
    reason: "TlsHandshake",
    detail: `o cliente não completou o handshake TLS em ${seconds} s (ele usa TLS?)`
  })

/**
 * A listener's handshake that failed: no TLS from the client, an old
 * version, a client certificate missing, or the client refusing this
 * server's certificate (it ends the handshake with an alert, or drops it).
 */
export const serverHandshakeFailure = (error: unknown): ConnectionFailure => {
  const text = `${codeOf(error)} ${messageOf(error)}`
  if (/PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED/i.test(text)) {
    return new ConnectionFailure({
      reason: "TlsCertificate",
      detail: "o cliente não apresentou certificado",
      cause: error
    })
  }
  const detail = /UNSUPPORTED_PROTOCOL|PROTOCOL_VERSION/i.test(text)
    ? "o cliente só fala versões antigas de TLS (aceitas: 1.2 e 1.3)"
    : /WRONG_VERSION_NUMBER|HTTP_REQUEST|UNEXPECTED_RECORD|BAD_PACKET|RECORD_LENGTH/i.test(text)
      ? "o cliente não iniciou TLS (ele usa TLS?)"
      : /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED)/i.test(text)
        ? "o cliente recusou o certificado deste servidor (ele não confia na CA, ou o certificado venceu)"
        : "o handshake não se completou (o cliente não usa TLS, ou recusou o certificado deste servidor)"
  return new ConnectionFailure({ reason: "TlsHandshake", detail, cause: error })
}

/** A client certificate the listener's CA did not sign (or that is expired, or not for a client). */
export const clientCertificateRefused = (error: unknown) =>
  new ConnectionFailure({
    reason: "TlsCertificate",
    detail: "o certificado do cliente não é de uma CA aceita, ou não vale",
    cause: error
  })

/** A connection's handshake that failed: the server's certificate refused here, or no TLS from the server. */
export const clientHandshakeFailure = (error: unknown): ConnectionFailure =>
  error instanceof Error && /CERT|SELF_SIGNED|ALTNAME|ISSUER|VERIFY|EXPIRED/i.test(`${codeOf(error)} ${error.message}`)
    ? new ConnectionFailure({
        reason: "TlsCertificate",
        detail: "o certificado do servidor não é de uma CA aceita, ou não vale para o nome",
        cause: error
      })
    : new ConnectionFailure({
        reason: "TlsHandshake",
        detail: "o servidor não respondeu em TLS",
        ...(error === undefined ? {} : { cause: error })
      })

type Subject = Record<string, string | ReadonlyArray<string> | undefined>

/** How a certificate's subject is named in the log: its CN, or, without one, every field ("O=Escola,OU=Turma"). */
export const subjectName = (subject: Subject | undefined): string | undefined => {
  if (subject === undefined) return undefined
  const first = (value: string | ReadonlyArray<string> | undefined) => (typeof value === "string" ? value : value?.[0])
  const common = first(subject.CN)
  if (common !== undefined && common !== "") return common
  const fields = Object.entries(subject)
    .map(([key, value]) => [key, first(value)] as const)
    .filter(([, value]) => value !== undefined && value !== "")
    .map(([key, value]) => `${key}=${value}`)
  return fields.length === 0 ? undefined : fields.join(",")
}

/** The subject of the certificate the client presented, once the handshake is done. */
export const peerSubject = (socket: Socket<SocketState>): string | undefined => {
  try {
    return subjectName(socket.getPeerCertificate()?.subject as Subject | undefined)
  } catch {
    return undefined
  }
}

import { createPrivateKey, X509Certificate } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Listener, ServerTls } from "../../services/transport/Transport.ts"
import { readPem } from "../pem.ts"

/** The TLS files a server was started with (--tls-certificado, --tls-chave, --tls-clientes). */
export interface TlsFiles {
  readonly certificate: string
  readonly key: string
  readonly clients?: string | undefined
}

/** The longest a TLS handshake may take: a client that does not speak TLS is closed this soon, not at the request deadline. */
const MAX_HANDSHAKE_SECONDS = 5

/** The handshake deadline of a server whose whole request must come within `requestSeconds`. */
export const handshakeMillis = (requestSeconds: number) => Math.min(requestSeconds, MAX_HANDSHAKE_SECONDS) * 1000

/** The certificate of a PEM file (the first of a chain); Left: a sentence saying what is wrong. */
const parseCertificate = (pem: string, file: string, what: string): Either.Either<X509Certificate, string> => {
  try {
    return Either.right(new X509Certificate(pem))
  } catch {
    return Either.left(`${what} "${file}" não é um certificado PEM (-----BEGIN CERTIFICATE-----)`)
  }
}

/** What a server's TLS files hold, checked: the certificate, its key (and that they match), the client CA. */
export interface LoadedTls {
  readonly tls: ServerTls
  readonly certificate: X509Certificate
}

/**
 * Reads and checks the TLS files: each readable, the certificate and the CA
 * parse, the key is the certificate's. Left: one Portuguese sentence naming
 * the file. Run at start and at every reload, so a bad file never replaces a
 * good one.
 */
export const loadTls = (files: TlsFiles, requestSeconds: number): Either.Either<LoadedTls, string> =>
  Either.gen(function* () {
    const certificatePem = yield* readPem(files.certificate, "o certificado (--tls-certificado)")
    const keyPem = yield* readPem(files.key, "a chave (--tls-chave)")
    const certificate = yield* parseCertificate(certificatePem, files.certificate, "o certificado (--tls-certificado)")
    const key = yield* Either.try({
      try: () => createPrivateKey(keyPem),
      catch: () =>
        `a chave (--tls-chave) "${files.key}" não é uma chave privada PEM sem senha (-----BEGIN PRIVATE KEY-----)`
    })
    if (!certificate.checkPrivateKey(key)) {
      return yield* Either.left(
        `a chave "${files.key}" não é a do certificado "${files.certificate}" (confira se os dois arquivos são do mesmo par)`
      )
    }
    const clientCa =
      files.clients === undefined ? undefined : yield* readPem(files.clients, "a CA dos clientes (--tls-clientes)")
    if (clientCa !== undefined && files.clients !== undefined) {
      yield* parseCertificate(clientCa, files.clients, "a CA dos clientes (--tls-clientes)")
    }
    return {
      certificate,
      tls: {
        certificate: certificatePem,
        key: keyPem,
        clientCa,
        handshakeMillis: handshakeMillis(requestSeconds)
      }
    }
  })

/** A certificate's subject as one line ("CN=localhost"), for the start-up lines. */
const subjectLine = (certificate: X509Certificate) => certificate.subject.split("\n").join(", ")

/** The start-up lines that say how TLS is set up. */
export const tlsStartLines = (loaded: LoadedTls, files: TlsFiles): ReadonlyArray<string> => {
  const until = new Date(certificateEnd(loaded.certificate)).toISOString().slice(0, 10)
  return [
    `TLS (1.2 e 1.3) em toda conexão: certificado ${subjectLine(loaded.certificate)}, válido até ${until}` +
      (certificateEnd(loaded.certificate) < Date.now() ? " (VENCIDO: os clientes vão recusá-lo)" : ""),
    files.clients === undefined
      ? "Certificados de cliente: não exigidos"
      : `Certificados de cliente: exigidos, assinados pela CA de ${files.clients}; o log mostra o nome (CN) de cada um`
  ]
}

const certificateEnd = (certificate: X509Certificate) => Date.parse(certificate.validTo)

/**
 * Reads the TLS files again and gives the listener the result, for the
 * connections accepted from now on (those in flight keep theirs): the hook
 * for a reload (SIGHUP). A file that cannot be used leaves the listener as it
 * was; the error is a Portuguese sentence.
 */
export const reloadCertificates = (
  listener: Listener,
  files: TlsFiles,
  requestSeconds: number
): Effect.Effect<LoadedTls, string> =>
  Effect.gen(function* () {
    if (listener.reloadTls === undefined) return yield* Effect.fail("o servidor não foi iniciado com TLS")
    const loaded = yield* Either.match(loadTls(files, requestSeconds), {
      onLeft: (problem) => Effect.fail(problem),
      onRight: (value) => Effect.succeed(value)
    })
    // What the TLS library said is in English and names its internals: the sentence says what it means.
    yield* Effect.mapError(
      listener.reloadTls(loaded.tls),
      () => "o sistema não aceitou os novos arquivos de TLS; os anteriores continuam"
    )
    return loaded
  })

/** The TLS files of the command line, when TLS was asked for. */
export const tlsFilesOf = (args: {
  readonly tlsCertificate?: string | undefined
  readonly tlsKey?: string | undefined
  readonly tlsClients?: string | undefined
}): TlsFiles | undefined =>
  args.tlsCertificate === undefined || args.tlsKey === undefined
    ? undefined
    : { certificate: args.tlsCertificate, key: args.tlsKey, clients: args.tlsClients }

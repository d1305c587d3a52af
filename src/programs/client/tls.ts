import * as Either from "effect/Either"
import type { ClientTls } from "../../services/transport/Transport.ts"
import { readPem } from "../pem.ts"
import type { TlsFiles } from "./cli/args.ts"

/**
 * The client's TLS from its files: the CAs (the system's when not given),
 * the name the server's certificate must hold (the host as typed), and the
 * client's own certificate when given. Left: a sentence naming the file.
 */
export const clientTlsOf = (files: TlsFiles, host: string): Either.Either<ClientTls, string> =>
  Either.gen(function* () {
    const ca = files.ca === undefined ? undefined : yield* readPem(files.ca, "a CA (--tls-ca)")
    const certificate =
      files.certificate === undefined
        ? undefined
        : yield* readPem(files.certificate, "o certificado (--tls-certificado)")
    const key = files.key === undefined ? undefined : yield* readPem(files.key, "a chave (--tls-chave)")
    return {
      serverName: host,
      ...(ca === undefined ? {} : { ca }),
      ...(certificate === undefined ? {} : { certificate }),
      ...(key === undefined ? {} : { key })
    }
  })

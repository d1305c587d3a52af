import { LOOPBACK } from "../../domain/cidr.ts"
import { addressMatcher } from "./access.ts"

const isLoopback = addressMatcher(LOOPBACK)

/** What decides whether a server is open to anyone: its settings, and TLS when it has it. */
export interface Exposure {
  readonly readOnly: boolean
  readonly allow: ReadonlyArray<unknown> | undefined
  /** The one address listened on; undefined: every address. */
  readonly address: string | undefined
  /** The server speaks TLS. */
  readonly tls: boolean
}

/**
 * The start-up warning of a server that takes uploads from any address in
 * clear text, naming the options that limit it; undefined when one of them
 * already does (or it listens on loopback only).
 */
export const exposureWarning = (exposure: Exposure): string | undefined =>
  exposure.readOnly ||
  exposure.allow !== undefined ||
  exposure.tls ||
  (exposure.address !== undefined && isLoopback(exposure.address))
    ? undefined
    : "Atenção: qualquer máquina que alcance esta porta pode enviar e substituir arquivos, e tudo passa sem criptografia; para limitar, use --permitir REDES, --somente-leitura, --sem-sobrescrever ou --endereco 127.0.0.1; para cifrar, --tls-certificado e --tls-chave."

import { VERSION } from "../../version.ts"
import { reachableAddresses } from "../addresses.ts"
import type { ServerSettings } from "../config.ts"

/** What the page says about the server itself: fixed once it listens (the allow-list may be reloaded). */
export interface ServerFacts {
  readonly versao: string
  readonly porta: number
  /** "host:porta" where clients reach it, with the interface's name. */
  readonly enderecos: ReadonlyArray<string>
  readonly pasta: string
  /** When the server started (ISO 8601, UTC): a page that sees another one knows it restarted. */
  readonly inicio: string
  readonly timeout_s: number
  readonly max_clientes: number
  /** 0: no limit. */
  readonly max_por_ip: number
  /** Largest upload in bytes; null: the protocol's limit. */
  readonly tamanho_maximo: number | null
  readonly somente_leitura: boolean
  readonly sem_sobrescrever: boolean
  readonly protocolo_proxy: boolean
  readonly tls: boolean
}

/** The facts of a server listening on `listener`, started at `startedAt` (ms since 1970). */
export const factsOf = (
  settings: ServerSettings,
  listener: { readonly hostname: string; readonly port: number },
  folder: string,
  startedAt: number,
  /** Whether the file port speaks TLS (--tls-certificado). */
  tls: boolean
): ServerFacts => ({
  versao: VERSION,
  porta: listener.port,
  enderecos: reachableAddresses(listener.hostname, listener.port),
  pasta: folder,
  inicio: new Date(startedAt).toISOString(),
  timeout_s: settings.requestSeconds,
  max_clientes: settings.maxClients,
  max_por_ip: settings.maxPerAddress,
  tamanho_maximo: settings.maxUploadBytes ?? null,
  somente_leitura: settings.readOnly,
  sem_sobrescrever: settings.noOverwrite,
  protocolo_proxy: settings.proxyProtocol,
  tls
})

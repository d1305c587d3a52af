import * as Context from "effect/Context"
import { type Cidr, LOOPBACK } from "../../domain/cidr.ts"
import { DEFAULT_PORT, MAX_MANY_MATCHES } from "../../domain/protocol.ts"

export interface ServerSettings {
  /** The whole request must arrive within this. */
  readonly requestSeconds: number
  /** A transfer that makes no progress for this long is aborted. */
  readonly idleSeconds: number
  /** Most files one op 50 reply may carry. */
  readonly maxMatches: number
  /** Most connections served at once; more are answered 0x01 and closed. */
  readonly maxClients: number
  /** Most connections from one address at once; 0 means no limit. */
  readonly maxPerAddress: number
  /** Uploads are refused. */
  readonly readOnly: boolean
  /** Largest upload accepted, in bytes; undefined means only the protocol's 4 GiB limit. */
  readonly maxUploadBytes: number | undefined
  /** Behind a balancer: every connection starts with a PROXY header (v1 or v2). */
  readonly proxyProtocol: boolean
  /** Where a PROXY header is accepted from; a connection from anywhere else is closed. */
  readonly trustedProxies: ReadonlyArray<Cidr>
  /** Uploads over an existing file are refused. */
  readonly noOverwrite: boolean
  /** Client networks allowed to connect; undefined: every client. */
  readonly allow: ReadonlyArray<Cidr> | undefined
}

export type LogFormat = "texto" | "json"

/** What a server runs with when nothing else is said. */
export interface ServerDefaults extends Omit<ServerSettings, "requestSeconds" | "idleSeconds"> {
  readonly port: number
  readonly folder: string
  /** Both deadlines: the whole request's, and a stalled transfer's. */
  readonly timeoutSeconds: number
  /** How long operations in flight may take to finish on Ctrl+C or SIGTERM. */
  readonly graceMillis: number
  readonly log: LogFormat
  /** The one address to listen on; undefined: every address. */
  readonly address: string | undefined
}

/**
 * Every default of the server, in one place: the command line starts from
 * it (and its help quotes it), and so do the tests and the bench.
 */
export const SERVER_DEFAULTS: ServerDefaults = {
  port: DEFAULT_PORT,
  folder: "storage/servidor",
  timeoutSeconds: 30,
  graceMillis: 5_000,
  log: "texto",
  address: undefined,
  maxMatches: MAX_MANY_MATCHES,
  maxClients: 256,
  maxPerAddress: 0,
  readOnly: false,
  maxUploadBytes: undefined,
  proxyProtocol: false,
  trustedProxies: LOOPBACK,
  noOverwrite: false,
  allow: undefined
}

/** The defaults as settings, both deadlines `timeoutSeconds`, with `overrides` over them. */
export const serverSettings = (
  timeoutSeconds: number = SERVER_DEFAULTS.timeoutSeconds,
  overrides: Partial<ServerSettings> = {}
): ServerSettings => {
  const {
    port: _port,
    folder: _folder,
    timeoutSeconds: _timeout,
    graceMillis: _grace,
    log: _log,
    address: _address,
    ...settings
  } = SERVER_DEFAULTS
  return { requestSeconds: timeoutSeconds, idleSeconds: timeoutSeconds, ...settings, ...overrides }
}

export class ServerConfig extends Context.Tag("ServerConfig")<ServerConfig, ServerSettings>() {}

import * as Context from "effect/Context"
import { type Cidr, LOOPBACK } from "../../domain/cidr.ts"
import { MAX_MANY_MATCHES } from "../../domain/protocol.ts"

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

export const defaultSettings = (timeoutSeconds: number): ServerSettings => ({
  requestSeconds: timeoutSeconds,
  idleSeconds: timeoutSeconds,
  maxMatches: MAX_MANY_MATCHES,
  maxClients: 256,
  maxPerAddress: 0,
  readOnly: false,
  maxUploadBytes: undefined,
  proxyProtocol: false,
  trustedProxies: LOOPBACK,
  noOverwrite: false,
  allow: undefined
})

export class ServerConfig extends Context.Tag("ServerConfig")<ServerConfig, ServerSettings>() {}

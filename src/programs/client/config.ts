import * as Context from "effect/Context"
import type { ClientTls } from "../../services/transport/Transport.ts"

export interface ClientSettings {
  readonly host: string
  readonly port: number
  /** Deadline to connect, and longest a transfer may go without progress. */
  readonly timeoutSeconds: number
  /** `--tls`: the connection's TLS (the CAs, the name checked, this client's certificate); undefined: plain TCP. */
  readonly tls?: ClientTls | undefined
}

export class ClientConfig extends Context.Tag("ClientConfig")<ClientConfig, ClientSettings>() {}

/** Optional observer of a transfer, for progress bars. */
export interface ProgressSink {
  /** op 50: how many files and bytes the manifest announced. */
  readonly batch?: (count: number, totalBytes: number) => void
  /** op 50: the server skipped this file (it keeps its place in the numbering). */
  readonly skip?: (name: string) => void
  /** op 40: the MD5 of the `bytes` already held is being computed (it takes a while for a large partial). */
  readonly hashing?: (name: string, bytes: number) => void
  readonly start: (name: string, total: number, from: number) => void
  readonly advance: (bytes: number) => void
  /** The file just started is confirmed complete: saved under its final name, or stored by the server. */
  readonly completed?: () => void
  /**
   * An upload cancelled after every byte had been acknowledged (by the
   * server's system, or by a relay on the way): the server may still store it.
   */
  readonly delivered?: () => void
}

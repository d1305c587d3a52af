import * as Context from "effect/Context"

export interface ClientSettings {
  readonly host: string
  readonly port: number
  /** Deadline to connect, and longest a transfer may go without progress. */
  readonly timeoutSeconds: number
}

export class ClientConfig extends Context.Tag("ClientConfig")<ClientConfig, ClientSettings>() {}

/** Optional observer of a transfer, for progress bars. */
export interface ProgressSink {
  /** op 50: how many files and bytes the manifest announced. */
  readonly batch?: (count: number, totalBytes: number) => void
  /** op 50: the server skipped this file (it keeps its place in the numbering). */
  readonly skip?: (name: string) => void
  readonly start: (name: string, total: number, from: number) => void
  readonly advance: (bytes: number) => void
}

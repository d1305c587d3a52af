import { Context } from "effect"

export interface ServerSettings {
  /** The whole request must arrive within this. */
  readonly requestSeconds: number
  /** A transfer that makes no progress for this long is aborted. */
  readonly idleSeconds: number
  /** Most files one op 50 reply may carry. */
  readonly maxMatches: number
}

export class ServerConfig extends Context.Tag("ServerConfig")<ServerConfig, ServerSettings>() {}

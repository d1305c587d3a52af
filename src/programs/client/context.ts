import type * as Scope from "effect/Scope"
import type { FileStore } from "../../services/FileStore.ts"
import type { Hasher } from "../../services/Hasher.ts"
import type { Transport } from "../../services/transport/Transport.ts"
import type { ClientConfig } from "./config.ts"

/** What every client program runs on. */
export type ClientServices = FileStore | Hasher | Transport | ClientConfig | Scope.Scope

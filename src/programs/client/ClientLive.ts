import * as path from "node:path"
import * as Layer from "effect/Layer"
import { FileStoreLive } from "../../services/FileStoreLive.ts"
import { HasherLive } from "../../services/Hasher.ts"
import { BunTransportLive } from "../../services/transport/BunTransport.ts"
import { ClientConfig, type ClientSettings } from "./config.ts"
import { Trace } from "./trace.ts"

export interface ClientLiveOptions extends ClientSettings {
  /** The local folder, created when missing. */
  readonly folder: string
  /** `--trace`: where each line of the trace goes; absent, nothing is traced. */
  readonly trace?: ((line: string) => void) | undefined
}

/**
 * The client's composition root: everything a client program runs on, the
 * live services over the local `folder`, talking to `host:port`. Main, the
 * tests' clients, the bench and the soak build the client from this one place.
 */
export const ClientLive = ({ folder, host, port, timeoutSeconds, tls, trace }: ClientLiveOptions) =>
  Layer.mergeAll(
    FileStoreLive(path.resolve(folder)),
    HasherLive,
    BunTransportLive,
    Layer.succeed(ClientConfig, { host, port, timeoutSeconds, ...(tls === undefined ? {} : { tls }) }),
    trace === undefined ? Layer.empty : Layer.succeed(Trace, { line: trace })
  )

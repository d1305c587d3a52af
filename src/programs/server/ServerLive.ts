import * as path from "node:path"
import * as Layer from "effect/Layer"
import { FileStoreLive } from "../../services/FileStoreLive.ts"
import { HasherLive } from "../../services/Hasher.ts"
import { BunTransportLive } from "../../services/transport/BunTransport.ts"
import { PlainLogger } from "../logger.ts"
import { ServerConfig, type ServerSettings } from "./config.ts"

export interface ServerLiveOptions {
  /** The served folder, created when missing. */
  readonly folder: string
  readonly settings: ServerSettings
  /** Where the operation log goes (a layer that sets the loggers); by default plain lines on stdout. */
  readonly logger?: Layer.Layer<never>
}

/**
 * The server's composition root: everything `serveFolder` runs on, the live
 * services over `folder` with `settings`. Main and the test servers build
 * the server from this one place.
 */
export const ServerLive = ({ folder, settings, logger = PlainLogger }: ServerLiveOptions) =>
  Layer.mergeAll(
    FileStoreLive(path.resolve(folder)),
    HasherLive,
    BunTransportLive,
    Layer.succeed(ServerConfig, settings),
    logger
  )

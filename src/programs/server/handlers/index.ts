import type * as Effect from "effect/Effect"
import type { RequestTag } from "../../../domain/messages.ts"
import type { RequestOf } from "../../../domain/operations.ts"
import type { OperationError } from "../../../domain/statuses.ts"
import type { FileStore } from "../../../services/FileStore.ts"
import type { Hasher } from "../../../services/Hasher.ts"
import type { ServerConfig } from "../config.ts"
import { delivering } from "../delivery.ts"
import type { Exchange } from "../exchange.ts"
import { download } from "./download.ts"
import { downloadMany } from "./downloadMany.ts"
import { list } from "./list.ts"
import { resume } from "./resume.ts"
import { upload } from "./upload.ts"

/**
 * What a handler may use: the folder, the hasher, the settings. A handler
 * that holds resources across steps makes its own scope (`Effect.scoped`):
 * a connection has none until one is needed.
 */
export type HandlerServices = FileStore | Hasher | ServerConfig

/** Serves one request on its exchange; a failure was already told to the client where a status was due. */
export type Handler<Tag extends RequestTag> = (
  exchange: Exchange,
  request: RequestOf<Tag>
) => Effect.Effect<void, OperationError, HandlerServices>

/**
 * A handler whose reply carries a file to the client: its log line says
 * whether the client got it (delivery.ts). Not the listing: it carries no
 * file, and a balancer's health check reads its first status and drops the
 * connection, which is no failure to log.
 */
const delivered =
  <Tag extends RequestTag>(handler: Handler<Tag>): Handler<Tag> =>
  (exchange, request) =>
    delivering(exchange, handler(exchange, request))

/** The server's handler of each operation (their facts: domain/operations.ts). */
export const HANDLERS: { readonly [Tag in RequestTag]: Handler<Tag> } = {
  Download: delivered(download),
  List: list,
  Upload: upload,
  Resume: delivered(resume),
  DownloadMany: delivered(downloadMany)
}

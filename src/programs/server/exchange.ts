import * as Effect from "effect/Effect"
import { encodeStatus } from "../../domain/encode.ts"
import type { ClientEvent } from "../../domain/messages.ts"
import { type OperationError, type StatusPoint, statusFor } from "../../domain/statuses.ts"
import type { Wire } from "../wire.ts"

/** What one operation did, for its log line. */
export interface OperationRecord {
  op: string
  /** The name or mask asked for, as it came ("-" when the operation has none). */
  name: string
  bytes: number
  /** The bytes the operation is to move, once known (a file's size, an upload's declared size): for the live page. */
  total?: number
  result: string
  /** What the result leaves out, shown after it in parentheses ("2 arquivos"). */
  note?: string
  /** What the system said when the connection broke ("ECONNRESET: ..."): --log json only. */
  cause?: string
}

export interface Exchange {
  readonly wire: Wire<ClientEvent>
  readonly record: OperationRecord
}

/**
 * Runs the step that decides a status byte; if it fails, the peer is told
 * the status `statusFor` maps the failure to, and the failure goes on.
 */
export const deciding = <A, E extends OperationError, R>(
  exchange: Exchange,
  point: StatusPoint,
  step: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.tapError(step, (error) => {
    const status = statusFor(error, point)
    return status === undefined ? Effect.void : Effect.ignore(exchange.wire.send(encodeStatus(status)))
  })

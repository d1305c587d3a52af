import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ClientEvent, RequestTag } from "../../domain/messages.ts"
import { clientStream, operationFor, type RequestOf } from "../../domain/operations.ts"
import { MAX_NAME_BYTES } from "../../domain/protocol.ts"
import { withProxyHeader } from "../../domain/proxyHeader.ts"
import { describeRequestHead } from "../../domain/requestHead.ts"
import { logWord } from "../../domain/words.ts"
import type { Connection, Peer } from "../../services/transport/Transport.ts"
import { makeWire, type Wire } from "../wire.ts"
import type { ServerSettings } from "./config.ts"
import { deciding, type Exchange } from "./exchange.ts"
import { HANDLERS, type Handler } from "./handlers/index.ts"
import { CUT_BY_SHUTDOWN, INTERNAL_FAILURE, recordFailure } from "./logLine.ts"
import type { ServerObserver } from "./observer.ts"
import type { OperationLog } from "./operationLog.ts"

/** The handler of a request, with its log line's operation word and name. */
const dispatch = <Tag extends RequestTag>(exchange: Exchange, request: RequestOf<Tag>) => {
  const operation = operationFor(request)
  exchange.record.op = operation.word
  const subject = operation.subject(request)
  if (subject !== undefined) exchange.record.name = logWord(subject)
  return (HANDLERS[request._tag as Tag] as Handler<Tag>)(exchange, request)
}

/** Opcode, length and the longest name: all a log line needs from a request that was refused. */
const HEAD_BYTES = 1 + 4 + MAX_NAME_BYTES

/**
 * The wire of a connection the server reads (a PROXY header first when
 * behind a balancer). It keeps the first bytes, so that when a request is
 * refused before it is fully read (an invalid name, an unknown opcode, a
 * cut) the log still says what it asked for. Behind a balancer those bytes
 * begin with the header, so such a request is logged without its name.
 */
export const serverWire = (
  connection: Connection,
  config: Pick<ServerSettings, "proxyProtocol" | "idleSeconds">,
  clock: Clock.Clock
): Wire<ClientEvent> =>
  makeWire(
    connection,
    config.proxyProtocol
      ? withProxyHeader<ClientEvent>(clientStream, (header) => ({ _tag: "Proxy", header }))
      : clientStream(),
    { idleSeconds: config.idleSeconds, clock, headBytes: HEAD_BYTES }
  )

/** What every connection's operation shares: the settings, the log, the clock, what is in flight, who watches. */
export interface OperationContext {
  readonly config: ServerSettings
  readonly log: OperationLog
  readonly clock: Clock.Clock
  readonly activity: Activity
  /** Undefined when nothing watches (no --metricas): then no call is made. */
  readonly observer?: ServerObserver | undefined
}

/** Operations in flight, how many ended and how many a shutdown cut: for the shutdown messages and the idle collection. */
export interface Activity {
  active: number
  ended: number
  cut: number
}

/**
 * One connection, one operation: read the request within the request
 * deadline, run its handler, write one log line. Every expected failure is
 * handled here, so nothing a client does reaches another connection; a
 * shutdown that cuts the operation when its grace period ends is logged
 * too, with what had moved.
 *
 * `peer` is who the client is (behind a balancer, the address its PROXY
 * header named); the request deadline counts from when the connection was
 * accepted, so bytes read before the request (that header) count toward it.
 */
export const handleConnection = (peer: Peer, wire: Wire<ClientEvent>, context: OperationContext) =>
  // The line is written however the operation ends, a shutdown's interruption included.
  Effect.uninterruptibleMask((restore) => {
    const { config, clock, activity, observer } = context
    const started = peer.openedAt
    const exchange: Exchange = { wire, record: { op: "?", name: "-", bytes: 0, total: 0, result: "ok" } }
    let dispatched = false
    const operation = Effect.flatMap(
      deciding(exchange, "Reply", wire.nextWithin("Request", config.requestSeconds, started)),
      (event) => {
        if (event._tag !== "Request") return Effect.dieMessage("a request always comes first")
        dispatched = true
        const handled = dispatch(exchange, event.request)
        observer?.operationStarted(peer.remote, exchange.record, started)
        return handled
      }
    )
    const logLine = () => {
      activity.active--
      activity.ended++
      const millis = clock.unsafeCurrentTimeMillis() - started
      context.log(started, peer.remote, exchange.record, millis, peer.certificate)
      observer?.operationEnded(peer.remote, exchange.record, started, millis)
    }
    activity.active++
    return Effect.matchCauseEffect(restore(operation), {
      onSuccess: () => {
        logLine()
        return Effect.void
      },
      onFailure: (cause) => {
        const record = exchange.record
        if (!dispatched) Object.assign(record, describeRequestHead(wire.head()))
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure)) recordFailure(record, failure.value, dispatched)
        else if (Cause.isInterruptedOnly(cause)) {
          // Only a shutdown interrupts an operation (when the grace period ends).
          activity.cut++
          record.result = CUT_BY_SHUTDOWN
        } else record.result = INTERNAL_FAILURE
        logLine()
        // An expected failure was told to the client where a status was due, and is
        // logged: it ends here. A defect or an interruption goes on.
        return Option.isSome(failure) ? Effect.void : Effect.failCause(cause as Cause.Cause<never>)
      }
    })
  })

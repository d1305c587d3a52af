import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { describeRequestHead, logWord } from "../../domain/describe.ts"
import { Timeout } from "../../domain/errors.ts"
import type { ClientEvent, RequestTag } from "../../domain/messages.ts"
import { clientStream, operationFor, type RequestOf } from "../../domain/operations.ts"
import { MAX_NAME_BYTES } from "../../domain/protocol.ts"
import { withProxyHeader } from "../../domain/proxyHeader.ts"
import type { Connection, Peer } from "../../services/transport/Transport.ts"
import { makeWire } from "../wire.ts"
import { ServerConfig, type ServerSettings } from "./config.ts"
import { deciding, type Exchange, type OperationRecord } from "./exchange.ts"
import { HANDLERS, type Handler } from "./handlers/index.ts"
import { CUT_BY_SHUTDOWN, recordFailure } from "./logLine.ts"
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
 * The connection, keeping a copy of its first HEAD_BYTES: when a request is
 * refused before it is fully read (an invalid name, an unknown opcode, a
 * cut), the log still says what it asked for.
 */
const keepingHead = (connection: Connection) => {
  let head = new Uint8Array(0)
  const keep = (segment: Option.Option<Uint8Array>) => {
    if (Option.isSome(segment) && head.length < HEAD_BYTES) {
      const more = segment.value.subarray(0, HEAD_BYTES - head.length)
      const joined = new Uint8Array(head.length + more.length)
      joined.set(head)
      joined.set(more, head.length)
      head = joined
    }
    return segment
  }
  const kept: Connection = {
    ...connection,
    read: (within) => Effect.map(connection.read(within), keep)
  }
  return { connection: kept, head: () => head }
}

/**
 * The wire of a connection the server reads (a PROXY header first when
 * behind a balancer), keeping the first bytes for the log of a refused
 * request. Behind a balancer those bytes begin with the header, so a request
 * refused before it was decoded is logged without its name.
 */
export const serverWire = (connection: Connection, config: Pick<ServerSettings, "proxyProtocol" | "idleSeconds">) => {
  const reading = keepingHead(connection)
  const grammar = config.proxyProtocol
    ? withProxyHeader<ClientEvent>(clientStream, (header) => ({ _tag: "Proxy", header }))
    : clientStream()
  return { wire: makeWire(reading.connection, grammar, config.idleSeconds), head: reading.head }
}

export type ServerWire = ReturnType<typeof serverWire>

/**
 * One connection, one operation: read the request within the request
 * deadline, run its handler, write one log line. Every expected failure is
 * handled here, so nothing a client does reaches another connection.
 *
 * `peer` is who the client is (behind a balancer, the address its PROXY
 * header named); `started` is when the connection was accepted, so bytes read
 * before the request (that header) count toward the request deadline.
 */
export const handleConnection = (peer: Peer, reading: ServerWire, log: OperationLog) =>
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const started = peer.openedAt
    const exchange: Exchange = {
      wire: reading.wire,
      record: { op: "?", name: "-", bytes: 0, result: "ok" }
    }
    let dispatched = false
    const logNow = (record: OperationRecord) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => log(started, peer.remote, record, now - started))
      )
    // Cut by a shutdown (the grace period ended): the line says so, with what had moved.
    // (A plain scope finalizer: Effect.addFinalizer's FiberRef bookkeeping costs more than the log.)
    const scope = yield* Effect.scope
    yield* Scope.addFinalizerExit(scope, (exit) =>
      Exit.isInterrupted(exit)
        ? logNow({
            ...exchange.record,
            ...(dispatched ? {} : describeRequestHead(reading.head())),
            result: CUT_BY_SHUTDOWN
          })
        : Effect.void
    )
    // A request that is already here is taken even when the budget is spent.
    const left = Math.max(0, config.requestSeconds - ((yield* Clock.currentTimeMillis) - started) / 1000)
    const outcome = yield* Effect.either(
      Effect.gen(function* () {
        const event = yield* deciding(
          exchange,
          "Reply",
          exchange.wire.nextWithin("Request", left).pipe(
            // Reported as the whole deadline, not the part left of it.
            Effect.mapError((error) =>
              error._tag === "Timeout" ? new Timeout({ phase: "Request", seconds: config.requestSeconds }) : error
            )
          )
        )
        if (event._tag !== "Request") return yield* Effect.dieMessage("a request always comes first")
        dispatched = true
        yield* dispatch(exchange, event.request)
      })
    )
    if (Either.isLeft(outcome)) {
      if (!dispatched) Object.assign(exchange.record, describeRequestHead(reading.head()))
      recordFailure(exchange.record, outcome.left, dispatched)
    }
    yield* logNow(exchange.record)
  })

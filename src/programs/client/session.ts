import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { concat } from "../../domain/encode.ts"
import { ProtocolViolation } from "../../domain/errors.ts"
import type { Request, ServerEvent } from "../../domain/messages.ts"
import { replyTo, requestFields } from "../../domain/operations.ts"
import type { ByteSink } from "../../services/ByteSink.ts"
import { Transport } from "../../services/transport/Transport.ts"
import { delegating, makeWire, type Wire, withDeadline } from "../wire.ts"
import { ClientConfig, type ProgressSink } from "./config.ts"
import { hex, receivedLine, sentLine, Trace } from "./trace.ts"

/** Wraps a wire so that every field sent and received is shown (`--trace`). */
const traced = (wire: Wire<ServerEvent>, line: (text: string) => void): Wire<ServerEvent> => {
  let sentData = 0
  let receivedData = 0
  const flushSent = () => {
    if (sentData > 0) line(`→ ${"dados enviados".padEnd(18)} ${sentData} bytes`)
    sentData = 0
  }
  return {
    ...delegating(wire),
    send: (bytes, label) =>
      Effect.zipRight(
        Effect.sync(() => {
          if (label !== undefined) return line(sentLine({ label, bytes }))
          if (sentData === 0) line(`→ ${"dados (início)".padEnd(18)} ${hex(bytes)}`)
          sentData += bytes.length
        }),
        wire.send(bytes, label)
      ),
    passBody: (sink, dataOf) =>
      wire.passBody(
        {
          write: (bytes) => {
            if (receivedData === 0) line(`← ${"dados (início)".padEnd(18)} ${hex(bytes)}`)
            receivedData += bytes.length
            return sink.write(bytes)
          }
        },
        dataOf
      ),
    sendFrom: (source, length, onSent) =>
      wire.sendFrom(
        {
          buffer: source.buffer,
          fill: (into) => {
            const filled = source.fill(into)
            if (sentData === 0 && Either.isRight(filled))
              line(`→ ${"dados (início)".padEnd(18)} ${hex(into.subarray(0, filled.right))}`)
            return filled
          }
        },
        length,
        (bytes) => {
          sentData += bytes
          onSent?.(bytes)
        }
      ),
    next: Effect.tap(wire.next, (event) => {
      flushSent()
      if (event._tag === "Data") {
        if (receivedData === 0) line(`← ${"dados (início)".padEnd(18)} ${hex(event.bytes)}`)
        receivedData += event.bytes.length
        return
      }
      if (event._tag === "End") {
        line(`← ${"fim dos dados".padEnd(18)} ${receivedData} bytes recebidos`)
        receivedData = 0
        return
      }
      const text = receivedLine(event)
      if (text !== undefined) line(text)
    })
  }
}

/**
 * A wire whose first event, when the connection ends before a single byte
 * of the reply, fails with `NoReply` instead of `Truncated`: what a plain
 * client sees from a TLS server, or a TLS client whose certificate the
 * server refused after the handshake. Later events are the wire's own.
 */
const noReplyFirst = (wire: Wire<ServerEvent>): Wire<ServerEvent> => {
  let answered = false
  const first = Effect.tap(
    Effect.mapError(wire.next, (error) =>
      error._tag === "ProtocolViolation" && error.reason === "Truncated"
        ? new ProtocolViolation({ reason: "NoReply", detail: "a conexão terminou antes da resposta" })
        : error
    ),
    () => {
      answered = true
    }
  )
  return { ...delegating(wire), next: Effect.suspend(() => (answered ? wire.next : first)) }
}

/** Connects (within the deadline), sends the request, and decodes the reply of its operation. */
export const openExchange = (request: Request) =>
  Effect.gen(function* () {
    const transport = yield* Transport
    const config = yield* ClientConfig
    const connection = yield* transport
      .connect(config.host, config.port, config.tls)
      .pipe(withDeadline("Connect", config.timeoutSeconds))
    const trace = yield* Effect.serviceOption(Trace)
    const plain = noReplyFirst(
      makeWire(connection, replyTo(request), {
        idleSeconds: config.timeoutSeconds,
        clock: yield* Effect.clock
      })
    )
    const wire = Option.isSome(trace) ? traced(plain, trace.value.line) : plain
    const fields = requestFields(request)
    if (Option.isSome(trace)) {
      trace.value.line(
        `conectado a ${connection.remote}${config.tls === undefined ? "" : " (TLS: abaixo, o protocolo dentro do TLS)"}`
      )
      for (const field of fields) trace.value.line(sentLine(field))
    }
    // Cancelled (Ctrl+C) before the reply was read whole: the connection is dropped with a
    // reset, so what the server still sends is never delivered and its log does not take the
    // cancel for a client that read everything and closed (PROTOCOL.md §7). Once the reply was
    // read whole, the close is the orderly one (FIN), however the command ends.
    yield* Effect.addFinalizer((exit) => (Exit.isInterrupted(exit) && !plain.complete() ? plain.abort : Effect.void))
    yield* plain.send(concat(fields.map((field) => field.bytes)))
    return wire
  })

type EventOf<T extends ServerEvent["_tag"]> = Extract<ServerEvent, { readonly _tag: T }>

/** The next event, which the grammar guarantees is one of `tags`. */
export const nextOf = <const T extends ServerEvent["_tag"]>(wire: Wire<ServerEvent>, ...tags: ReadonlyArray<T>) =>
  Effect.flatMap(wire.next, (event) =>
    (tags as ReadonlyArray<string>).includes(event._tag)
      ? Effect.succeed(event as EventOf<T>)
      : Effect.dieMessage(`decoder produced ${event._tag}, expected ${tags.join(" or ")}`)
  )

export const nextStatus = (wire: Wire<ServerEvent>) => Effect.map(nextOf(wire, "Status"), (event) => event.status)

const dataOf = (event: ServerEvent) => (event._tag === "Data" ? event.bytes : undefined)

/** Moves one body into `sink`, counting it in `progress`, and takes its End. */
export const receiveBody = <E>(wire: Wire<ServerEvent>, sink: ByteSink<E>, progress?: ProgressSink) =>
  Effect.zipRight(
    wire.passBody(
      progress === undefined
        ? sink
        : {
            write: (bytes) => {
              const written = sink.write(bytes)
              if (Either.isRight(written)) progress.advance(bytes.length)
              return written
            }
          },
      dataOf
    ),
    nextOf(wire, "End")
  )

/** A sink that keeps nothing: for a body whose bytes are not wanted, read to keep the framing. */
export const discard: ByteSink<never> = { write: () => Either.void }

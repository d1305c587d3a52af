import { Effect } from "effect"
import type { Grammar } from "../../domain/decoder.ts"
import { encodeRequest } from "../../domain/encode.ts"
import type { Request, ServerEvent } from "../../domain/messages.ts"
import { Transport } from "../../services/Transport.ts"
import { makeWire, withDeadline, type Wire } from "../wire.ts"
import { ClientConfig, type ProgressSink } from "./config.ts"

/** Connects (within the deadline), sends the request, and decodes the reply with `grammar`. */
export const openExchange = (request: Request, grammar: Grammar<ServerEvent>) =>
  Effect.gen(function* () {
    const transport = yield* Transport
    const config = yield* ClientConfig
    const connection = yield* transport
      .connect(config.host, config.port)
      .pipe(withDeadline("Connect", config.timeoutSeconds))
    const wire = makeWire(connection, grammar, config.timeoutSeconds)
    yield* wire.send(encodeRequest(request))
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

/** Hands every Data event of one body to `write`, until its End. */
export const receiveBody = <E, R>(
  wire: Wire<ServerEvent>,
  write: (bytes: Uint8Array) => Effect.Effect<void, E, R>,
  progress?: ProgressSink
) =>
  Effect.gen(function* () {
    for (;;) {
      const event = yield* nextOf(wire, "Data", "End")
      if (event._tag === "End") return
      yield* write(event.bytes)
      progress?.advance(event.bytes.length)
    }
  })

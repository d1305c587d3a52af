import * as Cause from "effect/Cause"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { Decoder } from "../../domain/decoder.ts"
import { logWord } from "../../domain/describe.ts"
import { concat, encodeStatusSize } from "../../domain/encode.ts"
import { type FileFailure, Timeout } from "../../domain/errors.ts"
import { clientStream } from "../../domain/grammars.ts"
import type { ClientEvent } from "../../domain/messages.ts"
import { fitsU32, Opcode, Status } from "../../domain/protocol.ts"
import { peerOf, withProxyHeader } from "../../domain/proxyHeader.ts"
import type { FileStoreService } from "../../services/FileStore.ts"
import type { Quick } from "../../services/transport/Transport.ts"
import type { Admissions } from "./admission.ts"
import type { ServerSettings } from "./config.ts"
import { OPERATION_NAMES } from "./connection.ts"
import { COALESCE, type OperationRecord } from "./exchange.ts"
import { CUT_BY_SHUTDOWN, recordFailure } from "./logLine.ts"
import type { OperationLog } from "./operationLog.ts"
import type { Activity } from "./server.ts"

export interface QuickDeps {
  readonly config: Pick<ServerSettings, "requestSeconds" | "idleSeconds" | "proxyProtocol">
  readonly store: FileStoreService
  readonly admission: Admissions
  readonly allowed: (address: string) => boolean
  /** Behind a balancer (--protocolo-proxy): who may send a PROXY header. */
  readonly trusted: (address: string) => boolean
  readonly log: OperationLog
  readonly now: () => number
  readonly activity: Activity | undefined
}

/**
 * The quick path: op 10 answered from the socket's callback when the whole
 * request came in the first segment, without a fiber: a small file in one
 * write, a larger one from the socket's callbacks as the client reads it. It
 * keeps everything the fiber path keeps: the request is decoded by the same
 * grammar (the name rules included), the client passes --permitir and takes
 * its places under the limits, the file is opened through the same jail,
 * each stall of the reply is bounded by the idle deadline, and the operation
 * gets its one log line, the same as from `handleConnection`.
 *
 * Behind a balancer, the first segment must hold the PROXY header and the
 * whole request (HAProxy sends them together, most of the time); the
 * connection must come from a trusted proxy, and the client the header names
 * is the one --permitir, the per-address limit and the log see.
 *
 * Anything else (another op, a request in pieces, a refusal, a file that is
 * missing or too large for the protocol) is left to the fiber path, which
 * tells the client why.
 */
export const quickDownload = (deps: QuickDeps): Quick<Timeout | FileFailure> => {
  const { config, admission } = deps
  const idleTimeout = new Timeout({ phase: "Idle", seconds: config.idleSeconds })
  const within = { millis: config.idleSeconds * 1000, onIdle: () => idleTimeout }
  const proxied = config.proxyProtocol
  const grammar = proxied
    ? () => withProxyHeader<ClientEvent>(clientStream, (header) => ({ _tag: "Proxy", header }))
    : clientStream
  return {
    // A silent client costs no fiber until its request deadline; then the fiber path fails it.
    firstSegmentMillis: config.requestSeconds * 1000,
    // The same limits as the fiber path, taken as the connection is accepted; behind a
    // balancer, only the total's place: the client's address comes with its header.
    admit: (peer) =>
      proxied
        ? deps.trusted(peer.address) && admission.placeNow()
        : deps.allowed(peer.address) && admission.enterNow(peer.address),
    release: (peer) => (proxied ? admission.leavePlaceNow() : admission.leaveNow(peer.address)),
    answer: (peer, first) => {
      if (!proxied && first[0] !== Opcode.Download) return undefined
      const decoder = new Decoder(grammar())
      const events = decoder.feed(first)
      if (Either.isLeft(events) || !decoder.isDone || decoder.bufferedBytes > 0) return undefined
      let client: { readonly remote: string; readonly address: string } = peer
      let event = events.right[0]
      if (proxied) {
        if (event?._tag !== "Proxy") return undefined
        client = peerOf(event.header, peer)
        event = events.right[1]
      }
      if (event?._tag !== "Request" || event.request._tag !== "Download") return undefined
      if (proxied && !(deps.allowed(client.address) && admission.addressNow(client.address))) return undefined
      // From here the client holds both places: given back in `done`, or now if the fiber path takes over.
      const leave = () => admission.leaveNow(client.address)
      const giveBack = () => {
        if (proxied) admission.leaveAddressNow(client.address)
      }
      const name = event.request.name
      const file = deps.store.openNow(name)
      if (file === undefined) {
        giveBack()
        return undefined
      }
      if (!fitsU32(file.size)) {
        file.close()
        giveBack()
        return undefined
      }
      // A small file is read whole and closed now; a larger one stays open for its body, until done.
      const small = file.size <= COALESCE
      const bytes = small ? file.readAll() : undefined
      if (small) file.close()
      if (small && bytes === undefined) {
        giveBack()
        return undefined
      }
      const activity = deps.activity
      if (activity !== undefined) activity.active++
      const record: OperationRecord = { op: OPERATION_NAMES.Download, name: logWord(name), bytes: 0, result: "ok" }
      const header = encodeStatusSize(Status.Ok, file.size)
      return {
        reply: bytes === undefined ? header : concat([header, bytes]),
        body:
          bytes === undefined
            ? { source: file.source(), length: file.size, onSent: (sent) => void (record.bytes += sent) }
            : undefined,
        within,
        done: (exit) => {
          if (!small) file.close()
          leave()
          if (Exit.isSuccess(exit)) record.bytes = file.size
          else if (Cause.isInterruptedOnly(exit.cause)) record.result = CUT_BY_SHUTDOWN
          else {
            const failure = Cause.failureOption(exit.cause)
            if (Option.isSome(failure)) recordFailure(record, failure.value, true)
            else record.result = "falha: erro interno"
          }
          if (activity !== undefined) {
            activity.active--
            if (record.result === CUT_BY_SHUTDOWN) activity.cut++
          }
          deps.log(peer.openedAt, client.remote, record, deps.now() - peer.openedAt)
        }
      }
    }
  }
}

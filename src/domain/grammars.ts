import * as Either from "effect/Either"
import { body, emit, fail, type Grammar, take, u8, u32 } from "./decoder.ts"
import { parseListing } from "./listing.ts"
import { maskMatcher } from "./mask.ts"
import { type ClientEvent, Data, End, type ManifestEntry, type ServerEvent } from "./messages.ts"
import { describeNameProblem, type NameProblem, parseMask, parseName } from "./names.ts"
import {
  MAX_LISTING_BYTES,
  MAX_MANY_MATCHES,
  MAX_NAME_BYTES,
  Status,
  TLS_ALERT_RECORD,
  TLS_HANDSHAKE_RECORD
} from "./protocol.ts"

/**
 * The grammars of both directions, as pieces: the fields requests are made
 * of, and the reply of each operation. Which operation reads which is the
 * registry's (operations.ts): the server decodes its `clientStream`; a client
 * decodes the reply of the operation it asked for.
 */

export const hex = (n: number) => `0x${n.toString(16).padStart(2, "0")}`

/** A 32-bit length followed by that many bytes, checked before anything is read or allocated. */
function* lengthPrefixed<E>(what: string): Grammar<E, Uint8Array> {
  const length = yield* u32<E>()
  if (length === 0 || length > MAX_NAME_BYTES) {
    return yield* fail("BadLength", `${what}: comprimento ${length} fora de 1..${MAX_NAME_BYTES}`)
  }
  return yield* take<E>(length)
}

function* validated<E>(
  parsed: Either.Either<string, NameProblem>,
  reason: "InvalidName" | "InvalidMask"
): Grammar<E, string> {
  if (Either.isLeft(parsed)) return yield* fail(reason, describeNameProblem(parsed.left))
  return parsed.right
}

/** A name field: a length, then the name, which must pass the name rules. */
export function* nameField<E>(): Grammar<E, string> {
  return yield* validated<E>(parseName(yield* lengthPrefixed<E>("nome")), "InvalidName")
}

/** The mask field of op 50: a length, then the mask, which must pass the mask rules. */
export function* maskField<E>(): Grammar<E, string> {
  return yield* validated<E>(parseMask(yield* lengthPrefixed<E>("máscara")), "InvalidMask")
}

/** What follows an upload's request: the size, then the body. */
export function* uploadBody(): Grammar<ClientEvent> {
  const size = yield* u32<ClientEvent>()
  yield* emit<ClientEvent>({ _tag: "Size", size })
  return yield* body<ClientEvent>(size, Data, End)
}

function* status(allowed: ReadonlyArray<number>): Grammar<ServerEvent, number> {
  const value = yield* u8<ServerEvent>()
  if (!allowed.includes(value)) {
    if (value === TLS_ALERT_RECORD || value === TLS_HANDSHAKE_RECORD) {
      return yield* fail("TlsSpoken", `o servidor respondeu em TLS (${hex(value)}): ele exige TLS`)
    }
    return yield* fail("UnexpectedStatus", `status inesperado ${hex(value)}`)
  }
  yield* emit<ServerEvent>({ _tag: "Status", status: value })
  return value
}

function* sizedBody(): Grammar<ServerEvent> {
  const size = yield* u32<ServerEvent>()
  yield* emit<ServerEvent>({ _tag: "Size", size })
  yield* body<ServerEvent>(size, Data, End)
}

/** op 10 reply: status, then size and data when the status is 0. */
export function* downloadReply(): Grammar<ServerEvent> {
  if ((yield* status([Status.Ok, Status.Error])) === Status.Ok) yield* sizedBody()
}

/** op 20 reply: status, then the JSON listing, validated. */
export function* listReply(maxBytes: number = MAX_LISTING_BYTES): Grammar<ServerEvent> {
  if ((yield* status([Status.Ok, Status.Error])) !== Status.Ok) return
  const length = yield* u32<ServerEvent>()
  if (length > maxBytes)
    return yield* fail("LengthTooLarge", `listagem de ${length} bytes passa do limite de ${maxBytes}`)
  let json: string
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(yield* take<ServerEvent>(length))
  } catch {
    return yield* fail("InvalidListing", "a listagem não é UTF-8 válido")
  }
  const entries = parseListing(json)
  if (Either.isLeft(entries)) return yield* fail("InvalidListing", entries.left)
  yield* emit<ServerEvent>({ _tag: "Listing", entries: entries.right, json })
}

/** op 30 reply: accepted or refused; after the data, stored or failed. */
export function* uploadReply(): Grammar<ServerEvent> {
  if ((yield* status([Status.Ok, Status.Error])) === Status.Ok) yield* status([Status.Ok, Status.Error])
}

/** op 40 reply: accepted or refused; then ok (with the rest), not found, or hash mismatch. */
export function* resumeReply(): Grammar<ServerEvent> {
  if ((yield* status([Status.Ok, Status.Error])) !== Status.Ok) return
  if ((yield* status([Status.Ok, Status.NotFound, Status.HashMismatch])) === Status.Ok) yield* sizedBody()
}

/**
 * op 50 reply. Every announced name must be valid, match the mask the client
 * sent, and appear once; otherwise the server is lying and decoding stops.
 */
export function* downloadManyReply(mask: string, maxMatches: number = MAX_MANY_MATCHES): Grammar<ServerEvent> {
  const first = yield* status([Status.Ok, Status.Error, Status.TooManyMatches])
  if (first === Status.Error) return
  if (first === Status.TooManyMatches) {
    const matches = yield* u32<ServerEvent>()
    const cap = yield* u32<ServerEvent>()
    return yield* emit<ServerEvent>({ _tag: "Limit", matches, cap })
  }
  const count = yield* u32<ServerEvent>()
  if (count > maxMatches) return yield* fail("LengthTooLarge", `${count} arquivos anunciados; o limite é ${maxMatches}`)
  const matches = maskMatcher(mask)
  const seen = new Set<string>()
  const entries: Array<ManifestEntry> = []
  for (let i = 0; i < count; i++) {
    const name = yield* nameField<ServerEvent>()
    if (!matches(name))
      return yield* fail("UnexpectedName", `o servidor anunciou "${name}", que não casa com a máscara`)
    if (seen.has(name)) return yield* fail("UnexpectedName", `o servidor anunciou "${name}" duas vezes`)
    seen.add(name)
    entries.push({ name, size: yield* u32<ServerEvent>() })
  }
  yield* emit<ServerEvent>({ _tag: "Manifest", entries })
  for (let index = 0; index < count; index++) {
    const fileStatus = yield* u8<ServerEvent>()
    if (fileStatus === Status.Ok) {
      const size = yield* u32<ServerEvent>()
      yield* emit<ServerEvent>({ _tag: "FileStart", index, size })
      yield* body<ServerEvent>(size, Data, End)
    } else if (fileStatus === Status.Error) {
      yield* emit<ServerEvent>({ _tag: "FileSkipped", index })
    } else {
      return yield* fail("UnexpectedStatus", `status inesperado ${hex(fileStatus)} para o arquivo ${index + 1}`)
    }
  }
}

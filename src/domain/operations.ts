import { emit, fail, type Grammar, take, u8, u32 } from "./decoder.ts"
import { concat, u32 as encodeU32, type Field, field, lengthAndText, nameFields } from "./encode.ts"
import {
  downloadManyReply,
  downloadReply,
  hex,
  listReply,
  maskField,
  nameField,
  resumeReply,
  uploadBody,
  uploadReply
} from "./grammars.ts"
import type { ClientEvent, Request, RequestTag, ServerEvent } from "./messages.ts"
import { MD5_BYTES, Opcode, TLS_HANDSHAKE_RECORD } from "./protocol.ts"

/** The request of the operation tagged `Tag`. */
export type RequestOf<Tag extends RequestTag> = Extract<Request, { readonly _tag: Tag }>

/**
 * Everything the protocol says about one operation, in one place: the
 * server decodes requests, the client encodes them and decodes the reply,
 * the log and the person see its word, all from this record. The server's
 * handler of each operation is in programs/server/handlers (its table:
 * handlers/index.ts), the client's program in programs/client.
 */
export interface Operation<Tag extends RequestTag> {
  readonly tag: Tag
  readonly opcode: Opcode
  /** Its word (WORDS): "baixar". */
  readonly word: OperationWord
  /** Whether a length-prefixed name (or mask) follows the opcode: what a cut request's log line can show. */
  readonly named: boolean
  /** What follows the opcode, as the server decodes it: the `Request` event, and what comes after it. */
  readonly request: () => Grammar<ClientEvent>
  /** The request's fields after the opcode, in wire order, each with its label (encoding and --trace). */
  readonly fields: (request: RequestOf<Tag>) => ReadonlyArray<Field>
  /** The reply a client decodes. */
  readonly reply: (request: RequestOf<Tag>) => Grammar<ServerEvent>
  /** The name or mask the request is about, for its log line; undefined when it has none. */
  readonly subject: (request: RequestOf<Tag>) => string | undefined
}

/** Each operation's word: in the log, the client's commands, the judge's `{op}` and the documents. */
export const WORDS = {
  Download: "baixar",
  List: "listar",
  Upload: "enviar",
  Resume: "retomar",
  DownloadMany: "baixar-varios"
} as const satisfies { readonly [Tag in RequestTag]: string }

export type OperationWord = (typeof WORDS)[RequestTag]

function* requested(request: Request): Grammar<ClientEvent> {
  yield* emit<ClientEvent>({ _tag: "Request", request })
}

export const OPERATIONS: { readonly [Tag in RequestTag]: Operation<Tag> } = {
  Download: {
    tag: "Download",
    opcode: Opcode.Download,
    word: WORDS.Download,
    named: true,
    request: function* () {
      yield* requested({ _tag: "Download", name: yield* nameField() })
    },
    fields: (request) => nameFields(request.name),
    reply: () => downloadReply(),
    subject: (request) => request.name
  },
  List: {
    tag: "List",
    opcode: Opcode.List,
    word: WORDS.List,
    named: false,
    request: () => requested({ _tag: "List" }),
    fields: () => [],
    reply: () => listReply(),
    subject: () => undefined
  },
  Upload: {
    tag: "Upload",
    opcode: Opcode.Upload,
    word: WORDS.Upload,
    named: true,
    request: function* () {
      yield* requested({ _tag: "Upload", name: yield* nameField() })
      yield* uploadBody()
    },
    fields: (request) => nameFields(request.name),
    reply: () => uploadReply(),
    subject: (request) => request.name
  },
  Resume: {
    tag: "Resume",
    opcode: Opcode.Resume,
    word: WORDS.Resume,
    named: true,
    request: function* () {
      const name = yield* nameField<ClientEvent>()
      const position = yield* u32<ClientEvent>()
      const md5 = yield* take<ClientEvent>(MD5_BYTES)
      yield* requested({ _tag: "Resume", name, position, md5 })
    },
    fields: (request) => {
      if (request.md5.length !== MD5_BYTES) throw new RangeError("an MD5 digest has 16 bytes")
      return [...nameFields(request.name), field("posição", encodeU32(request.position)), field("md5", request.md5)]
    },
    reply: () => resumeReply(),
    subject: (request) => request.name
  },
  DownloadMany: {
    tag: "DownloadMany",
    opcode: Opcode.DownloadMany,
    word: WORDS.DownloadMany,
    named: true,
    request: function* () {
      yield* requested({ _tag: "DownloadMany", mask: yield* maskField() })
    },
    fields: (request) => lengthAndText("tamanho da máscara", "máscara", request.mask),
    reply: (request) => downloadManyReply(request.mask),
    subject: (request) => request.mask
  }
}

/** The operation of an opcode, if it is one. */
export const operationOf = (opcode: number): Operation<RequestTag> | undefined => BY_OPCODE.get(opcode)

const BY_OPCODE = new Map<number, Operation<RequestTag>>(
  Object.values(OPERATIONS).map((operation) => [operation.opcode, operation as Operation<RequestTag>])
)

/** The record of `request`'s operation, typed for it. */
export const operationFor = <Tag extends RequestTag>(request: RequestOf<Tag>): Operation<Tag> =>
  OPERATIONS[request._tag as Tag] as unknown as Operation<Tag>

/** Everything a client sends, as the server reads it: the opcode picks the operation's grammar. */
export function* clientStream(): Grammar<ClientEvent> {
  const opcode = yield* u8<ClientEvent>()
  const operation = operationOf(opcode)
  if (operation === undefined) {
    return opcode === TLS_HANDSHAKE_RECORD
      ? yield* fail("TlsSpoken", "o cliente iniciou TLS, e este servidor não usa TLS")
      : yield* fail("UnknownOpcode", `operação desconhecida ${hex(opcode)}`)
  }
  return yield* operation.request()
}

/** The fields of a request, in wire order, each with its Portuguese label. */
export const requestFields = (request: Request): ReadonlyArray<Field> => {
  const operation = operationFor(request)
  return [field("operação", Uint8Array.of(operation.opcode)), ...operation.fields(request)]
}

export const encodeRequest = (request: Request): Uint8Array => concat(requestFields(request).map((f) => f.bytes))

/** The reply grammar of `request`. */
export const replyTo = (request: Request): Grammar<ServerEvent> => operationFor(request).reply(request)

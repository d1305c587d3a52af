import { concat, u32 } from "../domain/encode.ts"
import { type Context, endingText, failWith, hex } from "./check.ts"
import type { Probe, ReadResult } from "./probe.ts"

/**
 * Exchanges the checks are built from: raw requests out, raw replies back,
 * and sentences that say what was sent, what came back and what was expected.
 */

const utf8 = new TextEncoder()

export const bytesOf = (text: string): Uint8Array => utf8.encode(text)

/** op + u32 length + raw name bytes (names that are not valid text, or lengths that lie). */
export const rawNamed = (op: number, name: Uint8Array, declared = name.length): Uint8Array =>
  concat([Uint8Array.of(op), u32(declared), name])

export const md5 = (bytes: Uint8Array): Uint8Array => new Uint8Array(new Bun.CryptoHasher("md5").update(bytes).digest())

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length &&
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0

export const readU32 = (bytes: Uint8Array, offset: number): number =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(offset, false)

/** Deterministic pseudo-random content (so a failure is reproducible). */
export const content = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** The last `n` bytes, in hex, for a diagnosis of where a body ended. */
export const tail = (bytes: Uint8Array, n = 8): string =>
  bytes.length === 0
    ? "(nada)"
    : `${bytes.length > n ? "… " : ""}${hex(bytes.subarray(Math.max(0, bytes.length - n)), n)}`

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/**
 * Why a length-prefixed body does not match its declared length, or undefined
 * when it does: bytes after the declared end, or an end before it. Said before
 * anything about the content, since a wrong length garbles everything after it.
 */
export const lengthProblem = (
  what: string,
  declared: number,
  body: ReadResult,
  extra: Uint8Array
): string | undefined => {
  if (!body.complete)
    return `${what}: comprimento declarado ${declared}, mas só chegaram ${plural(body.bytes.length, "byte", "bytes")} (${endingText(body.ending)}); últimos bytes recebidos: ${tail(body.bytes)}. O comprimento deve contar exatamente os bytes enviados (em UTF-8, não em caracteres).`
  if (extra.length > 0)
    return `${what}: comprimento declarado ${declared}, mas chegaram ${declared + extra.length} bytes (${plural(extra.length, "byte", "bytes")} depois do fim declarado: ${hex(extra, 8)}); últimos bytes dentro do comprimento: ${tail(body.bytes)}. O comprimento deve contar exatamente os bytes enviados (em UTF-8, não em caracteres).`
  return undefined
}

/** Bytes that arrive after a reply's declared end, waiting briefly (a server that closes ends the wait at once). */
export const bytesAfter = async (probe: Probe): Promise<Uint8Array> => {
  await probe.waitEnd(200)
  return (await probe.read(probe.pending, 0)).bytes
}

/** Short description of a request for messages: the first bytes in hex. */
export const sent = (bytes: Uint8Array): string => `enviado ${hex(bytes, 16)}`

/** Sends one request and collects everything until the server closes (bounded). */
export const exchange = async (
  context: Context,
  bytes: Uint8Array,
  millis = context.replyMillis
): Promise<ReadResult> => {
  const probe = await context.connect()
  try {
    await probe.write(bytes)
    return await probe.readToEnd(millis)
  } finally {
    probe.destroy()
  }
}

/**
 * The reply must be exactly `expected` (the server may keep the connection
 * open only while it drains). `replyMillis`: how long the reply may take to
 * start, when the request makes the server work more than a usual one.
 */
export const expectReply = async (
  context: Context,
  bytes: Uint8Array,
  expected: Uint8Array,
  what: string,
  replyMillis = context.replyMillis
) => {
  const probe = await context.connect()
  try {
    await probe.write(bytes)
    const head = await probe.read(expected.length, replyMillis)
    if (!sameBytes(head.bytes, expected)) {
      failWith(
        `${what}: ${sent(bytes)}; recebido ${hex(head.bytes)}${head.complete ? "" : ` (${endingText(head.ending)})`}; esperado ${hex(expected)}.`
      )
    }
    // Nothing more may follow: the reply is complete.
    const extra = await probe.read(1, 300)
    if (extra.bytes.length > 0) {
      failWith(
        `${what}: ${sent(bytes)}; depois da resposta esperada ${hex(expected)} vieram bytes a mais (${hex(extra.bytes)}).`
      )
    }
    if ((await probe.waitEnd(context.replyMillis)) === "open") {
      failWith(
        `${what}: ${sent(bytes)}; a resposta ${hex(expected)} veio certa, mas o servidor não fechou a conexão em ${context.replyMillis} ms.`
      )
    }
  } finally {
    probe.destroy()
  }
}

export interface UploadOutcome {
  readonly first: number | undefined
  readonly second: number | undefined
  readonly ending: string
  /** The connection was still open when the wait for a status ran out. */
  readonly timedOut: boolean
}

/** Time for `bytes` to cross loopback and reach the disk of a slow server (5 MB/s and the usual reply time). */
export const transferMillis = (context: Context, bytes: number) => context.replyMillis + Math.ceil(bytes / 5_000)

/** op 30: name, then size and data if accepted; both status bytes as they came. */
export const upload = async (context: Context, name: string | Uint8Array, data: Uint8Array): Promise<UploadOutcome> => {
  const probe = await context.connect()
  try {
    const nameBytes = typeof name === "string" ? bytesOf(name) : name
    await probe.write(rawNamed(30, nameBytes))
    const first = await probe.read(1, context.replyMillis)
    if (!first.complete)
      return {
        first: undefined,
        second: undefined,
        ending: endingText(first.ending),
        timedOut: first.ending === "open"
      }
    if (first.bytes[0] !== 0) return { first: first.bytes[0], second: undefined, ending: "", timedOut: false }
    await probe.write(concat([u32(data.length), data]), transferMillis(context, data.length))
    const second = await probe.read(1, transferMillis(context, data.length))
    return {
      first: 0,
      second: second.complete ? second.bytes[0] : undefined,
      ending: endingText(second.ending),
      timedOut: !second.complete && second.ending === "open"
    }
  } finally {
    probe.destroy()
  }
}

/** op 30 up to the first status only: nothing is sent even if the server accepts. */
export const uploadFirstStatus = async (context: Context, name: Uint8Array): Promise<number | undefined> => {
  const probe = await context.connect()
  try {
    await probe.write(rawNamed(30, name))
    const first = await probe.read(1, context.replyMillis)
    return first.complete ? first.bytes[0] : undefined
  } finally {
    probe.destroy()
  }
}

export const describeUpload = (outcome: UploadOutcome): string =>
  outcome.first === undefined
    ? `sem primeiro status (${outcome.ending})`
    : outcome.second === undefined && outcome.first === 0
      ? `primeiro status 0x00 e nenhum segundo status (${outcome.ending})`
      : outcome.first !== 0
        ? `primeiro status ${hex(Uint8Array.of(outcome.first))}`
        : `status ${hex(Uint8Array.of(outcome.first, outcome.second!))}`

export interface DownloadOutcome {
  readonly raw: Uint8Array
  readonly ending: string
  readonly status: number | undefined
  readonly size: number | undefined
  readonly data: Uint8Array | undefined
  /** Bytes that came after the declared size. */
  readonly extra?: Uint8Array
  /** Why the body does not match the declared size, when it does not. */
  readonly lengthProblem?: string
}

/** op 10, read as a student's client would: status, size, then exactly that many bytes. */
export const download = async (
  context: Context,
  name: string | Uint8Array,
  millis = context.replyMillis
): Promise<DownloadOutcome> => {
  const probe = await context.connect()
  try {
    const nameBytes = typeof name === "string" ? bytesOf(name) : name
    await probe.write(rawNamed(10, nameBytes))
    const head = await probe.read(1, millis)
    if (!head.complete)
      return { raw: head.bytes, ending: endingText(head.ending), status: undefined, size: undefined, data: undefined }
    const status = head.bytes[0]!
    if (status !== 0) {
      const rest = await probe.read(64, 200)
      return {
        raw: concat([head.bytes, rest.bytes]),
        ending: endingText(rest.ending),
        status,
        size: undefined,
        data: undefined
      }
    }
    const sizeBytes = await probe.read(4, millis)
    if (!sizeBytes.complete) {
      return {
        raw: concat([head.bytes, sizeBytes.bytes]),
        ending: endingText(sizeBytes.ending),
        status,
        size: undefined,
        data: undefined
      }
    }
    const size = readU32(sizeBytes.bytes, 0)
    const data = await probe.read(size, millis + Math.ceil(size / 5_000))
    const extra = data.complete ? await bytesAfter(probe) : new Uint8Array(0)
    const problem = lengthProblem("op 10", size, data, extra)
    return {
      raw: concat([head.bytes, sizeBytes.bytes]),
      ending: endingText(data.ending),
      status,
      size,
      data: data.bytes,
      extra,
      ...(problem === undefined ? {} : { lengthProblem: problem })
    }
  } finally {
    probe.destroy()
  }
}

/** The probe's reply to op 20: status, declared length, and the text. */
export const listing = async (context: Context) => {
  const probe: Probe = await context.connect()
  try {
    await probe.write(Uint8Array.of(20))
    const head = await probe.read(5, context.replyMillis)
    if (!head.complete || head.bytes[0] !== 0) {
      return failWith(
        `op 20: enviado 14; recebido ${hex(head.bytes)} (${endingText(head.ending)}); esperado 00 seguido do comprimento u32 e do JSON.`
      )
    }
    const length = readU32(head.bytes, 1)
    const body = await probe.read(length, transferMillis(context, length))
    const extra = body.complete ? await bytesAfter(probe) : new Uint8Array(0)
    const problem = lengthProblem("op 20 (listagem)", length, body, extra)
    if (problem !== undefined) return failWith(`${problem}`)
    return { length, body: body.bytes }
  } finally {
    probe.destroy()
  }
}

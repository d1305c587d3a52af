import { concat, u32 } from "../../../domain/encode.ts"
import type { Request } from "../../../domain/messages.ts"
import { failWith, hex } from "../../check.ts"
import { readU32 } from "../../session.ts"
import { firstConnection, type Seen, sentByClient } from "../scenario.ts"

/** The request the client sent, read with the protocol's grammar, checked against what the scenario asked. */

const utf8 = new TextEncoder()
const OPS: Record<Request["_tag"], number> = { Download: 10, List: 20, Upload: 30, Resume: 40, DownloadMany: 50 }

/** Why a name field went wrong: a length in characters instead of bytes is the usual one. */
const nameHint = (raw: Uint8Array, name: string): string => {
  if (raw.length < 5) return ""
  const declared = readU32(raw, 1)
  const bytes = utf8.encode(name).length
  if (declared === name.length && declared !== bytes)
    return ` O comprimento declarado (${declared}) é o número de caracteres; o protocolo pede o número de bytes em UTF-8 (${bytes}).`
  const little = new DataView(raw.buffer, raw.byteOffset, raw.length).getUint32(1, true)
  if (little === bytes && declared !== bytes) return " O comprimento parece little-endian; o enunciado pede big endian."
  return ""
}

export const expectRequest = <T extends Request["_tag"]>(
  seen: Seen,
  tag: T,
  name: string | undefined
): Extract<Request, { _tag: T }> => {
  const connection = firstConnection(seen)
  const op = OPS[tag]
  const expected =
    name === undefined
      ? Uint8Array.of(op)
      : concat([Uint8Array.of(op), u32(utf8.encode(name).length), utf8.encode(name)])
  if (connection.problem !== undefined)
    failWith(
      `o pedido não segue o protocolo (${connection.problem}): ${sentByClient(connection)}; esperado ${hex(expected)}${tag === "Resume" ? " e a posição e o MD5" : ""}.${nameHint(connection.raw, name ?? "")}`
    )
  const request = connection.request
  if (request === undefined)
    failWith(
      `o pedido não chegou inteiro: ${sentByClient(connection)}; esperado ${hex(expected)}${tag === "Resume" ? " e a posição e o MD5" : ""}.${nameHint(connection.raw, name ?? "")}`
    )
  if (request!._tag !== tag) failWith(`${sentByClient(connection)}: operação ${connection.raw[0]}; esperado ${op}.`)
  const got = "name" in request! ? request.name : "mask" in request! ? request.mask : undefined
  if (name !== undefined && got !== name)
    failWith(
      `o pedido traz o nome ${JSON.stringify(got)}; esperado ${JSON.stringify(name)} (${sentByClient(connection)}).${nameHint(connection.raw, name)}`
    )
  return request as Extract<Request, { _tag: T }>
}

/** Each operation on its own connection: one connection for one command. */
export const oneConnection = (seen: Seen) => {
  if (seen.connections.length > 1)
    failWith(
      `o cliente abriu ${seen.connections.length} conexões para uma operação; o enunciado pede uma operação por conexão (e uma conexão por operação).`
    )
}

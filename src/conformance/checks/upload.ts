import { concat, u32 } from "../../domain/encode.ts"
import { type Context, check, failWith, hex } from "../check.ts"
import { ensure, type Fixture } from "../fixtures.ts"
import { bytesOf, content, describeUpload, download, rawNamed, sameBytes, upload } from "../session.ts"
import { expectDownload } from "./download.ts"

/** op 30: acceptance and final status, overwrite, atomicity, concurrent uploads of one name. */

const describeContent = (data: Uint8Array | undefined, versions: ReadonlyArray<[string, Uint8Array]>) => {
  if (data === undefined) return "nada"
  const known = versions.find(([, bytes]) => sameBytes(bytes, data))
  return known ? known[0] : `${data.length} bytes que não são nenhuma das versões enviadas`
}

/** Starts an upload of `declared` bytes and sends the first `data` of them, leaving the connection open; undefined if refused. */
const tryUpload = async (context: Context, name: string, declared: number, data: Uint8Array) => {
  const probe = await context.connect()
  await probe.write(rawNamed(30, bytesOf(name)))
  const first = await probe.read(1, context.replyMillis)
  if (!first.complete || first.bytes[0] !== 0) {
    probe.destroy()
    return { refused: first.bytes }
  }
  await probe.write(concat([u32(declared), data]))
  return { probe }
}

const startUpload = async (context: Context, name: string, declared: number, data: Uint8Array) => {
  const started = await tryUpload(context, name, declared, data)
  return (
    started.probe ?? failWith(`op 30 de "${name}": primeiro status ${hex(started.refused!)}; esperado 00 (aceito).`)
  )
}

/** What op 10 returns for `name` now: the data, or undefined when the server says it does not exist. */
const current = async (context: Context, name: string) => {
  const got = await download(context, name)
  return got.status === 0 ? (got.data ?? new Uint8Array(0)) : undefined
}

/** Polls until op 10 of `name` gives `expected` (undefined: absent) or time runs out; returns the last state. */
const settle = async (context: Context, name: string, expected: Uint8Array | undefined) => {
  const deadline = Date.now() + context.replyMillis
  for (;;) {
    const now = await current(context, name)
    const done = expected === undefined ? now === undefined : now !== undefined && sameBytes(now, expected)
    if (done || Date.now() > deadline) return now
    await Bun.sleep(100)
  }
}

export const uploadChecks = [
  check(
    "op30/envio",
    "op30",
    "enunciado",
    "upload aceito (0x00), dados enviados, status final 0x00 e o arquivo fica igual",
    "enunciado, op 30",
    async (context) => {
      const file: Fixture = { name: `${context.prefix}-envio.bin`, data: content(5000, 11) }
      const outcome = await upload(context, file.name, file.data)
      if (outcome.first !== 0 || outcome.second !== 0) {
        failWith(
          `op 30 de "${file.name}" com ${file.data.length} bytes: ${describeUpload(outcome)}; esperado 00 ao aceitar e 00 depois dos dados.`
        )
      }
      await expectDownload(context, file)
    }
  ),

  check(
    "op30/sobrescreve",
    "op30",
    "PROTOCOL.md",
    "um segundo upload do mesmo nome substitui o conteúdo",
    "PROTOCOL.md §5, op 30",
    async (context) => {
      const name = `${context.prefix}-sobrescrito.txt`
      const first = content(4000, 12)
      const second = content(1500, 13)
      for (const data of [first, second]) {
        const outcome = await upload(context, name, data)
        if (outcome.first !== 0 || outcome.second !== 0)
          failWith(`op 30 de "${name}": ${describeUpload(outcome)}; esperado 00 00.`)
      }
      await expectDownload(context, { name, data: second })
    }
  ),

  check(
    "op30/interrompido",
    "op30",
    "PROTOCOL.md",
    "upload interrompido não deixa arquivo (nem durante o envio)",
    "PROTOCOL.md §5, op 30 (gravação atômica)",
    async (context) => {
      const name = `${context.prefix}-interrompido.bin`
      const probe = await startUpload(context, name, 20_000, content(5000, 14))
      try {
        await Bun.sleep(200)
        const during = await current(context, name)
        if (during !== undefined) {
          failWith(
            `op 30 de "${name}" declarou 20000 bytes e enviou 5000; durante o envio a op 10 já devolve ${during.length} bytes com esse nome; esperado 01 até o upload terminar (gravar num temporário e renomear).`
          )
        }
      } finally {
        probe.destroy()
      }
      const after = await settle(context, name, undefined)
      if (after !== undefined) {
        failWith(
          `op 30 de "${name}" interrompida depois de 5000 de 20000 bytes; a op 10 ainda devolve ${after.length} bytes com esse nome; esperado que não exista.`
        )
      }
    }
  ),

  check(
    "op30/antigo-intacto",
    "op30",
    "PROTOCOL.md",
    "upload interrompido não estraga o arquivo antigo de mesmo nome",
    "PROTOCOL.md §5, op 30 (gravação atômica)",
    async (context) => {
      const old: Fixture = { name: `${context.prefix}-antigo.bin`, data: content(3000, 15) }
      await ensure(context, old)
      const probe = await startUpload(context, old.name, 20_000, content(5000, 16))
      try {
        await Bun.sleep(200)
        const during = await current(context, old.name)
        if (during === undefined || !sameBytes(during, old.data)) {
          failWith(
            `durante um novo upload de "${old.name}" a op 10 devolve ${describeContent(during, [["o arquivo antigo", old.data]])}; esperado o arquivo antigo inteiro.`
          )
        }
      } finally {
        probe.destroy()
      }
      const after = await settle(context, old.name, old.data)
      if (after === undefined || !sameBytes(after, old.data)) {
        failWith(
          `depois de um upload interrompido de "${old.name}" a op 10 devolve ${describeContent(after, [["o arquivo antigo", old.data]])}; esperado o arquivo antigo inteiro.`
        )
      }
    }
  ),

  check(
    "op30/simultaneos",
    "op30",
    "PROTOCOL.md",
    "dois uploads simultâneos do mesmo nome não se misturam",
    "PROTOCOL.md §5, op 30",
    async (context) => {
      const name = `${context.prefix}-simultaneo.bin`
      const size = 256 * 1024
      const a = content(size, 17)
      const b = content(size, 18)
      const half = size / 2
      // A sends half, B sends everything, A sends the rest: a server that writes in place ends with B's start and A's end.
      const first = await startUpload(context, name, size, a.subarray(0, half))
      let second: Awaited<ReturnType<typeof tryUpload>>["probe"]
      let secondRefused = false
      try {
        await Bun.sleep(150)
        // Refusing the second upload while the first runs is allowed: the result is then A.
        const started = await tryUpload(context, name, size, b)
        second = started.probe
        secondRefused = second === undefined
        const secondStatus = second ? await second.read(1, context.replyMillis) : undefined
        await Bun.sleep(150)
        await first.write(a.subarray(half))
        const firstStatus = await first.read(1, context.replyMillis)
        const statuses = [firstStatus, secondStatus].map((s) => (s?.complete ? s.bytes[0] : undefined))
        if (!statuses.includes(0))
          failWith(
            `dois uploads simultâneos de "${name}": status finais ${statuses.map((s) => (s === undefined ? "nenhum" : hex(Uint8Array.of(s)))).join(" e ")}; esperado ao menos um 00.`
          )
      } finally {
        first.destroy()
        second?.destroy()
      }
      const result = await current(context, name)
      if (secondRefused && (result === undefined || !sameBytes(result, a))) {
        failWith(
          `com o segundo upload de "${name}" recusado, a op 10 devolve ${describeContent(result, [
            ["A", a],
            ["B", b]
          ])}; esperado exatamente A, o upload que terminou.`
        )
      }
      if (result === undefined || !(sameBytes(result, a) || sameBytes(result, b))) {
        failWith(
          `dois uploads simultâneos de "${name}" (A e B, ${size} bytes cada, intercalados): a op 10 devolve ${describeContent(
            result,
            [
              ["A", a],
              ["B", b]
            ]
          )}; esperado exatamente A ou exatamente B.`
        )
      }
    }
  )
]

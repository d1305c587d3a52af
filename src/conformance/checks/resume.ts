import { concat, u32 } from "../../domain/encode.ts"
import { encodeRequest } from "../../domain/operations.ts"
import { type Context, check } from "../check.ts"
import { ensure, fileA } from "../fixtures.ts"
import { bytesOf, expectReply, md5, rawNamed } from "../session.ts"

/** op 40: both status bytes, hash mismatch, position past the end, position = size, missing file. */

export const resumeRequest = (name: Uint8Array, position: number, digest: Uint8Array) =>
  concat([rawNamed(40, name), u32(position), digest])

const resumeOf = async (context: Context, position: number, digest: Uint8Array, expected: Uint8Array, what: string) => {
  const file = fileA(context)
  await ensure(context, file)
  const request = encodeRequest({ _tag: "Resume", name: file.name, position, md5: digest })
  await expectReply(context, request, expected, `op 40 de "${file.name}" (${file.data.length} bytes) ${what}`)
}

export const resumeChecks = [
  check(
    "op40/confere",
    "op40",
    "enunciado",
    "hash confere: 0x00 0x00, tamanho restante e o resto do arquivo",
    "enunciado, op 40 (dois bytes de status); PROTOCOL.md §5",
    async (context) => {
      const data = fileA(context).data
      await resumeOf(
        context,
        1000,
        md5(data.subarray(0, 1000)),
        concat([Uint8Array.of(0, 0), u32(2000), data.subarray(1000)]),
        "da posição 1000 com o MD5 certo"
      )
    }
  ),

  check(
    "op40/hash-errado",
    "op40",
    "enunciado",
    "hash não confere: 0x00 0x14 e nada mais",
    "enunciado, op 40 (valor 20)",
    async (context) => {
      const data = fileA(context).data
      const wrong = md5(data.subarray(0, 1000))
      wrong[0] = wrong[0]! ^ 0xff
      await resumeOf(context, 1000, wrong, Uint8Array.of(0, 20), "da posição 1000 com um MD5 errado")
    }
  ),

  check(
    "op40/inexistente",
    "op40",
    "enunciado",
    "arquivo que não existe: 0x00 0x0A",
    "enunciado, op 40 (valor 10)",
    async (context) => {
      const name = bytesOf(`${context.prefix}-nao-existe.bin`)
      await expectReply(
        context,
        resumeRequest(name, 0, md5(new Uint8Array(0))),
        Uint8Array.of(0, 10),
        "op 40 de um arquivo que não existe"
      )
    }
  ),

  check(
    "op40/alem-do-fim",
    "op40",
    "PROTOCOL.md",
    "posição depois do fim: 0x00 0x14",
    "PROTOCOL.md §5, op 40",
    async (context) => {
      await resumeOf(context, 5000, md5(fileA(context).data), Uint8Array.of(0, 20), "da posição 5000")
    }
  ),

  check(
    "op40/posicao-tamanho",
    "op40",
    "PROTOCOL.md",
    "posição igual ao tamanho: 0x00 0x00 e restante 0",
    "PROTOCOL.md §5, op 40",
    async (context) => {
      const data = fileA(context).data
      await resumeOf(
        context,
        data.length,
        md5(data),
        concat([Uint8Array.of(0, 0), u32(0)]),
        `da posição ${data.length} (o fim) com o MD5 do arquivo inteiro`
      )
    }
  ),

  check(
    "op40/posicao-zero",
    "op40",
    "PROTOCOL.md",
    "posição 0 com o MD5 de nada: o arquivo inteiro",
    "PROTOCOL.md §5, op 40",
    async (context) => {
      const data = fileA(context).data
      await resumeOf(
        context,
        0,
        md5(new Uint8Array(0)),
        concat([Uint8Array.of(0, 0), u32(data.length), data]),
        "da posição 0"
      )
    }
  ),

  check(
    "op40/nome-invalido",
    "op40",
    "PROTOCOL.md",
    "nome inválido: primeiro status 0x01",
    "PROTOCOL.md §5, op 40",
    async (context) => {
      const request = resumeRequest(bytesOf(`../${context.prefix}-a.bin`), 0, md5(new Uint8Array(0)))
      await expectReply(context, request, Uint8Array.of(1), 'op 40 com o nome inválido "../…"')
    }
  )
]

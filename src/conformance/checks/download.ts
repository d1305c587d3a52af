import { concat, u32 } from "../../domain/encode.ts"
import { type Context, check, failWith, hex } from "../check.ts"
import { emptyFile, ensure, type Fixture, fileA, largeFile } from "../fixtures.ts"
import { bytesOf, download, expectReply, md5, rawNamed, sameBytes } from "../session.ts"

/** op 10: a file that exists, one that does not, an empty one, a large one. */

const leRead = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(1, true)

/** Downloads `file` and fails with a sentence when anything differs from status 0, its size and its bytes. */
export const expectDownload = async (context: Context, file: Fixture) => {
  const got = await download(context, file.name)
  const what = `op 10 de "${file.name}" (${file.data.length} bytes)`
  if (got.status !== 0) {
    failWith(
      `${what}: recebido ${hex(got.raw)} (${got.ending}); esperado 00 seguido do tamanho ${hex(u32(file.data.length))}.`
    )
  }
  if (got.size !== file.data.length) {
    const littleEndian = got.raw.length >= 5 && leRead(got.raw) === file.data.length
    failWith(
      `${what}: o tamanho veio como ${hex(got.raw.subarray(1, 5))} (${got.size}); esperado ${hex(u32(file.data.length))}` +
        (littleEndian ? " — parece little-endian; o enunciado pede big endian." : ".")
    )
  }
  if (got.lengthProblem !== undefined) failWith(`${what}: ${got.lengthProblem}`)
  if (got.data === undefined || got.data.length !== file.data.length) {
    failWith(
      `${what}: o servidor declarou ${file.data.length} bytes mas enviou ${got.data?.length ?? 0} (${got.ending}).`
    )
  }
  if (!sameBytes(got.data!, file.data)) {
    const at = got.data!.findIndex((byte, i) => byte !== file.data[i])
    failWith(
      `${what}: os dados diferem do arquivo a partir do byte ${at} (recebido ${hex(got.data!.subarray(at, at + 8))}, esperado ${hex(file.data.subarray(at, at + 8))}).`
    )
  }
}

export const downloadChecks = [
  check(
    "op10/existe",
    "op10",
    "enunciado",
    "arquivo que existe: 0x00, tamanho u32 big endian e os dados",
    "enunciado, op 10; PROTOCOL.md §5",
    async (context) => {
      const file = fileA(context)
      await ensure(context, file)
      await expectDownload(context, file)
    }
  ),

  check(
    "op10/inexistente",
    "op10",
    "enunciado",
    "arquivo que não existe: só 0x01",
    "enunciado, op 10 (status 1, nada mais)",
    async (context) => {
      await expectReply(
        context,
        rawNamed(10, bytesOf(`${context.prefix}-nao-existe.txt`)),
        Uint8Array.of(1),
        "op 10 de um arquivo que não existe"
      )
    }
  ),

  check("op10/vazio", "op10", "enunciado", "arquivo vazio: 0x00 e tamanho 0", "enunciado, op 10", async (context) => {
    const file = emptyFile(context)
    await ensure(context, file)
    await expectReply(
      context,
      rawNamed(10, bytesOf(file.name)),
      concat([Uint8Array.of(0), u32(0)]),
      `op 10 de "${file.name}" (vazio)`
    )
  }),

  check(
    "op10/grande",
    "op10",
    "recomendado",
    "arquivo de 1 MiB chega inteiro (MD5 confere)",
    "enunciado, op 10",
    async (context) => {
      const file = largeFile(context)
      await ensure(context, file)
      const got = await download(context, file.name)
      if (
        got.status !== 0 ||
        got.size !== file.data.length ||
        got.data === undefined ||
        !sameBytes(md5(got.data), md5(file.data))
      ) {
        failWith(
          `op 10 de "${file.name}" (${file.data.length} bytes): recebido cabeçalho ${hex(got.raw)} e ${got.data?.length ?? 0} bytes de dados (${got.ending}); o MD5 não confere com o arquivo enviado.`
        )
      }
    }
  )
]

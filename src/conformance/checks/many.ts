import { mkdir, rm, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { concat, encodeManifest, encodeStatusSize, u32 } from "../../domain/encode.ts"
import { encodeRequest } from "../../domain/operations.ts"
import { check, skipWith } from "../check.ts"
import { ensure, manyFiles } from "../fixtures.ts"
import { bytesOf, expectReply, rawNamed } from "../session.ts"

/** op 50 as PROTOCOL.md proposes it: manifest, per-file statuses, N = 0, invalid masks, the limit. */

const LIMIT = 10_000

/** The longest the reply to a mask over the 10 001 planted files may take to start. */
const LARGE_FOLDER_MILLIS = 10_000

export const manyChecks = [
  check(
    "op50/manifesto",
    "op50",
    "PROTOCOL.md",
    "manifesto ordenado e depois cada arquivo com status, tamanho e dados",
    "PROTOCOL.md §5, op 50",
    async (context) => {
      const files = manyFiles(context)
      for (const file of files) await ensure(context, file)
      const matching = files
        .filter((file) => file.name.endsWith(".txt"))
        .sort((x, y) => Buffer.compare(Buffer.from(x.name), Buffer.from(y.name)))
      const expected = concat([
        encodeManifest(
          0,
          matching.map((file) => ({ name: file.name, size: file.data.length }))
        ),
        ...matching.flatMap((file) => [encodeStatusSize(0, file.data.length), file.data])
      ])
      const mask = `${context.prefix}-m-*.txt`
      await expectReply(
        context,
        encodeRequest({ _tag: "DownloadMany", mask }),
        expected,
        `op 50 com a máscara "${mask}" (3 arquivos)`
      )
    }
  ),

  check(
    "op50/nenhum",
    "op50",
    "PROTOCOL.md",
    "máscara que não casa nada: 0x00 e N = 0",
    "PROTOCOL.md §5, op 50",
    async (context) => {
      await expectReply(
        context,
        rawNamed(50, bytesOf(`${context.prefix}-nada-*.xyz`)),
        concat([Uint8Array.of(0), u32(0)]),
        "op 50 com uma máscara que não casa nada"
      )
    }
  ),

  check(
    "op50/mascara-invalida",
    "op50",
    "PROTOCOL.md",
    "máscara inválida ({}, **, ..): 0x01",
    "PROTOCOL.md §3 e §5, op 50",
    async (context) => {
      for (const mask of [`${context.prefix}-{a,b}.txt`, `**/${context.prefix}.txt`, `../*`]) {
        await expectReply(
          context,
          rawNamed(50, bytesOf(mask)),
          Uint8Array.of(1),
          `op 50 com a máscara inválida "${mask}"`
        )
      }
    }
  ),

  check(
    "op50/limite",
    "op50",
    "PROTOCOL.md",
    `mais de ${LIMIT} arquivos: 0x02, encontrados e limite`,
    "PROTOCOL.md §5, op 50 (limite)",
    async (context) => {
      const folder = context.folder ?? skipWith("precisa de --pasta para plantar 10 001 arquivos direto na pasta")
      const dir = path.join(folder, `${context.prefix}-muitos`)
      await mkdir(dir)
      context.planted(dir)
      try {
        for (let i = 0; i <= LIMIT; i += 500) {
          await Promise.all(
            Array.from({ length: Math.min(500, LIMIT + 1 - i) }, (_, k) =>
              writeFile(path.join(dir, `f${i + k}.txt`), "")
            )
          )
        }
        const expected = concat([Uint8Array.of(2), u32(LIMIT + 1), u32(LIMIT)])
        await expectReply(
          context,
          rawNamed(50, bytesOf(`${context.prefix}-muitos/*.txt`)),
          expected,
          `op 50 que casa ${LIMIT + 1} arquivos`,
          // The server reads a folder of ten thousand entries first: on a slow or busy machine that
          // takes longer than a usual reply, and a correct server must not fail for it.
          Math.max(context.replyMillis, LARGE_FOLDER_MILLIS)
        )
      } finally {
        // Ten thousand files would slow every later listing: gone as soon as the check ends.
        await rm(dir, { recursive: true, force: true })
      }
    }
  )
]

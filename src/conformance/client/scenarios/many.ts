import * as path from "node:path"
import { concat, encodeLimit, encodeManifest, encodeStatusSize } from "../../../domain/encode.ts"
import type { ManifestEntry } from "../../../domain/messages.ts"
import { MAX_MANY_MATCHES } from "../../../domain/protocol.ts"
import { failWith } from "../../check.ts"
import { content } from "../../session.ts"
import {
  extraFiles,
  fileMustBe,
  mustFail,
  mustSucceed,
  noFile,
  nothingOutside,
  type Scenario,
  verdict
} from "../scenario.ts"
import type { Workspace } from "../workspace.ts"
import { expectRequest } from "./request.ts"

/** op 50 (baixar-varios): a manifest and its files, an entry with status 1, refusals, hostile manifests. */

const MASK = "*.txt"
const WAIT = 10_000

interface Sent {
  readonly name: string
  readonly data: Uint8Array
  /** Sent with status 1 instead of its data. */
  readonly missing?: boolean
}

const files = (names: ReadonlyArray<string>): Array<Sent> =>
  names.map((name, i) => ({ name, data: content(200 + i * 37, 41 + i) }))

/** The manifest, then each file (0x00, size, data) or 0x01. */
const manyReply = (sent: ReadonlyArray<Sent>): Uint8Array =>
  concat([
    encodeManifest(
      0,
      sent.map((file): ManifestEntry => ({ name: file.name, size: file.data.length }))
    ),
    ...sent.map((file) =>
      file.missing === true ? Uint8Array.of(1) : concat([encodeStatusSize(0, file.data.length), file.data])
    )
  ])

const answer =
  (reply: (workspace: Workspace) => Uint8Array, piece?: number): Scenario["script"] =>
  async (connection, context) => {
    if ((await connection.waitRequest(WAIT)) === undefined) return
    if (piece === undefined) await connection.send(reply(context.workspace))
    else await connection.sendInPieces(reply(context.workspace), piece, 2)
  }

const GOOD = files(["um.txt", "dois.txt", "tres.txt"])
/** Small files, for a reply sent a few bytes at a time. */
const SMALL = ["a.txt", "b.txt"].map((name, i) => ({ name, data: content(20 + i, 61 + i) }))

/** A manifest the client must refuse: it stops, fails, writes nothing (and nothing outside its folder). */
const hostile = (
  id: string,
  title: string,
  entries: (workspace: Workspace) => ReadonlyArray<Sent>,
  watched?: (workspace: Workspace) => ReadonlyArray<string>
): Scenario => ({
  op: "baixar-varios",
  name: MASK,
  script: answer((workspace) => manyReply(entries(workspace))),
  ...(watched === undefined ? {} : { watched }),
  verdicts: [
    verdict(
      `${id}-fora`,
      "op50",
      "enunciado",
      `${title}: nada é gravado fora da pasta do cliente`,
      'enunciado: "Não permita escape dessas pastas"',
      (seen) => nothingOutside(seen, `op 50 com ${title}`)
    ),
    verdict(
      id,
      "op50",
      "PROTOCOL.md",
      `${title}: o cliente recusa o manifesto, não grava nada e falha`,
      "PROTOCOL.md §5, op 50 (validação no cliente)",
      (seen) => {
        const written = extraFiles(seen, [])
        if (written.length > 0)
          failWith(
            `op 50 com ${title}: o cliente gravou ${written
              .slice(0, 5)
              .map((n) => JSON.stringify(n))
              .join(
                ", "
              )}${written.length > 5 ? ` e mais ${written.length - 5}` : ""}; devia recusar o manifesto antes de qualquer dado.`
          )
        mustFail(seen, `op 50 com ${title}`)
      }
    )
  ]
})

export const manyScenarios: ReadonlyArray<Scenario> = [
  {
    op: "baixar-varios",
    name: MASK,
    script: answer(() => manyReply(GOOD)),
    verdicts: [
      verdict(
        "op50/pedido",
        "op50",
        "PROTOCOL.md",
        "pedido: 0x32 e a máscara como um nome",
        "PROTOCOL.md §5, op 50",
        (seen) => {
          expectRequest(seen, "DownloadMany", MASK)
        }
      ),
      verdict(
        "op50/sucesso",
        "op50",
        "PROTOCOL.md",
        "manifesto e arquivos: cada um gravado com seus bytes, status 0",
        "PROTOCOL.md §5, op 50",
        (seen) => {
          for (const file of GOOD) fileMustBe(seen, file.name, file.data, "op 50 com 3 arquivos")
          mustSucceed(seen, "op 50 com 3 arquivos")
        }
      )
    ]
  },
  {
    op: "baixar-varios",
    name: MASK,
    script: answer(() => manyReply(SMALL), 3),
    verdicts: [
      verdict(
        "op50/segmentos",
        "op50",
        "PROTOCOL.md",
        "manifesto e arquivos em segmentos de 3 bytes são lidos inteiros",
        "PROTOCOL.md §2 (qualquer segmentação)",
        (seen) => {
          for (const file of SMALL) fileMustBe(seen, file.name, file.data, "op 50 em segmentos de 3 bytes")
          mustSucceed(seen, "op 50 em segmentos de 3 bytes")
        }
      )
    ]
  },
  {
    op: "baixar-varios",
    name: MASK,
    script: answer(() => manyReply(GOOD.map((file, i) => (i === 1 ? { ...file, missing: true } : file)))),
    verdicts: [
      verdict(
        "op50/entrada-status-1",
        "op50",
        "PROTOCOL.md",
        "uma entrada com status 1 (sumiu): as outras são gravadas, ela não",
        "PROTOCOL.md §5, op 50",
        (seen) => {
          fileMustBe(seen, GOOD[0]!.name, GOOD[0]!.data, "op 50 com a 2ª entrada em 01")
          fileMustBe(seen, GOOD[2]!.name, GOOD[2]!.data, "op 50 com a 2ª entrada em 01")
          noFile(seen, GOOD[1]!.name, "op 50 com a 2ª entrada em 01")
        }
      )
    ]
  },
  {
    op: "baixar-varios",
    name: MASK,
    script: answer(() => Uint8Array.of(1)),
    verdicts: [
      verdict(
        "op50/recusa",
        "op50",
        "PROTOCOL.md",
        "máscara recusada (0x01): o comando falha",
        "PROTOCOL.md §5, op 50",
        (seen) => mustFail(seen, "op 50 respondida com 01")
      )
    ]
  },
  {
    op: "baixar-varios",
    name: MASK,
    script: answer(() => encodeLimit(2, 12_000, MAX_MANY_MATCHES)),
    verdicts: [
      verdict(
        "op50/demais",
        "op50",
        "PROTOCOL.md",
        "arquivos demais (0x02, encontrados, limite): o comando falha",
        "PROTOCOL.md §5, op 50",
        (seen) => mustFail(seen, "op 50 respondida com 02 (12000 encontrados, limite 10000)")
      )
    ]
  },
  hostile("op50/hostil-pai", 'um nome "../fora.txt"', () => files(["um.txt", "../fora.txt"])),
  hostile(
    "op50/hostil-absoluto",
    "um nome absoluto",
    (workspace) => files(["um.txt", path.join(workspace.root, "absoluto.txt")]),
    (workspace) => [path.join(workspace.root, "absoluto.txt")]
  ),
  hostile("op50/hostil-mascara", 'um nome que não casa com a máscara ("foto.jpg" para *.txt)', () =>
    files(["um.txt", "foto.jpg"])
  ),
  hostile("op50/hostil-duplicado", 'um nome repetido ("um.txt" duas vezes)', () => files(["um.txt", "um.txt"])),
  hostile(`op50/hostil-limite`, `N = ${MAX_MANY_MATCHES + 1}, acima do limite`, () =>
    Array.from({ length: MAX_MANY_MATCHES + 1 }, (_, i) => ({ name: `f${i}.txt`, data: Uint8Array.of(65) }))
  )
]

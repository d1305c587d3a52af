import { concat, encodeStatusSize } from "../../../domain/encode.ts"
import { failWith, hex } from "../../check.ts"
import { content, md5, sameBytes } from "../../session.ts"
import { fileMustBe, mustFail, mustSucceed, noFile, type Scenario, type Seen, verdict } from "../scenario.ts"
import { plant } from "../workspace.ts"
import { expectRequest } from "./request.ts"

/** op 40 (retomar): the position and MD5 of exactly the held part; 0x00 0x00, 0x00 0x0A, 0x00 0x14, 0x01. */

const NAME = "video.bin"
const DATA = content(6000, 31)
const HELD = DATA.subarray(0, 2500)
const WAIT = 10_000

const holding = {
  prepare: (workspace: Parameters<typeof plant>[0], partial: string) => plant(workspace, partial, HELD)
}

/** Answers the request with `reply` once it arrives whole. */
const answer =
  (reply: Uint8Array): Scenario["script"] =>
  async (connection) => {
    if ((await connection.waitRequest(WAIT)) === undefined) return
    await connection.send(reply)
  }

/** 0x00 0x00, the rest's size, the rest. */
const COMPLETE = concat([Uint8Array.of(0), encodeStatusSize(0, DATA.length - HELD.length), DATA.subarray(HELD.length)])

/** After 0x0A, 0x14 or 0x01 the held part stays as it was and no final file appears. */
const untouched = (seen: Seen, what: string) => {
  fileMustBe(seen, seen.partial, HELD, `${what}: a parte guardada`)
  if (seen.partial !== NAME) noFile(seen, NAME, what)
}

const refused = (id: string, title: string, reference: string, reply: Uint8Array): Scenario => ({
  op: "retomar",
  name: NAME,
  ...holding,
  script: answer(reply),
  verdicts: [
    verdict(id, "op40", "enunciado", `${title}: o comando falha`, reference, (seen) =>
      mustFail(seen, `op 40 respondida com ${hex(reply)}`)
    ),
    verdict(
      `${id}-intacto`,
      "op40",
      "PROTOCOL.md",
      `${title}: a parte guardada fica intacta e não surge o arquivo final`,
      "PROTOCOL.md §8",
      (seen) => untouched(seen, `op 40 respondida com ${hex(reply)}`)
    )
  ]
})

export const resumeScenarios: ReadonlyArray<Scenario> = [
  {
    op: "retomar",
    name: NAME,
    ...holding,
    script: answer(
      concat([Uint8Array.of(0), encodeStatusSize(0, DATA.length - HELD.length), DATA.subarray(HELD.length)])
    ),
    verdicts: [
      verdict(
        "op40/pedido",
        "op40",
        "enunciado",
        "pedido: 0x28, nome, posição = bytes guardados, MD5 de exatamente a parte guardada",
        "enunciado, op 40",
        (seen) => {
          const request = expectRequest(seen, "Resume", NAME)
          if (request.position !== HELD.length)
            failWith(
              `op 40: a posição enviada é ${request.position}; a parte guardada em "${seen.partial}" tem ${HELD.length} bytes.`
            )
          if (!sameBytes(request.md5, md5(HELD))) {
            const whose = sameBytes(request.md5, md5(DATA))
              ? " (é o MD5 do arquivo inteiro)"
              : sameBytes(request.md5, md5(new Uint8Array(0)))
                ? " (é o MD5 de nada)"
                : ""
            failWith(
              `op 40: o MD5 enviado é ${hex(request.md5, 16)}${whose}; o MD5 dos ${HELD.length} bytes guardados é ${hex(md5(HELD), 16)}.`
            )
          }
        }
      ),
      verdict(
        "op40/sucesso",
        "op40",
        "enunciado",
        "0x00 0x00 e o restante: o arquivo fica completo e o comando termina com status 0",
        "enunciado, op 40",
        (seen) => {
          fileMustBe(seen, NAME, DATA, "op 40 com sucesso")
          mustSucceed(seen, "op 40 com sucesso")
        }
      ),
      verdict(
        "op40/parcial-removido",
        "op40",
        "recomendado",
        "depois de completar, a parte guardada não fica para trás",
        "PROTOCOL.md §8",
        (seen) => {
          if (seen.partial !== NAME) noFile(seen, seen.partial, "op 40 com sucesso")
        }
      )
    ]
  },
  {
    op: "retomar",
    name: NAME,
    ...holding,
    // The two status bytes, the size and the start of the data each in a segment of their own.
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.sendInPieces(COMPLETE.subarray(0, 12), 1, 2)
      await connection.send(COMPLETE.subarray(12))
    },
    verdicts: [
      verdict(
        "op40/segmentos",
        "op40",
        "PROTOCOL.md",
        "os dois status, o tamanho e os dados em segmentos de 1 byte são lidos inteiros",
        "PROTOCOL.md §2 (qualquer segmentação)",
        (seen) => {
          fileMustBe(seen, NAME, DATA, "op 40 com a resposta em segmentos de 1 byte")
          mustSucceed(seen, "op 40 com a resposta em segmentos de 1 byte")
        }
      )
    ]
  },
  refused("op40/hash", "hash não confere (0x00 0x14)", "enunciado, op 40 (valor 20)", Uint8Array.of(0, 0x14)),
  refused("op40/inexistente", "arquivo não existe (0x00 0x0A)", "enunciado, op 40 (valor 10)", Uint8Array.of(0, 0x0a)),
  refused("op40/recusa", "pedido recusado (0x01)", "enunciado, op 40 (primeiro status, valor 1)", Uint8Array.of(1))
]

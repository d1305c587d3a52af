import { concat, encodeStatusSize } from "../../../domain/encode.ts"
import { failWith } from "../../check.ts"
import { content } from "../../session.ts"
import {
  extraFiles,
  fileMustBe,
  howItEnded,
  mustFail,
  mustSucceed,
  noFile,
  type Scenario,
  verdict
} from "../scenario.ts"
import { expectRequest, oneConnection } from "./request.ts"

/** op 10 (baixar): success, refusal, a body cut short, bytes after the size, tiny segments, a stall. */

const NAME = "relatório.txt"
const DATA = content(3000, 11)
const WAIT = 10_000

const reply = (data: Uint8Array) => concat([encodeStatusSize(0, data.length), data])

/** After a failed download nothing may stay under the final name. */
const noFinal = (id: string, category: "op10" | "prazos", what: string) =>
  verdict(
    id,
    category,
    "PROTOCOL.md",
    `${what}: nenhum arquivo fica com o nome final`,
    "PROTOCOL.md §8 (o download vai para NOME.parcial e só é renomeado completo)",
    (seen) => noFile(seen, NAME, what)
  )

export const downloadScenarios: ReadonlyArray<Scenario> = [
  {
    op: "baixar",
    name: NAME,
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(reply(DATA))
    },
    verdicts: [
      verdict(
        "op10/pedido",
        "op10",
        "enunciado",
        "pedido: 0x0A, comprimento u32 big endian em bytes e o nome em UTF-8, numa conexão",
        "enunciado, op 10",
        (seen) => {
          expectRequest(seen, "Download", NAME)
          oneConnection(seen)
        }
      ),
      verdict(
        "op10/sucesso",
        "op10",
        "enunciado",
        "arquivo recebido grava exatamente os bytes declarados e termina com status 0",
        "enunciado, op 10",
        (seen) => {
          fileMustBe(seen, NAME, DATA, "op 10 com sucesso")
          mustSucceed(seen, "op 10 com sucesso")
        }
      ),
      verdict(
        "op10/sem-sobras",
        "op10",
        "recomendado",
        "depois do sucesso não sobram arquivos temporários na pasta",
        "PROTOCOL.md §8",
        (seen) => {
          const extra = extraFiles(seen, [NAME])
          if (extra.length > 0)
            failWith(`op 10 com sucesso: sobraram ${extra.map((n) => JSON.stringify(n)).join(", ")}.`)
        }
      )
    ]
  },
  {
    op: "baixar",
    name: NAME,
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(Uint8Array.of(1))
    },
    verdicts: [
      verdict(
        "op10/recusa",
        "op10",
        "enunciado",
        "status 1 (arquivo não existe): o comando falha e não cria o arquivo",
        "enunciado, op 10 (valor 1)",
        (seen) => {
          mustFail(seen, "op 10 respondida com 01")
          noFile(seen, NAME, "op 10 respondida com 01")
          const extra = extraFiles(seen, [])
          if (extra.length > 0)
            failWith(`op 10 respondida com 01: ficaram ${extra.map((n) => JSON.stringify(n)).join(", ")} na pasta.`)
        }
      )
    ]
  },
  {
    op: "baixar",
    name: NAME,
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(concat([encodeStatusSize(0, DATA.length), DATA.subarray(0, 1000)]))
    },
    verdicts: [
      verdict(
        "op10/corpo-curto",
        "op10",
        "enunciado",
        "corpo menor que o tamanho declarado (o servidor fecha): o comando falha",
        "enunciado, op 10 (dados até o tamanho informado); trata erros de conexão",
        (seen) => mustFail(seen, `op 10 que declara ${DATA.length} bytes e fecha depois de 1000`)
      ),
      noFinal("op10/corpo-curto-sem-final", "op10", "op 10 com o corpo cortado")
    ]
  },
  {
    op: "baixar",
    name: NAME,
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(concat([reply(DATA.subarray(0, 100)), new Uint8Array(40).fill(0x58)]))
    },
    verdicts: [
      verdict(
        "op10/bytes-depois",
        "op10",
        "enunciado",
        "bytes depois do tamanho declarado não entram no arquivo",
        "enunciado, op 10 (o tamanho diz quantos bytes vêm); PROTOCOL.md §1",
        (seen) => {
          if (seen.files.has(NAME)) fileMustBe(seen, NAME, DATA.subarray(0, 100), "op 10 com 40 bytes depois do fim")
        }
      ),
      verdict(
        "op10/bytes-depois-sucesso",
        "op10",
        "recomendado",
        "bytes depois do tamanho declarado são ignorados: o download conta como sucesso",
        "PROTOCOL.md §1",
        (seen) => {
          mustSucceed(seen, "op 10 com 40 bytes depois do fim")
          fileMustBe(seen, NAME, DATA.subarray(0, 100), "op 10 com 40 bytes depois do fim")
        }
      )
    ]
  },
  {
    op: "baixar",
    name: NAME,
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.sendInPieces(reply(DATA.subarray(0, 300)), 2, 2)
    },
    verdicts: [
      verdict(
        "op10/segmentos",
        "op10",
        "PROTOCOL.md",
        "resposta em pedaços de 2 bytes (status e tamanho partidos) é lida inteira",
        "PROTOCOL.md §2 (qualquer segmentação)",
        (seen) => {
          fileMustBe(seen, NAME, DATA.subarray(0, 300), "op 10 em pedaços de 2 bytes")
          mustSucceed(seen, "op 10 em pedaços de 2 bytes")
        }
      )
    ]
  },
  {
    op: "baixar",
    name: NAME,
    stalls: true,
    script: async (connection, context) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(concat([encodeStatusSize(0, DATA.length), DATA.subarray(0, 1000)]))
      // Then nothing: the client's own timeout must end it.
      await connection.until(() => false, context.timeoutMillis + context.marginMillis + 5000)
    },
    verdicts: [
      verdict(
        "prazos/download-parado",
        "prazos",
        "enunciado",
        "download que para no meio: o comando desiste no próprio timeout e falha",
        'enunciado: "Estabeleça um timeout para as operações"; PROTOCOL.md §7',
        (seen) => {
          const limit = seen.timing.timeoutMillis + seen.timing.marginMillis
          if (seen.run.overstayed || seen.run.millis > limit)
            failWith(
              `o servidor parou de enviar depois de 1000 de ${DATA.length} bytes; ${howItEnded(seen.run)}; esperado desistir em até ${limit} ms (timeout informado ${seen.timing.timeoutMillis} ms mais a margem).`
            )
          mustFail(seen, "op 10 parada no meio")
        }
      ),
      noFinal("prazos/download-parado-sem-final", "prazos", "op 10 parada no meio")
    ]
  }
]

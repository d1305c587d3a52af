import { concat, encodeStatusSize } from "../../../domain/encode.ts"
import { failWith } from "../../check.ts"
import { bytesOf } from "../../session.ts"
import { mustFail, mustSucceed, type Scenario, verdict } from "../scenario.ts"
import { expectRequest, oneConnection } from "./request.ts"

/** op 20 (listar): success, refusal, a listing cut short. */

const JSON_TEXT = bytesOf('[{"nome":"ária.txt","tamanho":"5"},{"nome":"fotos/b.jpg","tamanho":"123456"}]')
const WAIT = 10_000

/** The same listing as any JSON writer may send it: spaces, new lines, keys in the other order. */
const SPACED = bytesOf(
  '[\n  { "tamanho": "5", "nome": "ária.txt" },\n  { "tamanho": "123456", "nome": "fotos/b.jpg" }\n]\n'
)

export const listingScenarios: ReadonlyArray<Scenario> = [
  {
    op: "listar",
    name: "",
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(concat([encodeStatusSize(0, JSON_TEXT.length), JSON_TEXT]))
    },
    verdicts: [
      verdict(
        "op20/pedido",
        "op20",
        "enunciado",
        "pedido: só o byte 0x14, numa conexão",
        "enunciado, op 20",
        (seen) => {
          expectRequest(seen, "List", undefined)
          oneConnection(seen)
        }
      ),
      verdict(
        "op20/sucesso",
        "op20",
        "enunciado",
        "listagem recebida: o comando termina com status 0",
        "enunciado, op 20",
        (seen) => mustSucceed(seen, "op 20 com uma listagem de 2 arquivos")
      ),
      verdict(
        "op20/mostra",
        "op20",
        "recomendado",
        "a saída mostra cada nome da listagem",
        "enunciado, op 20 (o usuário solicita a listagem)",
        (seen) => {
          for (const shown of ["ária.txt", "fotos/b.jpg"])
            if (!seen.run.stdout.includes(shown))
              failWith(`op 20: a saída do comando não mostra ${JSON.stringify(shown)}.`)
        }
      )
    ]
  },
  {
    op: "listar",
    name: "",
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(concat([encodeStatusSize(0, SPACED.length), SPACED]))
    },
    verdicts: [
      verdict(
        "op20/json-espacado",
        "op20",
        "PROTOCOL.md",
        "listagem com espaços, quebras de linha e as chaves em outra ordem é aceita",
        "PROTOCOL.md §5, op 20 (qualquer JSON válido com essa forma)",
        (seen) => mustSucceed(seen, "op 20 com o JSON espaçado e as chaves na ordem tamanho, nome")
      )
    ]
  },
  {
    op: "listar",
    name: "",
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(Uint8Array.of(1))
    },
    verdicts: [
      verdict(
        "op20/recusa",
        "op20",
        "enunciado",
        "status 1 (erro): o comando falha",
        "enunciado, op 20 (valor 1)",
        (seen) => mustFail(seen, "op 20 respondida com 01")
      )
    ]
  },
  {
    op: "listar",
    name: "",
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(concat([encodeStatusSize(0, JSON_TEXT.length + 20), JSON_TEXT]))
    },
    verdicts: [
      verdict(
        "op20/curta",
        "op20",
        "enunciado",
        "listagem menor que o comprimento declarado (o servidor fecha): o comando falha",
        "enunciado, op 20 (4 bytes com o tamanho a seguir)",
        (seen) => mustFail(seen, "op 20 que declara 20 bytes a mais do que envia")
      )
    ]
  }
]

import { failWith, hex } from "../../check.ts"
import { content, sameBytes } from "../../session.ts"
import { firstConnection, mustFail, mustSucceed, type Scenario, type ScriptContext, verdict } from "../scenario.ts"
import type { ScriptedConnection } from "../scripted.ts"
import { plant } from "../workspace.ts"
import { expectRequest, oneConnection } from "./request.ts"

/** op 30 (enviar): success, refusals at once and late, a failed second status, a local file that is missing. */

const NAME = "envio.bin"
const DATA = content(5000, 21)
const WAIT = 10_000

const withLocalFile = {
  prepare: (workspace: Parameters<typeof plant>[0]) => plant(workspace, NAME, DATA)
}

/** Events past the request (size, data) that arrived before the server's first status. */
const EARLY = "bytes antes do status"

const sentAfterName = (connection: ScriptedConnection) =>
  connection.events.filter((event) => event._tag === "Size" || event._tag === "Data" || event._tag === "End").length > 0

/** Refuses after `delay`: records whether the size or data came before the status. */
const refuseAfter =
  (delay: (context: ScriptContext) => number) => async (connection: ScriptedConnection, context: ScriptContext) => {
    if ((await connection.waitRequest(WAIT)) === undefined) return
    await connection.until(() => sentAfterName(connection), delay(context))
    context.notes.set(EARLY, sentAfterName(connection))
    await connection.send(Uint8Array.of(1))
    // Time for anything the client sends after the refusal to arrive.
    await connection.until(() => sentAfterName(connection), 300)
  }

const nothingBeforeStatus = (seen: Parameters<typeof firstConnection>[0], what: string) => {
  const connection = firstConnection(seen)
  if (seen.notes.get(EARLY) === true)
    failWith(
      `${what}: o cliente enviou o tamanho (e dados) antes de o servidor responder ao nome; o enunciado diz "Só enviar se o servidor aceitou o upload" (${hex(connection.raw, 24)}).`
    )
}

/** Accepts the upload (0x00), takes it whole, then answers `final` as the second status. */
const acceptThenFinal =
  (final: number): Scenario["script"] =>
  async (connection) => {
    if ((await connection.waitRequest(WAIT)) === undefined) return
    await connection.send(Uint8Array.of(0))
    if (!(await connection.waitUploadEnd(WAIT))) return
    await connection.send(Uint8Array.of(final))
  }

export const uploadScenarios: ReadonlyArray<Scenario> = [
  {
    op: "enviar",
    name: NAME,
    ...withLocalFile,
    script: acceptThenFinal(0),
    verdicts: [
      verdict(
        "op30/pedido",
        "op30",
        "enunciado",
        "pedido: 0x1E e o nome; depois do 0x00, tamanho u32 e exatamente os bytes do arquivo",
        "enunciado, op 30",
        (seen) => {
          expectRequest(seen, "Upload", NAME)
          oneConnection(seen)
          const connection = firstConnection(seen)
          const size = connection.events.find((event) => event._tag === "Size")
          if (size === undefined || size._tag !== "Size")
            failWith(`op 30 aceita: o cliente não enviou o tamanho (${hex(connection.raw, 24)}).`)
          else if (size.size !== DATA.length)
            failWith(`op 30 aceita: o tamanho enviado é ${size.size}; o arquivo tem ${DATA.length} bytes.`)
          const body = connection.events.flatMap((event) => (event._tag === "Data" ? [event.bytes] : []))
          const got = Buffer.concat(body)
          if (got.length !== DATA.length || !sameBytes(new Uint8Array(got), DATA))
            failWith(
              `op 30 aceita: chegaram ${got.length} de ${DATA.length} bytes${got.length === DATA.length ? ", diferentes do arquivo" : ""}.`
            )
        }
      ),
      verdict(
        "op30/sucesso",
        "op30",
        "enunciado",
        "upload aceito e gravado (0x00, 0x00): o comando termina com status 0",
        "enunciado, op 30",
        (seen) => mustSucceed(seen, "op 30 aceita e gravada")
      )
    ]
  },
  {
    op: "enviar",
    name: NAME,
    ...withLocalFile,
    script: refuseAfter(() => 0),
    verdicts: [
      verdict(
        "op30/recusa",
        "op30",
        "enunciado",
        "upload recusado (0x01): o comando falha e não envia o tamanho nem os dados",
        'enunciado, op 30: "Só enviar se o servidor aceitou o upload"',
        (seen) => {
          mustFail(seen, "op 30 recusada com 01")
          if (sentAfterName(firstConnection(seen)))
            failWith(`op 30 recusada com 01: mesmo assim o cliente enviou o tamanho ou os dados.`)
        }
      )
    ]
  },
  {
    op: "enviar",
    name: NAME,
    ...withLocalFile,
    script: refuseAfter((context) => Math.min(800, context.timeoutMillis / 3)),
    verdicts: [
      verdict(
        "op30/espera-status",
        "op30",
        "enunciado",
        "o cliente espera o status antes de enviar o tamanho (recusa que demora)",
        'enunciado, op 30: "Só enviar se o servidor aceitou o upload"',
        (seen) => {
          expectRequest(seen, "Upload", NAME)
          nothingBeforeStatus(seen, "op 30 recusada depois de uma pausa")
          mustFail(seen, "op 30 recusada depois de uma pausa")
        }
      )
    ]
  },
  {
    op: "enviar",
    name: NAME,
    ...withLocalFile,
    script: acceptThenFinal(1),
    verdicts: [
      verdict(
        "op30/falha-final",
        "op30",
        "enunciado",
        "segundo status 0x01 (falha ao gravar): o comando falha",
        "enunciado, op 30 (segundo status, valor 1)",
        (seen) => mustFail(seen, "op 30 com o segundo status 01")
      )
    ]
  },
  {
    op: "enviar",
    name: "nao-existe.bin",
    script: async (connection) => {
      if ((await connection.waitRequest(WAIT)) === undefined) return
      await connection.send(Uint8Array.of(1))
    },
    verdicts: [
      verdict(
        "op30/local-inexistente",
        "op30",
        "enunciado",
        "enviar um arquivo que não existe na pasta local: o comando falha",
        'enunciado: "Trata erros de conexão e congêneres"',
        (seen) => mustFail(seen, 'op 30 de "nao-existe.bin", que não está na pasta do cliente', true)
      ),
      verdict(
        "op30/local-inexistente-sem-pedido",
        "op30",
        "recomendado",
        "um arquivo local que não existe não chega a ser pedido ao servidor",
        "recomendado",
        (seen) => {
          const upload = seen.connections.find((connection) => connection.request?._tag === "Upload")
          if (upload !== undefined)
            failWith(`o cliente pediu o upload de "nao-existe.bin" sem ter o arquivo (${hex(upload.raw, 24)}).`)
        }
      )
    ]
  }
]

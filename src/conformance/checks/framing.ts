import { concat, u32 } from "../../domain/encode.ts"
import { check, endingText, failWith, hex } from "../check.ts"
import { ensure, fileA } from "../fixtures.ts"
import {
  bytesAfter,
  bytesOf,
  download,
  expectReply,
  lengthProblem,
  listing,
  rawNamed,
  readU32,
  sameBytes,
  sent
} from "../session.ts"

/** Framing: unknown operations, bad lengths, extra bytes, segmentation, one operation per connection. */

export const framingChecks = [
  check(
    "enquadramento/comprimento-declarado",
    "enquadramento",
    "enunciado",
    "o comprimento declarado conta exatamente os bytes que vêm depois (op 10 e op 20)",
    "enunciado, ops 10 e 20 (4 bytes com o tamanho a seguir); PROTOCOL.md §2",
    async (context) => {
      const file = fileA(context)
      await ensure(context, file)
      const got = await download(context, file.name)
      if (got.lengthProblem !== undefined) failWith(`op 10 de "${file.name}": ${got.lengthProblem}`)
      await listing(context)
    }
  ),

  check(
    "enquadramento/op-desconhecida",
    "enquadramento",
    "PROTOCOL.md",
    "operação desconhecida recebe 0x01",
    "PROTOCOL.md §6",
    async (context) => {
      for (const op of [0, 11, 99, 255]) {
        await expectReply(context, Uint8Array.of(op), Uint8Array.of(1), `operação ${op}`)
      }
    }
  ),

  check(
    "enquadramento/comprimento-zero",
    "enquadramento",
    "PROTOCOL.md",
    "nome de comprimento 0 recebe 0x01",
    "PROTOCOL.md §6",
    async (context) => {
      for (const op of [10, 30, 50]) {
        await expectReply(context, concat([Uint8Array.of(op), u32(0)]), Uint8Array.of(1), `op ${op} com comprimento 0`)
      }
    }
  ),

  check(
    "enquadramento/comprimento-4097",
    "enquadramento",
    "PROTOCOL.md",
    "nome acima de 4096 bytes recebe 0x01 sem esperar o nome",
    "PROTOCOL.md §6",
    async (context) => {
      // Only the length goes out: a server that waits for 4097 bytes never answers in time.
      await expectReply(
        context,
        concat([Uint8Array.of(10), u32(4097)]),
        Uint8Array.of(1),
        "op 10 com comprimento 4097 (sem enviar o nome)"
      )
    }
  ),

  check(
    "enquadramento/bytes-depois",
    "enquadramento",
    "PROTOCOL.md",
    "bytes depois do fim do pedido são ignorados",
    "PROTOCOL.md §1",
    async (context) => {
      const file = fileA(context)
      await ensure(context, file)
      const requestBytes = concat([rawNamed(10, bytesOf(file.name)), new Uint8Array(100).fill(0x5a)])
      await expectReply(
        context,
        requestBytes,
        concat([Uint8Array.of(0), u32(file.data.length), file.data]),
        `op 10 de "${file.name}" seguido de 100 bytes a mais`
      )
    }
  ),

  check(
    "enquadramento/um-byte-por-vez",
    "enquadramento",
    "PROTOCOL.md",
    "pedido que chega um byte por vez é atendido",
    "PROTOCOL.md §2 (qualquer segmentação)",
    async (context) => {
      const file = fileA(context)
      await ensure(context, file)
      const requestBytes = rawNamed(10, bytesOf(file.name))
      const probe = await context.connect()
      try {
        for (const byte of requestBytes) {
          await probe.write(Uint8Array.of(byte))
          await Bun.sleep(3)
        }
        const reply = await probe.read(5 + file.data.length, context.replyMillis)
        const expected = concat([Uint8Array.of(0), u32(file.data.length), file.data])
        if (!sameBytes(reply.bytes, expected)) {
          failWith(
            `op 10 de "${file.name}" enviado um byte por vez; recebido ${hex(reply.bytes)} (${endingText(reply.ending)}); esperado ${hex(expected)}.`
          )
        }
      } finally {
        probe.destroy()
      }
    }
  ),

  check(
    "enquadramento/uma-operacao",
    "enquadramento",
    "enunciado",
    "uma operação por conexão: o servidor fecha depois de responder",
    'enunciado: "Toda operação se dá em uma conexão"',
    async (context) => {
      const probe = await context.connect()
      try {
        await probe.write(Uint8Array.of(20))
        const head = await probe.read(5, context.replyMillis)
        if (!head.complete || head.bytes[0] !== 0) {
          failWith(
            `op 20: enviado 14; recebido ${hex(head.bytes)} (${endingText(head.ending)}); esperado 00 e o comprimento.`
          )
        }
        const declared = readU32(head.bytes, 1)
        const body = await probe.read(declared, context.replyMillis)
        const early = body.complete ? await bytesAfter(probe) : new Uint8Array(0)
        const problem = lengthProblem("op 20 (listagem)", declared, body, early)
        if (problem !== undefined) failWith(problem)
        // A second request on the same connection must get nothing.
        await probe.write(Uint8Array.of(20))
        const extra = await probe.read(1, context.replyMillis)
        if (extra.bytes.length > 0) {
          failWith(
            `depois da resposta da op 20, ${sent(Uint8Array.of(20))} de novo na mesma conexão; recebido ${hex(extra.bytes)}; esperado nada e a conexão fechada (uma operação por conexão).`
          )
        }
        const ending = await probe.waitEnd(context.replyMillis)
        if (ending === "open")
          failWith(`depois de responder à op 20 o servidor não fechou a conexão em ${context.replyMillis} ms.`)
      } finally {
        probe.destroy()
      }
    }
  )
]

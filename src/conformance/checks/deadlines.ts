import { concat, u32 } from "../../domain/encode.ts"
import { type Context, check, endingText, failWith, hex } from "../check.ts"
import { ensure, hugeFile } from "../fixtures.ts"
import { bytesOf, content, download, rawNamed } from "../session.ts"

/** Deadlines: idle and incomplete requests, stalled uploads and downloads. The checks of this category run at once. */

const deadline = (context: Context) => context.timeoutSeconds * 1000 + context.marginMillis

export const deadlineChecks = [
  check(
    "prazos/ocioso",
    "prazos",
    "enunciado",
    "conexão sem pedido é fechada no prazo",
    'enunciado: "Estabeleça um timeout para as operações"',
    async (context) => {
      const probe = await context.connect()
      const started = Date.now()
      try {
        const ending = await probe.waitEnd(deadline(context))
        if (ending === "open") {
          failWith(
            `uma conexão aberta sem enviar nada continuou aberta por ${Date.now() - started} ms; esperado que o servidor a fechasse em até ${context.timeoutSeconds} s (--timeout) + ${context.marginMillis} ms de margem.`
          )
        }
      } finally {
        probe.destroy()
      }
    }
  ),

  check(
    "prazos/pedido-incompleto",
    "prazos",
    "PROTOCOL.md",
    "pedido incompleto recebe 0x01 e é fechado no prazo",
    "PROTOCOL.md §6 e §7",
    async (context) => {
      const partial = concat([Uint8Array.of(10), u32(16), bytesOf("abc")])
      const probe = await context.connect()
      try {
        await probe.write(partial)
        const reply = await probe.readToEnd(deadline(context), 64)
        if (reply.ending === "open" || reply.bytes[0] !== 1) {
          failWith(
            `enviado ${hex(partial)} (o nome declarou 16 bytes, vieram 3) e mais nada; recebido ${hex(reply.bytes)} e ${endingText(reply.ending)} em ${deadline(context)} ms; esperado 01 e a conexão fechada no prazo.`
          )
        }
      } finally {
        probe.destroy()
      }
    }
  ),

  check(
    "prazos/envio-parado",
    "prazos",
    "PROTOCOL.md",
    "upload parado no meio recebe 0x01, é fechado e descartado",
    "PROTOCOL.md §5 op 30 e §7",
    async (context) => {
      const name = `${context.prefix}-parado.bin`
      const probe = await context.connect()
      try {
        await probe.write(rawNamed(30, bytesOf(name)))
        const first = await probe.read(1, context.replyMillis)
        if (first.bytes[0] !== 0) failWith(`op 30 de "${name}": primeiro status ${hex(first.bytes)}; esperado 00.`)
        await probe.write(concat([u32(100_000), content(1000, 21)]))
        const reply = await probe.readToEnd(deadline(context), 64)
        if (reply.ending === "open" || reply.bytes[0] !== 1) {
          failWith(
            `op 30 de "${name}" declarou 100000 bytes, enviou 1000 e parou; recebido ${hex(reply.bytes)} e ${endingText(reply.ending)} em ${deadline(context)} ms; esperado o status final 01 e a conexão fechada no prazo.`
          )
        }
      } finally {
        probe.destroy()
      }
      const after = await download(context, name)
      if (after.status === 0)
        failWith(`depois do upload parado, a op 10 de "${name}" devolve ${after.size} bytes; esperado que não exista.`)
    }
  ),

  check(
    "prazos/download-parado",
    "prazos",
    "PROTOCOL.md",
    "download de quem parou de ler é abortado no prazo",
    "PROTOCOL.md §7 (transferência parada)",
    async (context) => {
      const file = hugeFile(context)
      await ensure(context, file)
      const probe = await context.connect()
      try {
        await probe.write(rawNamed(10, bytesOf(file.name)))
        probe.pause()
        await Bun.sleep(deadline(context) + 500)
        probe.resume()
        const reply = await probe.readToEnd(context.replyMillis + 2000, 5 + file.data.length)
        const total = probe.received
        if (total >= 5 + file.data.length) {
          failWith(
            `op 10 de "${file.name}" (${file.data.length} bytes) sem ler nada por ${deadline(context) + 500} ms; depois chegaram todos os bytes; esperado que o servidor abandonasse a transferência parada em ${context.timeoutSeconds} s.`
          )
        }
        if (reply.ending === "open") {
          failWith(
            `op 10 de "${file.name}" sem ler nada por ${deadline(context) + 500} ms: ${total} bytes chegaram e a conexão continuou aberta; esperado que o servidor a fechasse.`
          )
        }
      } finally {
        probe.destroy()
      }
    }
  )
]

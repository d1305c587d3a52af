import { concat, u32 } from "../../domain/encode.ts"
import { type Context, check, failWith, hex } from "../check.ts"
import { ensure, fileA, hugeFile } from "../fixtures.ts"
import { bytesOf, download, rawNamed, sameBytes } from "../session.ts"

/** Many clients at once; one idle or slow client does not block the others. */

const timedDownload = async (context: Context, millis: number) => {
  const file = fileA(context)
  const started = Date.now()
  const got = await download(context, file.name, millis)
  const took = Date.now() - started
  const ok = got.status === 0 && got.data !== undefined && sameBytes(got.data, file.data)
  return { ok, took, got }
}

export const concurrencyChecks = [
  check(
    "concorrencia/simultaneos",
    "concorrencia",
    "enunciado",
    "20 clientes ao mesmo tempo recebem o arquivo certo",
    'enunciado: "poderá atender múltiplos clientes concorrentemente"',
    async (context) => {
      const file = fileA(context)
      await ensure(context, file)
      const results = await Promise.all(Array.from({ length: 20 }, () => download(context, file.name)))
      const bad = results.filter((got) => got.status !== 0 || got.data === undefined || !sameBytes(got.data, file.data))
      if (bad.length > 0)
        failWith(
          `20 downloads simultâneos de "${file.name}": ${bad.length} falharam (ex.: cabeçalho ${hex(bad[0]!.raw)}, ${bad[0]!.ending}).`
        )
    }
  ),

  check(
    "concorrencia/ocioso-nao-bloqueia",
    "concorrencia",
    "enunciado",
    "um cliente parado no meio do pedido não bloqueia os outros",
    'enunciado: "múltiplos threads … concorrentemente"',
    async (context) => {
      await ensure(context, fileA(context))
      const idle = await context.connect()
      try {
        await idle.write(concat([Uint8Array.of(10), u32(40), bytesOf("ab")]))
        await Bun.sleep(100)
        const { ok, took, got } = await timedDownload(context, context.promptMillis)
        if (!ok)
          failWith(
            `com outro cliente parado no meio de um pedido, a op 10 de "${fileA(context).name}" não terminou em ${context.promptMillis} ms (recebido ${hex(got.raw)}, ${got.ending}, ${took} ms); o servidor parece atender um cliente por vez.`
          )
      } finally {
        idle.destroy()
      }
    }
  ),

  check(
    "concorrencia/lento-nao-bloqueia",
    "concorrencia",
    "recomendado",
    "um download que não é lido não atrasa os outros clientes",
    "enunciado (concorrência)",
    async (context) => {
      await ensure(context, fileA(context))
      const big = hugeFile(context)
      await ensure(context, big)
      const slow = await context.connect()
      try {
        await slow.write(rawNamed(10, bytesOf(big.name)))
        slow.pause()
        await Bun.sleep(200)
        const { ok, took, got } = await timedDownload(context, context.promptMillis)
        if (!ok)
          failWith(
            `com um download de ${big.data.length} bytes parado (cliente que não lê), a op 10 de um arquivo pequeno não terminou em ${context.promptMillis} ms (recebido ${hex(got.raw)}, ${got.ending}, ${took} ms).`
          )
      } finally {
        slow.destroy()
      }
    }
  )
]

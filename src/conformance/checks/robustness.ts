import { concat, u32 } from "../../domain/encode.ts"
import { MAX_U32 } from "../../domain/protocol.ts"
import { type Context, check, failWith, hex } from "../check.ts"
import { ensure, fileA } from "../fixtures.ts"
import { bytesOf, content, download, exchange, rawNamed, sameBytes } from "../session.ts"

/** Robustness: huge declared lengths refused at once, garbage and resets never bring the server down. */

/** The server still serves a known file correctly. */
const stillServes = async (context: Context, after: string) => {
  const file = fileA(context)
  const got = await download(context, file.name)
  if (got.status !== 0 || got.data === undefined || !sameBytes(got.data, file.data)) {
    failWith(
      `depois de ${after}, a op 10 de "${file.name}" recebeu ${hex(got.raw)} (${got.ending}); o servidor deveria continuar atendendo normalmente.`
    )
  }
}

export const robustnessChecks = [
  check(
    "robustez/comprimento-4gib",
    "robustez",
    "PROTOCOL.md",
    "comprimento de nome de 4 GiB recebe 0x01 logo, sem esperar nem alocar",
    "PROTOCOL.md §6",
    async (context) => {
      await ensure(context, fileA(context))
      for (const op of [10, 30, 40, 50]) {
        const probe = await context.connect()
        try {
          await probe.write(concat([Uint8Array.of(op), u32(MAX_U32), new Uint8Array(1000).fill(0x61)]))
          const reply = await probe.read(1, context.promptMillis)
          if (!reply.complete || reply.bytes[0] !== 1) {
            failWith(
              `op ${op} com comprimento de nome ff ff ff ff (4 GiB) e 1000 bytes: recebido ${hex(reply.bytes)} em ${context.promptMillis} ms; esperado 01 logo depois dos 4 bytes do comprimento.`
            )
          }
        } finally {
          probe.destroy()
        }
      }
      await stillServes(context, "pedidos com comprimento de 4 GiB")
    }
  ),

  check(
    "robustez/envio-4gib",
    "robustez",
    "recomendado",
    "upload que declara 4 GiB e some não deixa nada e o servidor segue",
    "PROTOCOL.md §5, op 30",
    async (context) => {
      await ensure(context, fileA(context))
      const name = `${context.prefix}-declarou-4gib.bin`
      const probe = await context.connect()
      try {
        await probe.write(rawNamed(30, bytesOf(name)))
        const first = await probe.read(1, context.replyMillis)
        if (first.bytes[0] === 0) await probe.write(concat([u32(MAX_U32), content(64 * 1024, 31)]))
        await Bun.sleep(100)
      } finally {
        probe.destroy()
      }
      await Bun.sleep(200)
      await stillServes(context, "um upload que declarou 4 GiB")
      const after = await download(context, name)
      if (after.status === 0)
        failWith(
          `depois do upload de 4 GiB interrompido, a op 10 de "${name}" devolve ${after.size} bytes; esperado que não exista.`
        )
    }
  ),

  check(
    "robustez/lixo",
    "robustez",
    "recomendado",
    "200 conexões com bytes aleatórios não derrubam o servidor",
    'enunciado: "Trate erros de conexão"',
    async (context) => {
      await ensure(context, fileA(context))
      let seed = 1234
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) >>> 0
        return seed >>> 8
      }
      for (let round = 0; round < 20; round++) {
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            const ops = [10, 20, 30, 40, 50, random() & 0xff]
            const op = ops[random() % ops.length]!
            // An upload never gets a length its random name could satisfy: the
            // checker must not leave files it cannot name on the server.
            const lengths = op === 30 ? [0, 4097, 0x7fff_ffff] : [0, 1, 5, 4096, 4097, 0x7fff_ffff, random()]
            const length = lengths[random() % lengths.length]!
            const body = content(random() % 300, random())
            const probe = await context.connect()
            try {
              await probe.write(concat([Uint8Array.of(op), u32(length >>> 0), body]))
              await probe.read(1, 20 + (random() % 80))
            } finally {
              probe.destroy()
            }
          })
        )
      }
      await stillServes(context, "200 conexões com lixo")
      const listing = await exchange(context, Uint8Array.of(20))
      if (listing.bytes[0] !== 0) failWith(`depois de 200 conexões com lixo, a op 20 recebeu ${hex(listing.bytes)}.`)
    }
  ),

  check(
    "robustez/reset",
    "robustez",
    "recomendado",
    "clientes que somem no meio do pedido ou da resposta não derrubam o servidor",
    'enunciado: "Trate erros de conexão"',
    async (context) => {
      const file = fileA(context)
      await ensure(context, file)
      await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const probe = await context.connect()
          const request = rawNamed(10, bytesOf(file.name))
          await probe.write(i % 2 === 0 ? request.subarray(0, 3) : request)
          probe.destroy()
        })
      )
      await Bun.sleep(100)
      await stillServes(context, "30 clientes que desconectaram no meio")
    }
  )
]

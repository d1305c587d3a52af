import { closeSync, constants, openSync } from "node:fs"
import { mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { type Context, check, failWith, hex, skipWith } from "../check.ts"
import { ensure, fileA } from "../fixtures.ts"
import { bytesOf, download, exchange, expectReply, md5, rawNamed, upload, uploadFirstStatus } from "../session.ts"
import { resumeRequest } from "./resume.ts"

/** Names and the jail: `..` everywhere, absolute, hidden, control characters, invalid UTF-8, links, FIFOs, devices. */

/** op 10 of `name` must not serve anything (any status but 0). */
const mustNotServe = async (context: Context, name: string | Uint8Array, why: string) => {
  const got = await download(context, name)
  if (got.status === 0) {
    const shown = typeof name === "string" ? `"${name}"` : hex(name)
    failWith(
      `op 10 de ${shown} (${why}): o servidor respondeu 00 e enviou ${got.data?.length ?? 0} bytes (${hex(got.data ?? new Uint8Array(0), 16)}); esperado 01 — nada fora da pasta (ou proibido) pode ser servido.`
    )
  }
}

const outsideFolder = async (context: Context) => {
  const dir = await mkdtemp(path.join(tmpdir(), "conformidade-fora-"))
  context.planted(dir)
  await writeFile(path.join(dir, "segredo.txt"), "segredo fora da pasta servida\n")
  return dir
}

/** Unblocks a server stuck opening a FIFO for reading (an opener for writing releases it). */
const releaseFifo = (fifo: string) => {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK))
  } catch {
    // nobody is waiting on it
  }
}

/** The server still answers op 20 (used after a check that may have hurt it). */
const stillAnswers = async (context: Context, after: string) => {
  const reply = await exchange(context, Uint8Array.of(20))
  if (reply.bytes[0] !== 0)
    failWith(`depois de ${after}, a op 20 recebeu ${hex(reply.bytes)}; o servidor deveria continuar atendendo.`)
}

const special = (kind: string, name: string, create: (target: string) => boolean) =>
  check(
    `nomes/${kind}`,
    "nomes",
    "PROTOCOL.md",
    `${name} plantado na pasta recebe 0x01 sem travar`,
    "PROTOCOL.md §3 (só arquivos comuns)",
    async (context) => {
      const folder = context.folder ?? skipWith(`precisa de --pasta para plantar ${name} na pasta do servidor`)
      const target = path.join(folder, `${context.prefix}-${kind}`)
      if (!create(target)) skipWith(`não foi possível criar ${name} nesta máquina`)
      context.planted(target)
      try {
        const got = await download(context, `${context.prefix}-${kind}`)
        if (got.status !== 1) {
          failWith(
            `op 10 de ${name} "${context.prefix}-${kind}": recebido ${hex(got.raw)} (${got.ending}) em ${context.replyMillis} ms; esperado 01 logo (o servidor só abre arquivos comuns).`
          )
        }
      } finally {
        releaseFifo(target)
      }
      await stillAnswers(context, `pedir ${name}`)
    }
  )

export const nameChecks = [
  check(
    "nomes/travessia",
    "nomes",
    "enunciado",
    "`..` e caminhos absolutos não saem da pasta",
    'enunciado: "Não permita escape dessas pastas"',
    async (context) => {
      const deep = "../".repeat(12)
      for (const name of [
        `${deep}etc/passwd`,
        "/etc/passwd",
        `${context.prefix}-d/${deep}etc/passwd`,
        `..`,
        `${context.prefix}-d/..`
      ]) {
        await mustNotServe(context, name, "escape da pasta")
      }
      const probe = await exchange(context, resumeRequest(bytesOf(`${deep}etc/passwd`), 0, md5(new Uint8Array(0))))
      if (probe.bytes[0] === 0 && probe.bytes[1] === 0) {
        failWith(
          `op 40 de "${deep}etc/passwd" da posição 0: recebido ${hex(probe.bytes)}; esperado 01 — o servidor enviou um arquivo de fora da pasta.`
        )
      }
    }
  ),

  check(
    "nomes/ponto-e-absoluto",
    "nomes",
    "PROTOCOL.md",
    "`..`, `.`, `/` no início e `\\` são nomes inválidos (0x01)",
    "PROTOCOL.md §3",
    async (context) => {
      const file = fileA(context)
      await ensure(context, file)
      const names = [
        `${context.prefix}-d/../${file.name}`,
        `./${file.name}`,
        `/${file.name}`,
        `${file.name}/.`,
        `${file.name}/..`,
        `${context.prefix}-d//${file.name}`,
        `${context.prefix}-d\\..\\${file.name}`
      ]
      for (const name of names) {
        await expectReply(context, rawNamed(10, bytesOf(name)), Uint8Array.of(1), `op 10 de "${name}"`)
      }
    }
  ),

  check(
    "nomes/controle-e-utf8",
    "nomes",
    "PROTOCOL.md",
    "caracteres de controle e UTF-8 inválido recebem 0x01",
    "PROTOCOL.md §3",
    async (context) => {
      const base = bytesOf(`${context.prefix}-x`)
      const cases: Array<[string, Uint8Array]> = [
        ["com NUL", new Uint8Array([...base, 0x00, 0x41])],
        ["com 0x01", new Uint8Array([...base, 0x01])],
        ["com quebra de linha", new Uint8Array([...base, 0x0a])],
        ["com DEL", new Uint8Array([...base, 0x7f])],
        ["com bytes ff fe", new Uint8Array([...base, 0xff, 0xfe])],
        ["com / overlong (c0 af)", new Uint8Array([...base, 0xc0, 0xaf])],
        ["com surrogate (ed a0 80)", new Uint8Array([...base, 0xed, 0xa0, 0x80])]
      ]
      for (const [what, name] of cases) {
        await expectReply(context, rawNamed(10, name), Uint8Array.of(1), `op 10 de um nome ${what} (${hex(name, 40)})`)
        const first = await uploadFirstStatus(context, name)
        if (first !== 1)
          failWith(
            `op 30 de um nome ${what} (${hex(name, 40)}): primeiro status ${first === undefined ? "nenhum" : hex(Uint8Array.of(first))}; esperado 01.`
          )
      }
    }
  ),

  check(
    "nomes/envio-invalido",
    "nomes",
    "PROTOCOL.md",
    "upload com nome inválido, absoluto ou oculto: primeiro status 0x01",
    "PROTOCOL.md §3 e §5, op 30",
    async (context) => {
      if (context.folder !== undefined) {
        // A server without a jail may create these as it accepts: they are this run's names, removed at the end.
        context.planted(path.join(path.dirname(context.folder), `${context.prefix}-fora.txt`))
        context.planted(`/tmp/${context.prefix}-fora.txt`)
      }
      for (const name of [
        `../${context.prefix}-fora.txt`,
        `/tmp/${context.prefix}-fora.txt`,
        `${context.prefix}-d/../../${context.prefix}-fora.txt`,
        `.${context.prefix}-oculto.txt`,
        `${context.prefix}-d/.oculto.txt`
      ]) {
        // Only the name goes out: even a server that accepts it gets no data to write.
        const first = await uploadFirstStatus(context, bytesOf(name))
        if (first !== 1)
          failWith(
            `op 30 de "${name}": primeiro status ${first === undefined ? "nenhum" : hex(Uint8Array.of(first))}; esperado 01 (nome inválido).`
          )
      }
    }
  ),

  check(
    "nomes/oculto",
    "nomes",
    "PROTOCOL.md",
    "arquivo oculto plantado na pasta não é servido",
    "PROTOCOL.md §3",
    async (context) => {
      const folder = context.folder ?? skipWith("precisa de --pasta para plantar um arquivo oculto")
      const hidden = path.join(folder, `.${context.prefix}-segredo.txt`)
      await writeFile(hidden, "oculto\n")
      context.planted(hidden)
      await mustNotServe(context, `.${context.prefix}-segredo.txt`, "arquivo oculto")
    }
  ),

  check(
    "nomes/envio-fora",
    "nomes",
    "enunciado",
    "upload com `..` não grava fora da pasta",
    'enunciado: "Não permita escape dessas pastas"',
    async (context) => {
      const folder = context.folder ?? skipWith("precisa de --pasta para ver se algo foi gravado fora da pasta")
      const parent = path.dirname(path.resolve(folder))
      const name = `${context.prefix}-fora.txt`
      const outside = path.join(parent, name)
      context.planted(outside)
      await upload(context, `../${name}`, bytesOf("escapou\n"))
      await Bun.sleep(100)
      if ((await readdir(parent)).includes(name)) {
        failWith(`op 30 de "../${name}" criou ${outside}, fora da pasta servida.`)
      }
    }
  ),

  check(
    "nomes/link-fora",
    "nomes",
    "enunciado",
    "links simbólicos para fora da pasta não são seguidos",
    'enunciado: "arquivos fora delas jamais deverão ser atendidos"',
    async (context) => {
      const folder = context.folder ?? skipWith("precisa de --pasta para plantar links simbólicos na pasta do servidor")
      const outside = await outsideFolder(context)
      const fileLink = path.join(folder, `${context.prefix}-link-fora.txt`)
      const dirLink = path.join(folder, `${context.prefix}-pasta-fora`)
      await symlink(path.join(outside, "segredo.txt"), fileLink)
      context.planted(fileLink)
      await symlink(outside, dirLink)
      context.planted(dirLink)
      await mustNotServe(context, `${context.prefix}-link-fora.txt`, "link para um arquivo fora da pasta")
      await mustNotServe(
        context,
        `${context.prefix}-pasta-fora/segredo.txt`,
        "dentro de um link para uma pasta de fora"
      )
      const resumed = await exchange(
        context,
        resumeRequest(bytesOf(`${context.prefix}-link-fora.txt`), 0, md5(new Uint8Array(0)))
      )
      if (resumed.bytes[0] === 0 && resumed.bytes[1] === 0) {
        failWith(
          `op 40 de "${context.prefix}-link-fora.txt" (link para fora) da posição 0: recebido ${hex(resumed.bytes)}; esperado que nada seja enviado.`
        )
      }
      await upload(context, `${context.prefix}-pasta-fora/novo.txt`, bytesOf("escapou\n"))
      await Bun.sleep(100)
      if ((await readdir(outside)).includes("novo.txt")) {
        await rm(path.join(outside, "novo.txt"), { force: true })
        failWith(
          `op 30 de "${context.prefix}-pasta-fora/novo.txt" gravou dentro de ${outside}, fora da pasta servida, através de um link simbólico.`
        )
      }
    }
  ),

  special("fifo", "um FIFO", (target) => Bun.spawnSync(["mkfifo", target]).exitCode === 0),
  special(
    "dispositivo",
    "um dispositivo (/dev/zero)",
    (target) => Bun.spawnSync(["mknod", target, "c", "1", "5"]).exitCode === 0
  )
]

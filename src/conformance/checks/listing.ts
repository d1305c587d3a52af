import { mkdir, symlink, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { type Context, check, failWith, skipWith } from "../check.ts"
import { emptyFile, ensure, fileA, nestedFile } from "../fixtures.ts"
import { listing } from "../session.ts"

/** op 20: the framing, strict JSON, `tamanho` as decimal text, recursion, order, hidden entries and links left out. */

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/** The listing read as strictly as PROTOCOL.md asks: the text, or why it is not JSON. */
const strict = (body: Uint8Array): { readonly value?: unknown; readonly problem?: string } => {
  let text: string
  try {
    text = strictUtf8.decode(body)
  } catch {
    return { problem: "a listagem não é UTF-8 válido" }
  }
  try {
    return { value: JSON.parse(text) }
  } catch {
    const hint = text.includes("'")
      ? " (usa aspas simples)"
      : /,\s*[\]}]/.test(text)
        ? " (tem vírgula antes de ] ou })"
        : ""
    return { problem: `a listagem não é JSON válido${hint}; início: ${JSON.stringify(text.slice(0, 60))}` }
  }
}

/**
 * The listing read as leniently as the assignment's own example (single
 * quotes, a trailing comma), so the assignment's checks can still pass.
 */
const lenient = (body: Uint8Array): Array<{ nome: unknown; tamanho: unknown }> | undefined => {
  const text = new TextDecoder().decode(body)
  for (const candidate of [text, text.replace(/'/g, '"').replace(/,\s*([\]}])/g, "$1")]) {
    try {
      const value = JSON.parse(candidate)
      if (Array.isArray(value)) return value
    } catch {
      // try the next reading
    }
  }
  return undefined
}

const entriesOf = async (context: Context) => {
  const { body } = await listing(context)
  const read = lenient(body)
  if (read === undefined)
    return failWith(
      `op 20: não foi possível ler a listagem nem como JSON nem no formato do exemplo do enunciado; início: ${JSON.stringify(new TextDecoder().decode(body.subarray(0, 60)))}.`
    )
  return read
}

const names = (entries: ReadonlyArray<{ nome: unknown }>) => new Set(entries.map((entry) => String(entry.nome)))

export const listingChecks = [
  check(
    "op20/conteudo",
    "op20",
    "enunciado",
    "listagem com status 0, comprimento e os arquivos com seus tamanhos",
    "enunciado, op 20",
    async (context) => {
      const files = [fileA(context), emptyFile(context)]
      for (const file of files) await ensure(context, file)
      const entries = await entriesOf(context)
      for (const file of files) {
        const entry = entries.find((e) => e?.nome === file.name)
        if (entry === undefined) failWith(`op 20: a listagem não tem "${file.name}", enviado antes com op 30.`)
        if (String(entry!.tamanho) !== String(file.data.length)) {
          failWith(
            `op 20: "${file.name}" aparece com tamanho ${JSON.stringify(entry!.tamanho)}; esperado "${file.data.length}".`
          )
        }
      }
    }
  ),

  check(
    "op20/json",
    "op20",
    "PROTOCOL.md",
    "a listagem é JSON válido: array de objetos só com nome e tamanho",
    "PROTOCOL.md §5, op 20",
    async (context) => {
      const { body } = await listing(context)
      const { value, problem } = strict(body)
      if (problem !== undefined)
        failWith(`op 20: ${problem}; PROTOCOL.md pede JSON de verdade (aspas duplas, sem vírgula final).`)
      if (!Array.isArray(value)) failWith(`op 20: o JSON não é um array.`)
      ;(value as Array<unknown>).forEach((entry, i) => {
        const keys = entry !== null && typeof entry === "object" ? Object.keys(entry).sort() : []
        if (keys.length !== 2 || keys[0] !== "nome" || keys[1] !== "tamanho") {
          failWith(
            `op 20: o item ${i} é ${JSON.stringify(entry)}; esperado um objeto com exatamente as chaves "nome" e "tamanho".`
          )
        }
        if (typeof (entry as { nome: unknown }).nome !== "string") failWith(`op 20: o "nome" do item ${i} não é texto.`)
      })
    }
  ),

  check(
    "op20/tamanho-texto",
    "op20",
    "PROTOCOL.md",
    '"tamanho" é texto decimal, como "12345"',
    "PROTOCOL.md §5, op 20; exemplo do enunciado",
    async (context) => {
      await ensure(context, fileA(context))
      const entries = await entriesOf(context)
      for (const entry of entries) {
        const size = entry?.tamanho
        if (typeof size !== "string" || !/^(0|[1-9][0-9]*)$/.test(size)) {
          failWith(
            `op 20: "${String(entry?.nome)}" tem "tamanho": ${JSON.stringify(size)}; esperado texto com só dígitos e sem zeros à esquerda (ex.: "3000").`
          )
        }
      }
    }
  ),

  check(
    "op20/recursiva",
    "op20",
    "PROTOCOL.md",
    "arquivos em subpastas aparecem como pasta/sub/nome",
    "PROTOCOL.md §5, op 20",
    async (context) => {
      const file = nestedFile(context)
      await ensure(context, file)
      const entries = await entriesOf(context)
      if (!names(entries).has(file.name))
        failWith(
          `op 20: a listagem não tem "${file.name}" (arquivo numa subpasta); PROTOCOL.md pede listagem recursiva com nomes separados por /.`
        )
    }
  ),

  check(
    "op20/ordenada",
    "op20",
    "PROTOCOL.md",
    "listagem ordenada por nome (ordem dos bytes UTF-8)",
    "PROTOCOL.md §5, op 20",
    async (context) => {
      await ensure(context, fileA(context))
      await ensure(context, emptyFile(context))
      const entries = await entriesOf(context)
      const list = entries.map((entry) => Buffer.from(String(entry?.nome)))
      for (let i = 1; i < list.length; i++) {
        if (Buffer.compare(list[i - 1]!, list[i]!) >= 0) {
          failWith(
            `op 20: "${list[i - 1]}" vem antes de "${list[i]}"; esperado ordem crescente dos bytes UTF-8, sem repetição.`
          )
        }
      }
    }
  ),

  check(
    "op20/ocultos-e-links",
    "op20",
    "PROTOCOL.md",
    "ocultos e links simbólicos ficam fora da listagem",
    "PROTOCOL.md §5, op 20",
    async (context) => {
      const folder =
        context.folder ??
        skipWith("precisa de --pasta (a pasta do servidor nesta máquina) para plantar arquivos ocultos e links")
      const file = fileA(context)
      await ensure(context, file)
      const hiddenFile = path.join(folder, `.${context.prefix}-oculto.txt`)
      const hiddenDir = path.join(folder, `.${context.prefix}-pasta`)
      const link = path.join(folder, `${context.prefix}-link.bin`)
      await writeFile(hiddenFile, "oculto")
      context.planted(hiddenFile)
      await mkdir(hiddenDir)
      context.planted(hiddenDir)
      await writeFile(path.join(hiddenDir, "dentro.txt"), "oculto")
      await symlink(file.name, link)
      context.planted(link)
      const listed = names(await entriesOf(context))
      for (const name of [
        `.${context.prefix}-oculto.txt`,
        `.${context.prefix}-pasta/dentro.txt`,
        `${context.prefix}-link.bin`
      ]) {
        if (listed.has(name))
          failWith(
            `op 20: a listagem mostra "${name}"; PROTOCOL.md deixa de fora arquivos e pastas ocultos e links simbólicos.`
          )
      }
    }
  )
]

import * as Either from "effect/Either"
import { checkMask, checkName, describeNameProblem } from "../../../domain/names.ts"
import { MAX_U32 } from "../../../domain/protocol.ts"
import { printable } from "./format.ts"

/** The commands people type, their aliases and their help, in one table. */

export type Command =
  | { readonly _tag: "List"; readonly json: boolean }
  | { readonly _tag: "Download"; readonly name: string }
  | { readonly _tag: "Upload"; readonly name: string }
  | { readonly _tag: "Resume"; readonly name: string; readonly position: number | undefined }
  | { readonly _tag: "DownloadMany"; readonly mask: string }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Quit" }

interface CommandSpec {
  readonly name: string
  readonly aliases: ReadonlyArray<string>
  readonly usage: string
  readonly summary: string
  readonly example: string
  readonly parse: (args: ReadonlyArray<string>) => Either.Either<Command, string>
}

const name = (args: ReadonlyArray<string>, usage: string) => {
  if (args.length !== 1) return Either.left(`uso: ${usage}`)
  return Either.mapLeft(
    checkName(args[0]!),
    (problem) => `nome inválido "${printable(args[0]!)}": ${describeNameProblem(problem)}`
  )
}

export const COMMANDS: ReadonlyArray<CommandSpec> = [
  {
    name: "listar",
    aliases: ["ls"],
    usage: "listar [--json]",
    summary: "lista os arquivos do servidor, com tamanho; --json mostra o JSON do servidor como veio",
    example: "listar",
    parse: (args) =>
      args.length === 0 || (args.length === 1 && args[0] === "--json")
        ? Either.right({ _tag: "List", json: args.length === 1 })
        : Either.left("uso: listar [--json]")
  },
  {
    name: "baixar",
    aliases: ["get"],
    usage: "baixar NOME",
    summary: "baixa um arquivo para a pasta local; se houver um download parcial dele, continua de onde parou",
    example: "baixar fotos/praia.jpg",
    parse: (args) => Either.map(name(args, "baixar NOME"), (name) => ({ _tag: "Download", name }))
  },
  {
    name: "enviar",
    aliases: ["put"],
    usage: "enviar NOME",
    summary: "envia um arquivo da pasta local para o servidor, com o mesmo nome",
    example: "enviar relatorio.pdf",
    parse: (args) => Either.map(name(args, "enviar NOME"), (name) => ({ _tag: "Upload", name }))
  },
  {
    name: "retomar",
    aliases: ["reget"],
    usage: "retomar NOME [POSICAO]",
    summary:
      "continua um download interrompido depois de o servidor conferir o MD5 da parte que você tem; POSICAO menor corta a parte local",
    example: "retomar video.mp4",
    parse: (args) => {
      if (args.length === 0 || args.length > 2) return Either.left("uso: retomar NOME [POSICAO]")
      const position = args[1]
      if (position !== undefined && !(/^\d+$/.test(position) && Number(position) <= MAX_U32)) {
        return Either.left(`posição inválida: "${printable(position)}" (use um número de bytes)`)
      }
      return Either.map(name(args.slice(0, 1), "retomar NOME [POSICAO]"), (name) => ({
        _tag: "Resume",
        name,
        position: position === undefined ? undefined : Number(position)
      }))
    }
  },
  {
    name: "baixar-varios",
    aliases: ["mget"],
    usage: "baixar-varios MASCARA",
    summary: "baixa todos os arquivos que casam com a máscara (*, ? e [...]; * não atravessa /)",
    example: "baixar-varios *.jpg",
    parse: (args) =>
      args.length !== 1
        ? Either.left("uso: baixar-varios MASCARA")
        : Either.map(
            Either.mapLeft(
              checkMask(args[0]!),
              (problem) => `máscara inválida "${printable(args[0]!)}": ${describeNameProblem(problem)}`
            ),
            (mask) => ({ _tag: "DownloadMany", mask })
          )
  },
  {
    name: "ajuda",
    aliases: ["help", "?"],
    usage: "ajuda",
    summary: "mostra esta ajuda",
    example: "ajuda",
    parse: () => Either.right({ _tag: "Help" })
  },
  {
    name: "sair",
    aliases: ["quit", "exit"],
    usage: "sair",
    summary: "encerra o cliente (Ctrl+D também)",
    example: "sair",
    parse: () => Either.right({ _tag: "Quit" })
  }
]

/** Every word that starts a command, for completion. */
export const COMMAND_WORDS: ReadonlyArray<string> = COMMANDS.flatMap((spec) => [spec.name, ...spec.aliases])

/** Splits a line into words; "double" or 'single' quotes keep spaces inside a word. */
export const tokenize = (line: string): Either.Either<ReadonlyArray<string>, string> => {
  const words: Array<string> = []
  let current = ""
  let inWord = false
  let quote: string | undefined
  for (const char of line) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined
      else current += char
    } else if (char === '"' || char === "'") {
      quote = char
      inWord = true
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current)
      current = ""
      inWord = false
    } else {
      current += char
      inWord = true
    }
  }
  if (quote !== undefined) return Either.left("aspas sem fechamento")
  if (inWord) words.push(current)
  return Either.right(words)
}

/** A parsed command, or a Portuguese message saying what is wrong with the line. */
export const parseCommand = (words: ReadonlyArray<string>): Either.Either<Command, string> => {
  const [word, ...args] = words
  if (word === undefined) return Either.left("linha vazia")
  const spec = COMMANDS.find((spec) => spec.name === word || spec.aliases.includes(word))
  if (spec === undefined) return Either.left(`comando desconhecido: "${printable(word)}" (digite ajuda)`)
  return spec.parse(args)
}

export const HELP_TEXT = [
  "Comandos:",
  ...COMMANDS.map(
    (spec) =>
      `  ${spec.usage.padEnd(24)} ${spec.summary}\n  ${"".padEnd(24)} (também: ${spec.aliases.join(", ")})  exemplo: ${spec.example}`
  ),
  "",
  'Nomes com espaço vão entre aspas: baixar "minhas fotos/a.jpg".',
  "Durante uma transferência, Ctrl+C cancela (o download parcial fica para retomar)."
].join("\n")

import * as Either from "effect/Either"
import { checkMask, checkName, describeNameProblem } from "../../../domain/names.ts"
import { fitsU32 } from "../../../domain/protocol.ts"
import { printable } from "./format.ts"

/** The commands people type, their aliases and their help, in one table. */

export type Command =
  | { readonly _tag: "List"; readonly json: boolean }
  | { readonly _tag: "Download"; readonly name: string; readonly target?: string }
  | { readonly _tag: "Upload"; readonly name: string }
  | { readonly _tag: "UploadMany"; readonly mask: string }
  | { readonly _tag: "Resume"; readonly name: string; readonly position: number | undefined }
  | { readonly _tag: "DownloadMany"; readonly mask: string }
  | { readonly _tag: "LocalList" }
  | { readonly _tag: "LocalFolder" }
  | { readonly _tag: "LocalChange"; readonly folder?: string }
  /** Several names or masks in one line: each runs in turn; the worst status is the line's. */
  | { readonly _tag: "Each"; readonly commands: ReadonlyArray<Command> }
  | { readonly _tag: "Help"; readonly topic?: string }
  | { readonly _tag: "Quit" }

interface CommandSpec {
  readonly name: string
  readonly aliases: ReadonlyArray<string>
  readonly usage: string
  readonly summary: string
  /** What `ajuda COMANDO` shows, first one also in the full help. */
  readonly examples: ReadonlyArray<string>
  readonly parse: (args: ReadonlyArray<string>) => Either.Either<Command, string>
}

/** "./a.txt" is "a.txt", as in a shell. */
const withoutDotSlash = (word: string) => word.replace(/^(\.\/+)+/, "")

/** A usage error; when the words look like one name split at a space, the hint says how to keep it whole. */
const usage = (text: string, args: ReadonlyArray<string>, split: boolean) =>
  Either.left(
    split
      ? `uso: ${text} (um nome com espaço vai entre aspas ou com \\ antes do espaço: "${printable(args.join(" "))}" ou ${printable(args.join("\\ "))})`
      : `uso: ${text}`
  )

const checkedName = (word: string) => {
  const name = withoutDotSlash(word)
  return Either.mapLeft(
    checkName(name),
    (problem) => `nome inválido "${printable(word)}": ${describeNameProblem(problem)}`
  )
}

const name = (args: ReadonlyArray<string>, text: string) =>
  args.length !== 1 ? usage(text, args, args.length > 1) : checkedName(args[0]!)

/** One command for each word, or several run in turn. */
const each = (commands: ReadonlyArray<Command>): Command =>
  commands.length === 1 ? commands[0]! : { _tag: "Each", commands }

/** Every word checked by `check`; the first problem is the answer. */
const all = <A>(words: ReadonlyArray<string>, check: (word: string) => Either.Either<A, string>) =>
  Either.all(words.map(check))

const checkedMask = (word: string) =>
  Either.mapLeft(
    checkMask(withoutDotSlash(word)),
    (problem) => `máscara inválida "${printable(word)}": ${describeNameProblem(problem)}`
  )

const noArguments = (text: string, command: Command) => (args: ReadonlyArray<string>) =>
  args.length === 0 ? Either.right(command) : Either.left(`uso: ${text}`)

export const COMMANDS: ReadonlyArray<CommandSpec> = [
  {
    name: "listar",
    aliases: ["ls"],
    usage: "listar [--json]",
    summary: "lista os arquivos do servidor, com tamanho; --json mostra o JSON do servidor como veio",
    examples: ["listar", "listar --json"],
    parse: (args) =>
      args.length === 0 || (args.length === 1 && args[0] === "--json")
        ? Either.right({ _tag: "List", json: args.length === 1 })
        : Either.left("uso: listar [--json]")
  },
  {
    name: "baixar",
    aliases: ["get"],
    usage: "baixar NOME... [-o DESTINO]",
    summary:
      "baixa arquivos para a pasta local, um depois do outro; se houver um download parcial de um deles, continua de onde parou; -o grava um arquivo com outro nome (dentro da pasta local)",
    examples: [
      "baixar fotos/praia.jpg",
      "baixar a.txt b.jpg",
      'baixar "minhas fotos/a.jpg"',
      "baixar minhas\\ fotos/a.jpg",
      "baixar relatorio.pdf -o copia.pdf"
    ],
    parse: (args) => {
      const at = args.indexOf("-o")
      if (at >= 0) {
        const names = [...args.slice(0, at), ...args.slice(at + 2)]
        const target = args[at + 1]
        if (target === undefined || names.length !== 1)
          return Either.left("uso: baixar NOME -o DESTINO (um arquivo só)")
        return Either.flatMap(checkedName(names[0]!), (name) =>
          Either.map(checkedName(target), (target): Command => ({ _tag: "Download", name, target }))
        )
      }
      return args.length === 0
        ? Either.left("uso: baixar NOME... [-o DESTINO]")
        : Either.map(all(args, checkedName), (names) => each(names.map((name) => ({ _tag: "Download", name }))))
    }
  },
  {
    name: "enviar",
    aliases: ["put"],
    usage: "enviar NOME",
    summary: "envia um arquivo da pasta local para o servidor, com o mesmo nome",
    examples: ["enviar relatorio.pdf", 'enviar "notas de aula.txt"'],
    parse: (args) => Either.map(name(args, "enviar NOME"), (name) => ({ _tag: "Upload", name }))
  },
  {
    name: "enviar-varios",
    aliases: ["mput"],
    usage: "enviar-varios MASCARA...",
    summary:
      "envia todos os arquivos da pasta local que casam com a máscara, com as mesmas regras do baixar-varios (*, ? e [...]; * não atravessa /)",
    examples: ["enviar-varios *.pdf", "enviar-varios 'fotos/*.jpg' '*.txt'"],
    parse: (args) =>
      args.length === 0
        ? Either.left("uso: enviar-varios MASCARA...")
        : Either.map(all(args, checkedMask), (masks) => each(masks.map((mask) => ({ _tag: "UploadMany", mask }))))
  },
  {
    name: "retomar",
    aliases: ["reget"],
    usage: "retomar NOME [POSICAO]",
    summary:
      "continua um download interrompido depois de o servidor conferir o MD5 da parte que você tem; POSICAO menor corta a parte local",
    examples: ["retomar video.mp4", "retomar video.mp4 1048576"],
    parse: (args) => {
      if (args.length === 0) return Either.left("uso: retomar NOME [POSICAO]")
      const position = args[1]
      if (position !== undefined && !/^\d+$/.test(position)) {
        // "retomar minhas fotos.jpg": a name split at a space, not a position.
        return args.length > 2 || !/\d/.test(position)
          ? usage("retomar NOME [POSICAO]", args, true)
          : Either.left(`posição inválida: "${printable(position)}" (use um número de bytes)`)
      }
      if (args.length > 2) return usage("retomar NOME [POSICAO]", args, true)
      if (position !== undefined && !fitsU32(Number(position))) {
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
    usage: "baixar-varios MASCARA...",
    summary: "baixa todos os arquivos que casam com a máscara (*, ? e [...]; * não atravessa /)",
    examples: ["baixar-varios *.jpg", "baixar-varios '*.jpg' '*.txt'", "baixar-varios 'fotos/2024/*'"],
    parse: (args) =>
      args.length === 0
        ? Either.left("uso: baixar-varios MASCARA...")
        : Either.map(all(args, checkedMask), (masks) => each(masks.map((mask) => ({ _tag: "DownloadMany", mask }))))
  },
  {
    name: "lls",
    aliases: [],
    usage: "lls",
    summary: "lista os arquivos da pasta local (downloads parciais incluídos)",
    examples: ["lls"],
    parse: noArguments("lls", { _tag: "LocalList" })
  },
  {
    name: "lcd",
    aliases: [],
    usage: "lcd [PASTA]",
    summary:
      "muda a pasta local onde os comandos gravam e leem, sempre dentro da pasta do cliente; sem PASTA, volta para ela",
    examples: ["lcd fotos", "lcd ..", "lcd"],
    parse: (args) =>
      args.length > 1
        ? usage("lcd [PASTA]", args, true)
        : Either.right(args.length === 0 ? { _tag: "LocalChange" } : { _tag: "LocalChange", folder: args[0]! })
  },
  {
    name: "lpwd",
    aliases: [],
    usage: "lpwd",
    summary: "mostra a pasta local, onde os downloads são gravados",
    examples: ["lpwd"],
    parse: noArguments("lpwd", { _tag: "LocalFolder" })
  },
  {
    name: "ajuda",
    aliases: ["help", "?"],
    usage: "ajuda [COMANDO]",
    summary: "mostra esta ajuda; com um comando, só ele, com exemplos",
    examples: ["ajuda", "ajuda baixar"],
    parse: (args) => {
      if (args.length === 0) return Either.right({ _tag: "Help" })
      if (args.length > 1) return Either.left("uso: ajuda [COMANDO]")
      const spec = specFor(args[0]!)
      return spec === undefined
        ? Either.left(
            `comando desconhecido: "${printable(args[0]!)}" (comandos: ${COMMANDS.map((spec) => spec.name).join(", ")})`
          )
        : Either.right({ _tag: "Help", topic: spec.name })
    }
  },
  {
    name: "sair",
    aliases: ["quit", "exit"],
    usage: "sair",
    summary: "encerra o cliente (Ctrl+D também)",
    examples: ["sair"],
    parse: () => Either.right({ _tag: "Quit" })
  }
]

export const specFor = (word: string) => COMMANDS.find((spec) => spec.name === word || spec.aliases.includes(word))

/** Every word that starts a command, for completion. */
export const COMMAND_WORDS: ReadonlyArray<string> = COMMANDS.flatMap((spec) => [spec.name, ...spec.aliases])

/** A name as the prompt reads it back: bare, or in quotes when it has a space or a quote. */
export const promptWord = (name: string): string =>
  !/[\s"'\\]/.test(name) ? name : name.includes('"') ? `'${name}'` : `"${name}"`

/**
 * Splits a line into words as a shell does: "double" or 'single' quotes keep
 * spaces inside a word, and outside single quotes a backslash takes the next
 * character as is (minhas\\ fotos/a.jpg). Names never hold a backslash, so
 * this loses nothing.
 */
export const tokenize = (line: string): Either.Either<ReadonlyArray<string>, string> => {
  const words: Array<string> = []
  let current = ""
  let inWord = false
  let quote: string | undefined
  const chars = Array.from(line)
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!
    if (char === "\\" && quote !== "'") {
      const next = chars[++i]
      if (next === undefined) return Either.left("barra invertida no fim da linha")
      current += next
      inWord = true
    } else if (quote !== undefined) {
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

/**
 * Where a command line comes from: typed at the prompt (where "ajuda" can be
 * typed next), or from a script, stdin or the program's arguments (where it cannot).
 */
export type LineSource = "prompt" | "batch"

/** A parsed command, or a Portuguese message saying what is wrong with the line. */
export const parseCommand = (
  words: ReadonlyArray<string>,
  source: LineSource = "prompt"
): Either.Either<Command, string> => {
  const [word, ...args] = words
  if (word === undefined) return Either.left("linha vazia")
  const spec = specFor(word)
  if (spec === undefined) {
    const hint = source === "prompt" ? "digite ajuda" : `comandos: ${COMMANDS.map((spec) => spec.name).join(", ")}`
    return Either.left(`comando desconhecido: "${printable(word)}" (${hint})`)
  }
  return spec.parse(args)
}

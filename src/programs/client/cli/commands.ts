import * as Either from "effect/Either"
import { checkMask, checkName, describeNameProblem, type NameProblem } from "../../../domain/names.ts"
import { fitsU32 } from "../../../domain/protocol.ts"
import { printable } from "./format.ts"

/** The commands people type, their aliases and their help, in one table. */

export type Command =
  | { readonly _tag: "List"; readonly json: boolean }
  /** `continued` (-c): a complete local file is checked and kept (as `wget -c`), not downloaded again. */
  | { readonly _tag: "Download"; readonly name: string; readonly target?: string; readonly continued?: true }
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
  /** One bad word of a line with several: said in its turn, with status 2, while the others run. */
  | { readonly _tag: "Invalid"; readonly message: string }
  | { readonly _tag: "Quit" }

interface CommandSpec {
  readonly name: string
  readonly aliases: ReadonlyArray<string>
  readonly usage: string
  /** A few words for the one-screen summary of `ajuda`. */
  readonly brief: string
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

/** A name checked by the protocol's rules; `hint` may add what to do about a problem. */
const checkedName = (word: string, hint: (problem: NameProblem) => string | undefined = () => undefined) =>
  Either.mapLeft(checkName(withoutDotSlash(word)), (problem) => {
    const message = `nome inválido "${printable(word)}": ${describeNameProblem(problem)}`
    const extra = hint(problem)
    return extra === undefined ? message : `${message}. ${extra}`
  })

/** A local file outside the client folder: where `enviar` reads from, and how to send it anyway. */
const checkedLocalName = (word: string) =>
  checkedName(word, (problem) =>
    problem === "Absolute" || problem === "DotComponent"
      ? "enviar lê da pasta local do cliente (veja lpwd); copie o arquivo para ela, ou inicie o cliente com --pasta apontando para a pasta dele"
      : undefined
  )

const name = (args: ReadonlyArray<string>, text: string) =>
  args.length !== 1 ? usage(text, args, args.length > 1) : checkedName(args[0]!)

/** One command for each word, or several run in turn. */
const each = (commands: ReadonlyArray<Command>): Command =>
  commands.length === 1 ? commands[0]! : { _tag: "Each", commands }

const checkedMask = (word: string) =>
  Either.mapLeft(
    checkMask(withoutDotSlash(word)),
    (problem) => `máscara inválida "${printable(word)}": ${describeNameProblem(problem)}`
  )

const noArguments = (text: string, command: Command) => (args: ReadonlyArray<string>) =>
  args.length === 0 ? Either.right(command) : Either.left(`uso: ${text}`)

/** A command's words split into names and the options it knows. */
interface Parsed {
  readonly names: ReadonlyArray<string>
  readonly flags: ReadonlySet<string>
  readonly values: ReadonlyMap<string, string>
}

/** What an option people bring from sftp or lftp means here, when it has no meaning of its own. */
const OPTION_HINTS: Readonly<Record<string, string>> = {
  "-r": "pastas inteiras vão por máscara: baixar-varios 'PASTA/*' ou enviar-varios 'PASTA/*'",
  "-R": "pastas inteiras vão por máscara: baixar-varios 'PASTA/*' ou enviar-varios 'PASTA/*'"
}

/**
 * Options as sftp and lftp take them: those `known` anywhere among the
 * names, `--` ending them; any other word that starts with `-` is refused
 * with the usage, so it never reaches the server as a name.
 */
const withOptions = (
  args: ReadonlyArray<string>,
  usageText: string,
  known: { readonly flags?: ReadonlyArray<string>; readonly valued?: ReadonlyArray<string> } = {}
): Either.Either<Parsed, string> => {
  const names: Array<string> = []
  const flags = new Set<string>()
  const values = new Map<string, string>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") {
      names.push(...args.slice(i + 1))
      break
    }
    // A negative number is a bad position, not an option.
    if (!arg.startsWith("-") || arg === "-" || /^-\d+$/.test(arg)) names.push(arg)
    else if (known.flags?.includes(arg)) flags.add(arg)
    else if (known.valued?.includes(arg)) {
      const value = args[++i]
      if (value === undefined) return Either.left(`${arg} precisa de um valor (uso: ${usageText})`)
      values.set(arg, value)
    } else {
      const hint = OPTION_HINTS[arg]
      return Either.left(
        `opção desconhecida: ${printable(arg)} (${hint === undefined ? `uso: ${usageText}; um nome que começa com - vai depois de --` : hint})`
      )
    }
  }
  return Either.right({ names, flags, values })
}

/**
 * One command per word. With several words, a bad one becomes its own
 * message in its turn and the others still run (as lftp); a single bad
 * word is the line's error.
 */
const perWord = (
  words: ReadonlyArray<string>,
  check: (word: string) => Either.Either<string, string>,
  make: (checked: string) => Command
): Either.Either<Command, string> =>
  words.length === 1
    ? Either.map(check(words[0]!), make)
    : Either.right(
        each(
          words.map((word) =>
            Either.match(check(word), {
              onLeft: (message): Command => ({ _tag: "Invalid", message }),
              onRight: make
            })
          )
        )
      )

export const COMMANDS: ReadonlyArray<CommandSpec> = [
  {
    name: "listar",
    aliases: ["ls"],
    usage: "listar [--json]",
    brief: "lista os arquivos do servidor, com tamanho",
    summary:
      "lista os arquivos do servidor, com tamanho (nomes longos encurtados no meio para caber na tela); --json mostra o JSON do servidor como veio, com os nomes inteiros",
    examples: ["listar", "listar --json"],
    parse: (args) =>
      Either.flatMap(withOptions(args, "listar [--json]", { flags: ["--json", "-l"] }), ({ names, flags }) =>
        names.length === 0
          ? Either.right({ _tag: "List", json: flags.has("--json") })
          : Either.left("uso: listar [--json] (a listagem é sempre da pasta inteira do servidor)")
      )
  },
  {
    name: "baixar",
    aliases: ["get"],
    usage: "baixar NOME... [-c] [-o DESTINO]",
    brief: "baixa arquivos para a pasta local",
    summary:
      "baixa arquivos para a pasta local, um depois do outro; se houver um download parcial de um deles, continua de onde parou; com -c, um arquivo local já completo é conferido (MD5) e mantido em vez de baixado de novo, como no wget -c e no lftp get -c; -o grava um arquivo com outro nome (dentro da pasta local)",
    examples: [
      "baixar fotos/praia.jpg",
      "baixar a.txt b.jpg",
      'baixar "minhas fotos/a.jpg"',
      "baixar minhas\\ fotos/a.jpg",
      "baixar relatorio.pdf -o copia.pdf",
      "baixar -- -nome-com-hifen.txt"
    ],
    parse: (args) =>
      Either.flatMap(
        withOptions(args, "baixar NOME... [-c] [-o DESTINO]", { flags: ["-c"], valued: ["-o"] }),
        ({ names, values, flags }) => {
          const continued = flags.has("-c") ? { continued: true as const } : {}
          const target = values.get("-o")
          if (target !== undefined) {
            if (names.length !== 1) return Either.left("uso: baixar NOME -o DESTINO (um arquivo só)")
            return Either.flatMap(checkedName(names[0]!), (name) =>
              Either.map(checkedName(target), (target): Command => ({ _tag: "Download", name, target, ...continued }))
            )
          }
          return names.length === 0
            ? Either.left("uso: baixar NOME... [-c] [-o DESTINO]")
            : perWord(
                names,
                (word) => checkedName(word),
                (name) => ({ _tag: "Download", name, ...continued })
              )
        }
      )
  },
  {
    name: "enviar",
    aliases: ["put"],
    usage: "enviar NOME...",
    brief: "envia arquivos da pasta local",
    summary:
      "envia arquivos da pasta local para o servidor, com o mesmo nome, um depois do outro (o nome é relativo à pasta local: veja lpwd)",
    examples: ["enviar relatorio.pdf", "enviar a.txt b.txt", 'enviar "notas de aula.txt"'],
    parse: (args) =>
      Either.flatMap(withOptions(args, "enviar NOME..."), ({ names }) =>
        names.length === 0
          ? Either.left("uso: enviar NOME...")
          : perWord(names, checkedLocalName, (name) => ({ _tag: "Upload", name }))
      )
  },
  {
    name: "enviar-varios",
    aliases: ["mput"],
    usage: "enviar-varios MASCARA...",
    brief: "envia os arquivos locais que casam com a máscara",
    summary:
      "envia todos os arquivos da pasta local que casam com a máscara, com as mesmas regras do baixar-varios (*, ? e [...]; * não atravessa /)",
    examples: ["enviar-varios *.pdf", "enviar-varios 'fotos/*.jpg' '*.txt'"],
    parse: (args) =>
      Either.flatMap(withOptions(args, "enviar-varios MASCARA..."), ({ names }) =>
        names.length === 0
          ? Either.left("uso: enviar-varios MASCARA...")
          : perWord(names, checkedMask, (mask) => ({ _tag: "UploadMany", mask }))
      )
  },
  {
    name: "retomar",
    aliases: ["reget"],
    usage: "retomar NOME [POSICAO]",
    brief: "continua um download interrompido",
    summary:
      "continua um download interrompido depois de o servidor conferir o MD5 da parte que você tem; POSICAO menor corta a parte local",
    examples: ["retomar video.mp4", "retomar video.mp4 1048576"],
    parse: (words) => {
      const options = withOptions(words, "retomar NOME [POSICAO]")
      if (Either.isLeft(options)) return Either.left(options.left)
      const args = options.right.names
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
    usage: "baixar-varios MASCARA... [-c]",
    brief: "baixa os arquivos do servidor que casam com a máscara",
    summary:
      "baixa todos os arquivos que casam com a máscara (*, ? e [...]; * não atravessa /); downloads parciais dos que casam continuam de onde pararam (-c pede isso explicitamente)",
    examples: ["baixar-varios *.jpg", "baixar-varios '*.jpg' '*.txt'", "baixar-varios 'fotos/2024/*'"],
    parse: (args) =>
      Either.flatMap(withOptions(args, "baixar-varios MASCARA... [-c]", { flags: ["-c"] }), ({ names }) =>
        names.length === 0
          ? Either.left("uso: baixar-varios MASCARA... [-c]")
          : perWord(names, checkedMask, (mask) => ({ _tag: "DownloadMany", mask }))
      )
  },
  {
    name: "lls",
    aliases: [],
    usage: "lls",
    brief: "lista a pasta local",
    summary: "lista os arquivos da pasta local (downloads parciais incluídos)",
    examples: ["lls"],
    parse: noArguments("lls", { _tag: "LocalList" })
  },
  {
    name: "lcd",
    aliases: [],
    usage: "lcd [PASTA]",
    brief: "muda a pasta local",
    summary:
      "muda a pasta local onde os comandos gravam e leem, sempre dentro da pasta do cliente; sem PASTA, volta para ela",
    examples: ["lcd fotos", "lcd ..", "lcd"],
    parse: (args) =>
      args.some((arg) => arg.startsWith("-") && arg !== "-")
        ? Either.left(`opção desconhecida: ${printable(args.find((arg) => arg.startsWith("-"))!)} (uso: lcd [PASTA])`)
        : args.length > 1
          ? usage("lcd [PASTA]", args, true)
          : Either.right(args.length === 0 ? { _tag: "LocalChange" } : { _tag: "LocalChange", folder: args[0]! })
  },
  {
    name: "lpwd",
    aliases: [],
    usage: "lpwd",
    brief: "mostra a pasta local",
    summary: "mostra a pasta local, onde os downloads são gravados",
    examples: ["lpwd"],
    parse: noArguments("lpwd", { _tag: "LocalFolder" })
  },
  {
    name: "ajuda",
    aliases: ["help", "?"],
    usage: "ajuda [COMANDO]",
    brief: 'esta ajuda; "ajuda COMANDO" mostra um comando',
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
    brief: "encerra o cliente (Ctrl+D também)",
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

const NO_SUCH_OPERATION = "o protocolo não tem operação para apagar, renomear ou criar pastas no servidor"

/** Commands people know from sftp, lftp and ftp that have no equal here: what to use instead. */
const INSTEAD: Readonly<Record<string, string>> = {
  cd: 'no servidor não há pasta atual; use o caminho no nome (baixar fotos/a.jpg); "lcd" muda a pasta local',
  pwd: 'os nomes do servidor são relativos à pasta servida; "lpwd" mostra a pasta local',
  dir: 'use "listar"',
  rm: NO_SUCH_OPERATION,
  del: NO_SUCH_OPERATION,
  delete: NO_SUCH_OPERATION,
  rmdir: NO_SUCH_OPERATION,
  mkdir: NO_SUCH_OPERATION,
  rename: NO_SUCH_OPERATION,
  mv: NO_SUCH_OPERATION,
  bye: 'use "sair" (ou Ctrl+D)'
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
    const instead = INSTEAD[word]
    if (instead !== undefined) return Either.left(`"${printable(word)}" não existe aqui: ${instead}`)
    const hint = source === "prompt" ? "digite ajuda" : `comandos: ${COMMANDS.map((spec) => spec.name).join(", ")}`
    return Either.left(`comando desconhecido: "${printable(word)}" (${hint})`)
  }
  return spec.parse(args)
}

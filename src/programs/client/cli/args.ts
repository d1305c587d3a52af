import * as Either from "effect/Either"
import { parseServerAddress, type ServerAddress } from "./address.ts"

export interface ClientArgs {
  readonly server: ServerAddress
  readonly folder: string
  readonly timeoutSeconds: number
  readonly script: string | undefined
  readonly silent: boolean
  readonly trace: boolean
  readonly debug: boolean
  /** A one-shot command and its arguments, when given after the address. */
  readonly command: ReadonlyArray<string>
}

export const CLIENT_USAGE = `Uso: bun run cliente HOST:PORTA [opções] [COMANDO [ARG...]]

Cliente do servidor de arquivos TCP. Sem COMANDO, abre um terminal interativo
(ou lê comandos da entrada padrão, um por linha, quando ela não é um terminal).

  HOST:PORTA            servidor, por exemplo 127.0.0.1:20000 ou [::1]:20000
  --pasta DIR           pasta local (padrão storage/cliente; criada se faltar)
  --timeout SEGUNDOS    prazo para conectar e tempo máximo sem progresso (padrão 30)
  --script ARQUIVO      roda os comandos do arquivo, um por linha
  -q, --silencioso      sem barra de progresso: uma linha por arquivo
  --trace               mostra cada campo enviado e recebido, em hexadecimal
  --debug               mostra detalhes internos dos erros
  --ajuda, -h           mostra esta ajuda

Comandos: listar, baixar, enviar, enviar-varios, retomar, baixar-varios, lls,
lcd, lpwd, ajuda, sair (digite "ajuda COMANDO" no cliente para ver um com
exemplos).

Exemplos:
  bun run cliente 127.0.0.1:20000
  bun run cliente 127.0.0.1:20000 baixar foto.jpg
  bun run cliente [::1]:20000 --script comandos.txt

Status de saída: 0 sucesso; 1 recusado pelo servidor, arquivo inexistente, hash
que não confere ou problema com arquivo local; 2 uso incorreto; 3 erro de rede ou
tempo esgotado; 130 cancelado com Ctrl+C.`

export type ParsedClientArgs = { readonly _tag: "Run"; readonly args: ClientArgs } | { readonly _tag: "Help" }

const FLAGS = new Set(["--silencioso", "-q", "--trace", "--debug"])
const VALUED = new Set(["--pasta", "--timeout", "--script"])

/** Parses the client's command line; Left is a Portuguese message for the user. */
export const parseClientArgs = (argv: ReadonlyArray<string>): Either.Either<ParsedClientArgs, string> => {
  const values = new Map<string, string>()
  const flags = new Set<string>()
  const positional: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--ajuda" || arg === "-h" || arg === "--help") {
      return Either.right({ _tag: "Help" })
    } else if (FLAGS.has(arg)) {
      flags.add(arg)
    } else if (VALUED.has(arg)) {
      const value = argv[++i]
      if (value === undefined || value === "") return Either.left(`${arg} precisa de um valor`)
      values.set(arg, value)
    } else if (positional.length >= 2) {
      positional.push(arg) // the command's own arguments, such as "listar --json"
    } else if (arg.startsWith("-") && arg.length > 1) {
      // Before the command word, anything that looks like an option is one (so "HOST:PORTA -x listar"
      // says the option is unknown instead of calling "-x" a command).
      return Either.left(`opção desconhecida: ${arg}`)
    } else {
      positional.push(arg)
    }
  }
  const [address, ...command] = positional
  if (address === undefined) return Either.left("falta o endereço do servidor (HOST:PORTA)")
  const server = parseServerAddress(address)
  if (Either.isLeft(server)) return Either.left(server.left)
  const timeoutText = values.get("--timeout") ?? "30"
  const timeoutSeconds = /^\d+(\.\d+)?$/.test(timeoutText) ? Number(timeoutText) : NaN
  if (!(timeoutSeconds >= 0.001 && timeoutSeconds <= 86_400)) {
    return Either.left(`timeout inválido: "${timeoutText}" (use segundos, de 0.001 a 86400)`)
  }
  const script = values.get("--script")
  if (script !== undefined && command.length > 0) return Either.left("use --script ou um comando, não os dois")
  return Either.right({
    _tag: "Run",
    args: {
      server: server.right,
      folder: values.get("--pasta") ?? "storage/cliente",
      timeoutSeconds,
      script,
      silent: flags.has("--silencioso") || flags.has("-q"),
      trace: flags.has("--trace"),
      debug: flags.has("--debug"),
      command
    }
  })
}

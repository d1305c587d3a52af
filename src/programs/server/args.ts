import * as Either from "effect/Either"
import { DEFAULT_PORT, MAX_U32 } from "../../domain/protocol.ts"

export interface ServerArgs {
  readonly port: number
  readonly folder: string
  readonly timeoutSeconds: number
  readonly maxClients: number
  readonly maxPerAddress: number
  readonly readOnly: boolean
  readonly maxUploadBytes: number | undefined
}

export const SERVER_USAGE = `Uso: bun run servidor [PORTA] [opções]

Serve os arquivos de uma pasta pelo protocolo TCP do trabalho, em todos os
endereços IPv4 e IPv6 da máquina.

  PORTA                    porta TCP (padrão ${DEFAULT_PORT}; 0 escolhe uma porta livre)
  --pasta DIR              pasta servida (padrão storage/servidor; criada se faltar)
  --timeout SEGUNDOS       prazo para o pedido chegar inteiro e tempo máximo sem
                           progresso numa transferência (padrão 30)
  --max-clientes N         conexões atendidas ao mesmo tempo (padrão 256); as
                           demais recebem o status 1 e são fechadas na hora
  --max-por-ip N           conexões ao mesmo tempo vindas de um mesmo endereço
                           (padrão 0: sem limite, para não barrar uma sala
                           inteira atrás de um único endereço de NAT)
  --somente-leitura        recusa todo upload
  --tamanho-maximo BYTES   recusa uploads maiores que isso antes de gravar
                           qualquer dado (uploads maiores que o espaço livre
                           em disco são sempre recusados)
  --ajuda, -h              mostra esta ajuda

Ctrl+C ou SIGTERM encerram: novas conexões são recusadas e as operações em
andamento têm alguns segundos para terminar.`

export type ParsedServerArgs = { readonly _tag: "Run"; readonly args: ServerArgs } | { readonly _tag: "Help" }

const parsePort = (text: string): Either.Either<number, string> => {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN
  return Number.isInteger(port) && port >= 0 && port <= 65535
    ? Either.right(port)
    : Either.left(`porta inválida: "${text}" (use um número de 0 a 65535)`)
}

const parseSeconds = (text: string): Either.Either<number, string> => {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN
  return seconds >= 0.001 && seconds <= 86_400
    ? Either.right(seconds)
    : Either.left(`timeout inválido: "${text}" (use segundos, de 0.001 a 86400)`)
}

const parseCount =
  (option: string, min: number, max: number) =>
  (text: string): Either.Either<number, string> => {
    const value = /^\d+$/.test(text) ? Number(text) : NaN
    return value >= min && value <= max
      ? Either.right(value)
      : Either.left(`${option} inválido: "${text}" (use um número inteiro de ${min} a ${max})`)
  }

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Options that take a value, and how each one is read into the arguments. */
const VALUED: Record<string, (text: string, args: Mutable<ServerArgs>) => Either.Either<void, string>> = {
  "--pasta": (text, args) => Either.right(void (args.folder = text)),
  "--timeout": (text, args) => Either.map(parseSeconds(text), (value) => void (args.timeoutSeconds = value)),
  "--max-clientes": (text, args) =>
    Either.map(parseCount("--max-clientes", 1, 100_000)(text), (value) => void (args.maxClients = value)),
  "--max-por-ip": (text, args) =>
    Either.map(parseCount("--max-por-ip", 0, 100_000)(text), (value) => void (args.maxPerAddress = value)),
  "--tamanho-maximo": (text, args) =>
    Either.map(parseCount("--tamanho-maximo", 0, MAX_U32)(text), (value) => void (args.maxUploadBytes = value))
}

/** Parses the server's command line; Left is a Portuguese message for the user. */
export const parseServerArgs = (argv: ReadonlyArray<string>): Either.Either<ParsedServerArgs, string> => {
  let port: number | undefined
  const args: Mutable<ServerArgs> = {
    port: DEFAULT_PORT,
    folder: "storage/servidor",
    timeoutSeconds: 30,
    maxClients: 256,
    maxPerAddress: 0,
    readOnly: false,
    maxUploadBytes: undefined
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--ajuda" || arg === "-h" || arg === "--help") return Either.right({ _tag: "Help" })
    const read = VALUED[arg]
    if (read !== undefined) {
      const value = argv[++i]
      if (value === undefined || value === "") return Either.left(`${arg} precisa de um valor`)
      const applied = read(value, args)
      if (Either.isLeft(applied)) return Either.left(applied.left)
    } else if (arg === "--somente-leitura") {
      args.readOnly = true
    } else if (arg.startsWith("-")) {
      return Either.left(`opção desconhecida: ${arg}`)
    } else if (port === undefined) {
      const parsed = parsePort(arg)
      if (Either.isLeft(parsed)) return Either.left(parsed.left)
      port = parsed.right
    } else {
      return Either.left(`argumento a mais: "${arg}"`)
    }
  }
  return Either.right({ _tag: "Run", args: { ...args, port: port ?? DEFAULT_PORT } })
}

import { Either } from "effect"
import { DEFAULT_PORT } from "../../domain/protocol.ts"

export interface ServerArgs {
  readonly port: number
  readonly folder: string
  readonly timeoutSeconds: number
}

export const SERVER_USAGE = `Uso: bun run servidor [PORTA] [--pasta DIR] [--timeout SEGUNDOS]

Serve os arquivos de uma pasta pelo protocolo TCP do trabalho, em todos os
endereços IPv4 e IPv6 da máquina.

  PORTA               porta TCP (padrão ${DEFAULT_PORT}; 0 escolhe uma porta livre)
  --pasta DIR         pasta servida (padrão storage/servidor; criada se faltar)
  --timeout SEGUNDOS  prazo para o pedido chegar inteiro e tempo máximo sem
                      progresso numa transferência (padrão 30)
  --ajuda, -h         mostra esta ajuda

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

/** Parses the server's command line; Left is a Portuguese message for the user. */
export const parseServerArgs = (argv: ReadonlyArray<string>): Either.Either<ParsedServerArgs, string> => {
  let port: number | undefined
  let folder = "storage/servidor"
  let timeoutSeconds = 30
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--ajuda" || arg === "-h" || arg === "--help") return Either.right({ _tag: "Help" })
    if (arg === "--pasta" || arg === "--timeout") {
      const value = argv[++i]
      if (value === undefined || value === "") return Either.left(`${arg} precisa de um valor`)
      if (arg === "--pasta") folder = value
      else {
        const seconds = parseSeconds(value)
        if (Either.isLeft(seconds)) return Either.left(seconds.left)
        timeoutSeconds = seconds.right
      }
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
  return Either.right({ _tag: "Run", args: { port: port ?? DEFAULT_PORT, folder, timeoutSeconds } })
}

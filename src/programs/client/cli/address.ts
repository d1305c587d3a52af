import * as Either from "effect/Either"

export interface ServerAddress {
  readonly host: string
  readonly port: number
}

/** The server's default port: a host without a port means this one (as ssh's 22). */
export const DEFAULT_PORT = 20000

/**
 * "host:port", "1.2.3.4:port" or "[v6]:port"; a host alone ("host", "[v6]")
 * means the server's default port, 20000.
 */
export const parseServerAddress = (text: string): Either.Either<ServerAddress, string> => {
  const match =
    /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:[\]\s]+):(\d+)$/.exec(text) ?? /^([^:[\]\s]+)()$/.exec(text)
  if (!match) {
    return Either.left(
      text.includes(":") && !text.startsWith("[") && text.split(":").length > 2
        ? `endereço inválido: "${text}" (endereço IPv6 vai entre colchetes: [::1]:20000)`
        : `endereço inválido: "${text}" (use HOST:PORTA, por exemplo 127.0.0.1:20000)`
    )
  }
  if (match[2] === undefined || match[2] === "") return Either.right({ host: match[1]!, port: DEFAULT_PORT })
  const port = Number(match[2])
  if (!(port >= 1 && port <= 65535)) return Either.left(`porta inválida: "${match[2]}" (use de 1 a 65535)`)
  return Either.right({ host: match[1]!, port })
}

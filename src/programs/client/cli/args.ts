import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { type EnvOption, inlineValue, withEnvironment } from "../../options.ts"
import { parseServerAddress, type ServerAddress } from "./address.ts"
import { specFor } from "./commands.ts"

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
  /** `--tls` (or any --tls-* option): the files named, all optional; undefined: plain TCP. */
  readonly tls?: TlsFiles | undefined
}

/** The TLS files of the command line (PEM): the CAs the server's certificate is checked against, and this client's own. */
export interface TlsFiles {
  /** Undefined: the system's CAs. */
  readonly ca?: string | undefined
  readonly certificate?: string | undefined
  readonly key?: string | undefined
}

/** The help of `--ajuda`, with `name` (how the program was started, see invocation.ts) in its examples. */
export const clientUsage = (name = "arquivos-cliente") => `Uso: ${name} HOST[:PORTA] [opções] [COMANDO [ARG...]]

Cliente do servidor de arquivos TCP. Sem COMANDO, abre um terminal interativo
(ou lê comandos da entrada padrão, um por linha, quando ela não é um terminal).

  HOST[:PORTA]          servidor, por exemplo 127.0.0.1:20000 ou [::1]:20000
                        (sem PORTA: 20000, a porta padrão do servidor)
  --pasta DIR           pasta local (padrão storage/cliente; criada se faltar)
  --timeout SEGUNDOS    prazo para conectar e tempo máximo sem progresso (padrão 30)
  --script ARQUIVO      roda os comandos do arquivo, um por linha
  -q, --silencioso      sem barra de progresso: uma linha por arquivo
  --tls                 conecta em TLS (1.2 ou 1.3), conferindo o certificado
                        do servidor e o nome HOST nele
  --tls-ca ARQ          CA que assinou o certificado do servidor (PEM; padrão:
                        as CAs do sistema); implica --tls
  --tls-certificado ARQ certificado deste cliente (PEM), para um servidor que
                        o exige; com --tls-chave; implica --tls
  --tls-chave ARQ       a chave privada desse certificado (PEM, sem senha)
  --trace               mostra cada campo enviado e recebido, em hexadecimal
                        (em TLS, o protocolo dentro dele)
  --debug               mostra detalhes internos dos erros
  --ajuda, -h           mostra esta ajuda
  --version, -V         mostra a versão

Opções também como --opcao=valor, e por variáveis de ambiente
(ARQUIVOS_CLIENTE_SERVIDOR, ARQUIVOS_CLIENTE_PASTA, ...; veja o README); a linha
de comando vale mais que o ambiente.

Comandos: listar, baixar, enviar, enviar-varios, retomar, baixar-varios, lls,
lcd, lpwd, ajuda, sair (digite "ajuda COMANDO" no cliente para ver um com
exemplos).

Exemplos:
  ${name} 127.0.0.1:20000
  ${name} 127.0.0.1:20000 baixar foto.jpg
  ${name} [::1]:20000 --script comandos.txt

Resultados (listagens, arquivos baixados) vão para a saída padrão; progresso,
avisos e erros, para a saída de erro.

Status de saída: 0 sucesso; 1 recusado pelo servidor, arquivo inexistente, hash
que não confere ou problema com arquivo local; 2 uso incorreto; 3 erro de rede ou
tempo esgotado, TLS recusado ou ausente; 130 cancelado com Ctrl+C.`

export const CLIENT_USAGE = clientUsage()

export type ParsedClientArgs =
  | { readonly _tag: "Run"; readonly args: ClientArgs }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }

const FLAGS = new Set(["--silencioso", "-q", "--trace", "--debug", "--tls"])
const VALUED = new Set(["--pasta", "--timeout", "--script", "--tls-ca", "--tls-certificado", "--tls-chave"])

/**
 * Every option but --script (one run's action, not a setting) as an
 * environment variable: ARQUIVOS_CLIENTE_ and the option in capitals. The
 * server's address is ARQUIVOS_CLIENTE_SERVIDOR (see `clientArgsFrom`).
 */
export const CLIENT_ENVIRONMENT: ReadonlyArray<EnvOption> = [
  { variable: "ARQUIVOS_CLIENTE_PASTA", option: "--pasta", kind: "value" },
  { variable: "ARQUIVOS_CLIENTE_TIMEOUT", option: "--timeout", kind: "value" },
  { variable: "ARQUIVOS_CLIENTE_SILENCIOSO", option: "--silencioso", kind: "switch" },
  { variable: "ARQUIVOS_CLIENTE_TRACE", option: "--trace", kind: "switch" },
  { variable: "ARQUIVOS_CLIENTE_DEBUG", option: "--debug", kind: "switch" },
  { variable: "ARQUIVOS_CLIENTE_TLS", option: "--tls", kind: "switch" },
  { variable: "ARQUIVOS_CLIENTE_TLS_CA", option: "--tls-ca", kind: "value" },
  { variable: "ARQUIVOS_CLIENTE_TLS_CERTIFICADO", option: "--tls-certificado", kind: "value" },
  { variable: "ARQUIVOS_CLIENTE_TLS_CHAVE", option: "--tls-chave", kind: "value" }
]

/**
 * The client's settings: the ARQUIVOS_CLIENTE_* variables (through Effect's
 * Config), then the command line, which wins. With ARQUIVOS_CLIENTE_SERVIDOR
 * set, the address may be left out of the command line: a first word that
 * is not HOST:PORTA is then the command.
 */
export const clientArgsFrom = (
  argv: ReadonlyArray<string>,
  provider: ConfigProvider.ConfigProvider = ConfigProvider.fromEnv()
): Either.Either<ParsedClientArgs, string> => {
  const server = Effect.runSync(
    Effect.withConfigProvider(Effect.option(Config.string("ARQUIVOS_CLIENTE_SERVIDOR")), provider)
  ).pipe(
    Option.map((text) => text.trim()),
    Option.filter((text) => text !== ""),
    Option.getOrUndefined
  )
  const checked = server === undefined ? undefined : parseServerAddress(server)
  if (checked !== undefined && Either.isLeft(checked)) return Either.left(`ARQUIVOS_CLIENTE_SERVIDOR: ${checked.left}`)
  return withEnvironment(CLIENT_ENVIRONMENT, (words) => Either.flatMap(parseClientArgs(words, server), pairs), argv, {
    provider,
    check: (words) => parseClientArgs(words, "127.0.0.1:1")
  })
}

/** Options that go together, checked once the command line and the environment are joined. */
const pairs = (parsed: ParsedClientArgs): Either.Either<ParsedClientArgs, string> =>
  parsed._tag === "Run" && (parsed.args.tls?.certificate === undefined) !== (parsed.args.tls?.key === undefined)
    ? Either.left("--tls-certificado e --tls-chave vão juntos: o certificado do cliente e a sua chave privada")
    : Either.right(parsed)

/**
 * Parses the client's command line; Left is a Portuguese message for the
 * user. `defaultServer` stands for a missing address.
 */
export const parseClientArgs = (
  argv: ReadonlyArray<string>,
  defaultServer?: string
): Either.Either<ParsedClientArgs, string> => {
  const values = new Map<string, string>()
  const flags = new Set<string>()
  const positional: Array<string> = []
  /** With an address from the environment, a first word without ":" is the command. */
  const addressGiven = () => positional.length > 0 && (defaultServer === undefined || positional[0]!.includes(":"))
  /** Once the command word is in, the words that follow are its own ("listar --json"). */
  const inCommand = () => positional.length >= (addressGiven() ? 2 : 1)
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const inline = !inCommand() ? inlineValue(arg, (name) => VALUED.has(name)) : undefined
    if (arg === "--" && !inCommand()) {
      positional.push(...argv.slice(i + 1))
      break
    } else if (inline !== undefined) {
      if (inline[1] === "") return Either.left(`${inline[0]} precisa de um valor`)
      values.set(inline[0], inline[1])
    } else if (arg === "--ajuda" || arg === "-h" || arg === "--help") {
      return Either.right({ _tag: "Help" })
    } else if ((arg === "--version" || arg === "-V") && !inCommand()) {
      return Either.right({ _tag: "Version" })
    } else if (FLAGS.has(arg)) {
      flags.add(arg)
    } else if (VALUED.has(arg)) {
      const value = argv[++i]
      if (value === undefined || value === "") return Either.left(`${arg} precisa de um valor`)
      values.set(arg, value)
    } else if (inCommand()) {
      positional.push(arg) // the command's own arguments, such as "listar --json"
    } else if (arg.startsWith("-") && arg.length > 1) {
      // Before the command word, anything that looks like an option is one (so "HOST:PORTA -x listar"
      // says the option is unknown instead of calling "-x" a command).
      return Either.left(`opção desconhecida: ${arg}`)
    } else {
      positional.push(arg)
    }
  }
  const [address, ...command] =
    defaultServer !== undefined && !addressGiven() ? [defaultServer, ...positional] : positional
  if (address === undefined) return Either.left("falta o endereço do servidor (HOST:PORTA)")
  // "arquivos-cliente listar": a command word where the address goes.
  if (defaultServer === undefined && specFor(address) !== undefined && !address.includes(":")) {
    return Either.left(
      `falta o endereço do servidor antes de "${address}" (por exemplo 127.0.0.1:20000 ${address}, ou defina ARQUIVOS_CLIENTE_SERVIDOR)`
    )
  }
  const server = parseServerAddress(address)
  if (Either.isLeft(server)) return Either.left(server.left)
  const timeoutText = values.get("--timeout") ?? "30"
  const timeoutSeconds = /^\d+(\.\d+)?$/.test(timeoutText) ? Number(timeoutText) : NaN
  if (!(timeoutSeconds >= 0.001 && timeoutSeconds <= 86_400)) {
    return Either.left(`timeout inválido: "${timeoutText}" (use segundos, de 0.001 a 86400)`)
  }
  const script = values.get("--script")
  if (script !== undefined && command.length > 0) return Either.left("use --script ou um comando, não os dois")
  const certificate = values.get("--tls-certificado")
  const key = values.get("--tls-chave")
  const ca = values.get("--tls-ca")
  const tls =
    flags.has("--tls") || ca !== undefined || certificate !== undefined
      ? {
          ...(ca === undefined ? {} : { ca }),
          ...(certificate === undefined ? {} : { certificate }),
          ...(key === undefined ? {} : { key })
        }
      : undefined
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
      command,
      ...(tls === undefined ? {} : { tls })
    }
  })
}

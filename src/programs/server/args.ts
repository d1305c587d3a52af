import { isIP } from "node:net"
import type * as ConfigProvider from "effect/ConfigProvider"
import * as Either from "effect/Either"
import { type Cidr, parseCidr } from "../../domain/cidr.ts"
import { fitsU32, MAX_U32 } from "../../domain/protocol.ts"
import { type EnvOption, inlineValue, withEnvironment } from "../options.ts"
import { type LogFormat, SERVER_DEFAULTS, type ServerSettings, serverSettings } from "./config.ts"
import type { HttpAddress } from "./http/listener.ts"

export type { LogFormat } from "./config.ts"

export interface ServerArgs {
  readonly port: number
  readonly folder: string
  readonly timeoutSeconds: number
  readonly maxClients: number
  readonly maxPerAddress: number
  readonly readOnly: boolean
  readonly maxUploadBytes: number | undefined
  /** The one address to listen on; undefined: every address. */
  readonly address: string | undefined
  /** Client networks allowed to connect; undefined: every client. */
  readonly allow: ReadonlyArray<Cidr> | undefined
  /** Uploads over an existing file are refused. */
  readonly noOverwrite: boolean
  readonly log: LogFormat
  readonly proxyProtocol: boolean
  /** Undefined: not given (loopback). */
  readonly trustedProxies: ReadonlyArray<Cidr> | undefined
  /** --permitir-arquivo: the file `allow` is read from at start-up and on SIGHUP. */
  readonly allowFile: string | undefined
  /** --metricas: where the HTTP listener of /metrics and /saude listens; undefined: off. */
  readonly metrics: HttpAddress | undefined
  /** TLS: the certificate and key files (PEM); both or neither. */
  readonly tlsCertificate?: string | undefined
  readonly tlsKey?: string | undefined
  /** TLS: the CA file (PEM) a client certificate must be signed by; undefined: none asked for. */
  readonly tlsClients?: string | undefined
  /** --painel: where the live page listens (the same listener as --metricas at the same address); undefined: off. */
  readonly panel: HttpAddress | undefined
}

const D = SERVER_DEFAULTS

export const SERVER_USAGE = `Uso: arquivos-servidor [PORTA] [opções]

Serve os arquivos de uma pasta pelo protocolo TCP do trabalho, em todos os
endereços IPv4 e IPv6 da máquina (ou só no de --endereco).

  PORTA                    porta TCP (padrão ${D.port}; 0 escolhe uma porta livre)
  --porta PORTA            o mesmo que PORTA
  --pasta DIR              pasta servida (padrão ${D.folder}; criada se faltar)
  --timeout SEGUNDOS       prazo para o pedido chegar inteiro e tempo máximo sem
                           progresso numa transferência (padrão ${D.timeoutSeconds})
  --endereco IP            escuta só neste endereço (padrão: todos)
  --permitir CIDR[,CIDR]   só atende clientes destas redes, por exemplo
                           192.168.0.0/24,::1; os demais recebem o status 1
  --permitir-arquivo ARQ   o mesmo, lido de um arquivo (uma rede por linha, # para
                           comentários), relido a cada SIGHUP
  --max-clientes N         conexões atendidas ao mesmo tempo (padrão ${D.maxClients}); as
                           demais recebem o status 1 e são fechadas na hora
  --max-por-ip N           conexões ao mesmo tempo vindas de um mesmo endereço
                           (padrão ${D.maxPerAddress}: sem limite, para não barrar uma sala
                           inteira atrás de um único endereço de NAT)
  --somente-leitura        recusa todo upload
  --sem-sobrescrever       recusa um upload com o nome de um arquivo que já existe
  --tamanho-maximo TAMANHO recusa uploads maiores que isso antes de gravar
                           qualquer dado: bytes, ou com sufixo K, M, G (500K,
                           10M, 2G; múltiplos de 1024); uploads maiores que o
                           espaço livre em disco são sempre recusados
  --protocolo-proxy        atrás de um balanceador (HAProxy e outros): toda
                           conexão começa com um cabeçalho PROXY v1 ou v2, e o
                           endereço do cliente é o que ele traz (no log e no
                           --max-por-ip); conexão sem cabeçalho válido é fechada
  --proxies-confiaveis CIDR[,CIDR...]
                           de onde o cabeçalho PROXY é aceito (padrão:
                           ${D.trustedProxies.map((block) => block.text).join(",")}); pode repetir a opção
  --log texto|json         formato do log (padrão ${D.log}; json: toda linha do
                           servidor é um objeto JSON, na saída padrão)
  --metricas [IP:]PORTA    serve GET /metrics (formato do Prometheus) e GET /saude
                           (200 aceitando, 503 encerrando) por HTTP nesta porta,
                           nunca na de arquivos (padrão: desligado; IP padrão
                           127.0.0.1)
  --tls-certificado ARQ    atende só em TLS (1.2 ou 1.3), com este certificado
                           (PEM; a cadeia, se houver); exige --tls-chave
  --tls-chave ARQ          a chave privada do certificado (PEM, sem senha)
  --tls-clientes ARQ       exige de cada cliente um certificado assinado por
                           esta CA (PEM); o log mostra o nome (CN) de cada um
  --painel [IP:]PORTA      serve uma página ao vivo (conexões, transferências,
                           últimas operações, arquivos) por HTTP nesta porta;
                           a mesma de --metricas pode ser usada (padrão:
                           desligado; IP padrão 127.0.0.1)
  --ajuda, -h              mostra esta ajuda
  --version, -V            mostra a versão

Opções também como --opcao=valor, e por variáveis de ambiente (ARQUIVOS_PORTA,
ARQUIVOS_PASTA, ARQUIVOS_TIMEOUT, ...; veja o README); a linha de comando vale
mais que o ambiente.

Ctrl+C ou SIGTERM encerram: novas conexões são recusadas e as operações em
andamento têm alguns segundos para terminar. SIGHUP não encerra: recarrega o
que pode ser recarregado e diz o quê no log.`

/** Every option as an environment variable: ARQUIVOS_ and the option's name in capitals. */
export const SERVER_ENVIRONMENT: ReadonlyArray<EnvOption> = [
  { variable: "ARQUIVOS_PORTA", option: "--porta", kind: "value" },
  { variable: "ARQUIVOS_PASTA", option: "--pasta", kind: "value" },
  { variable: "ARQUIVOS_TIMEOUT", option: "--timeout", kind: "value" },
  { variable: "ARQUIVOS_ENDERECO", option: "--endereco", kind: "value" },
  { variable: "ARQUIVOS_PERMITIR", option: "--permitir", kind: "value" },
  { variable: "ARQUIVOS_PERMITIR_ARQUIVO", option: "--permitir-arquivo", kind: "value" },
  { variable: "ARQUIVOS_MAX_CLIENTES", option: "--max-clientes", kind: "value" },
  { variable: "ARQUIVOS_MAX_POR_IP", option: "--max-por-ip", kind: "value" },
  { variable: "ARQUIVOS_SOMENTE_LEITURA", option: "--somente-leitura", kind: "switch" },
  { variable: "ARQUIVOS_SEM_SOBRESCREVER", option: "--sem-sobrescrever", kind: "switch" },
  { variable: "ARQUIVOS_TAMANHO_MAXIMO", option: "--tamanho-maximo", kind: "value" },
  { variable: "ARQUIVOS_LOG", option: "--log", kind: "value" },
  { variable: "ARQUIVOS_PROTOCOLO_PROXY", option: "--protocolo-proxy", kind: "switch" },
  { variable: "ARQUIVOS_PROXIES_CONFIAVEIS", option: "--proxies-confiaveis", kind: "value" },
  { variable: "ARQUIVOS_METRICAS", option: "--metricas", kind: "value" },
  { variable: "ARQUIVOS_TLS_CERTIFICADO", option: "--tls-certificado", kind: "value" },
  { variable: "ARQUIVOS_TLS_CHAVE", option: "--tls-chave", kind: "value" },
  { variable: "ARQUIVOS_TLS_CLIENTES", option: "--tls-clientes", kind: "value" },
  { variable: "ARQUIVOS_PAINEL", option: "--painel", kind: "value" }
]

export type ParsedServerArgs =
  | { readonly _tag: "Run"; readonly args: ServerArgs }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }

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

/** An IP literal (an IPv6 one may come in brackets), not a host name: the address is bound as given. */
const parseAddress = (text: string): Either.Either<string, string> => {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text
  return isIP(bare) !== 0
    ? Either.right(bare)
    : Either.left(`--endereco inválido: "${text}" (use um endereço IP desta máquina, como 127.0.0.1 ou ::1)`)
}

const SIZE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }

/**
 * A size in bytes, or with a binary suffix as `ls -h` and `df -h` print them:
 * "500", "64K", "10M", "1.5G" (also "10MiB", "10MB", lower case); K, M and G
 * are 1024, 1024² and 1024³. Fractions round down to a whole byte.
 */
export const parseSize = (text: string): Either.Either<number, string> => {
  const match = /^(\d+(?:[.,]\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(text.trim())
  const bytes =
    match === null ? NaN : Math.floor(Number(match[1]!.replace(",", ".")) * SIZE_UNITS[match[2]!.toUpperCase()]!)
  if (!Number.isFinite(bytes)) {
    return Either.left(`--tamanho-maximo inválido: "${text}" (use bytes ou um sufixo: 500K, 10M, 2G)`)
  }
  return fitsU32(bytes)
    ? Either.right(bytes)
    : Either.left(`--tamanho-maximo inválido: "${text}" (o protocolo vai até ${MAX_U32} bytes, 4 GiB menos 1 byte)`)
}

/** `--permitir`: blocks separated by commas, read by the one parser of blocks. */
const parseAllowed = (text: string): Either.Either<ReadonlyArray<Cidr>, string> =>
  Either.mapLeft(
    Either.all(
      text
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== "")
        .map(parseCidr)
    ),
    (error) =>
      `--permitir inválido: ${error} (use redes como 192.168.0.0/24 ou fd00::/8, ou endereços, separados por vírgula)`
  )

/** `--metricas`, `--painel`: "PORTA" (on 127.0.0.1), "IP:PORTA" or "[IPv6]:PORTA"; an IP literal, as --endereco. */
const parseHttpAddress = (option: string, text: string): Either.Either<HttpAddress, string> => {
  const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text)
  const port = match === null ? NaN : Number(match[2])
  const host = match?.[1] === undefined ? "127.0.0.1" : match[1].replace(/^\[(.*)\]$/, "$1")
  return match !== null && port <= 65535 && isIP(host) !== 0
    ? Either.right({ hostname: host, port })
    : Either.left(`${option} inválido: "${text}" (use IP:PORTA, como 127.0.0.1:9464 ou [::1]:9464, ou só a porta)`)
}

const parseLog = (text: string): Either.Either<LogFormat, string> =>
  text === "texto" || text === "json"
    ? Either.right(text)
    : Either.left(`--log inválido: "${text}" (use texto ou json)`)

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Options that take a value, and how each one is read into the arguments. */
const VALUED: Record<string, (text: string, args: Mutable<ServerArgs>) => Either.Either<void, string>> = {
  "--porta": (text, args) => Either.map(parsePort(text), (value) => void (args.port = value)),
  "--pasta": (text, args) => Either.right(void (args.folder = text)),
  "--timeout": (text, args) => Either.map(parseSeconds(text), (value) => void (args.timeoutSeconds = value)),
  "--endereco": (text, args) => Either.map(parseAddress(text), (value) => void (args.address = value)),
  "--permitir": (text, args) => Either.map(parseAllowed(text), (value) => void (args.allow = value)),
  "--permitir-arquivo": (text, args) => Either.right(void (args.allowFile = text)),
  "--max-clientes": (text, args) =>
    Either.map(parseCount("--max-clientes", 1, 100_000)(text), (value) => void (args.maxClients = value)),
  "--max-por-ip": (text, args) =>
    Either.map(parseCount("--max-por-ip", 0, 100_000)(text), (value) => void (args.maxPerAddress = value)),
  "--tamanho-maximo": (text, args) => Either.map(parseSize(text), (value) => void (args.maxUploadBytes = value)),
  "--log": (text, args) => Either.map(parseLog(text), (value) => void (args.log = value)),
  "--metricas": (text, args) =>
    Either.map(parseHttpAddress("--metricas", text), (value) => void (args.metrics = value)),
  "--painel": (text, args) => Either.map(parseHttpAddress("--painel", text), (value) => void (args.panel = value)),
  "--tls-certificado": (text, args) => Either.right(void (args.tlsCertificate = text)),
  "--tls-chave": (text, args) => Either.right(void (args.tlsKey = text)),
  "--tls-clientes": (text, args) => Either.right(void (args.tlsClients = text)),
  "--proxies-confiaveis": (text, args) => {
    const blocks: Array<Cidr> = [...(args.trustedProxies ?? [])]
    for (const part of text.split(",")) {
      const parsed = parseCidr(part.trim())
      if (Either.isLeft(parsed)) return Either.left(`--proxies-confiaveis: ${parsed.left}`)
      blocks.push(parsed.right)
    }
    args.trustedProxies = blocks
    return Either.right(undefined)
  }
}

const SWITCHES: Record<string, (args: Mutable<ServerArgs>) => void> = {
  "--somente-leitura": (args) => void (args.readOnly = true),
  "--sem-sobrescrever": (args) => void (args.noOverwrite = true),
  "--protocolo-proxy": (args) => void (args.proxyProtocol = true)
}

const isValued = (name: string) => name in VALUED

/** Each option read on its own (what an environment variable is checked with). */
const parseWords = (argv: ReadonlyArray<string>): Either.Either<ParsedServerArgs, string> => {
  const args: Mutable<ServerArgs> = {
    port: D.port,
    folder: D.folder,
    timeoutSeconds: D.timeoutSeconds,
    maxClients: D.maxClients,
    maxPerAddress: D.maxPerAddress,
    readOnly: D.readOnly,
    maxUploadBytes: D.maxUploadBytes,
    address: D.address,
    allow: D.allow,
    noOverwrite: D.noOverwrite,
    log: D.log,
    proxyProtocol: D.proxyProtocol,
    // Not given (D.trustedProxies then applies); each --proxies-confiaveis adds to what the others gave.
    trustedProxies: undefined,
    allowFile: undefined,
    metrics: undefined,
    tlsCertificate: undefined,
    tlsKey: undefined,
    tlsClients: undefined,
    panel: undefined
  }
  let positional = false
  let onlyPositional = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const inline = onlyPositional ? undefined : inlineValue(arg, isValued)
    if (onlyPositional || !arg.startsWith("-") || arg === "-") {
      if (positional) return Either.left(`argumento a mais: "${arg}"`)
      const parsed = parsePort(arg)
      if (Either.isLeft(parsed)) return Either.left(parsed.left)
      args.port = parsed.right
      positional = true
    } else if (arg === "--") {
      onlyPositional = true
    } else if (arg === "--ajuda" || arg === "-h" || arg === "--help") {
      return Either.right({ _tag: "Help" })
    } else if (arg === "--version" || arg === "-V") {
      return Either.right({ _tag: "Version" })
    } else if (inline !== undefined || VALUED[arg] !== undefined) {
      const [name, value] = inline ?? [arg, argv[++i]]
      if (value === undefined || value === "") return Either.left(`${name} precisa de um valor`)
      const applied = VALUED[name]!(value, args)
      if (Either.isLeft(applied)) return Either.left(applied.left)
    } else if (SWITCHES[arg] !== undefined) {
      SWITCHES[arg](args)
    } else {
      return Either.left(`opção desconhecida: ${arg}`)
    }
  }
  return Either.right({ _tag: "Run", args })
}

/** Parses the server's command line alone; Left is a Portuguese message for the user. */
export const parseServerArgs = (argv: ReadonlyArray<string>): Either.Either<ParsedServerArgs, string> =>
  Either.flatMap(parseWords(argv), (parsed): Either.Either<ParsedServerArgs, string> => {
    if (parsed._tag !== "Run") return Either.right(parsed)
    const problem = combinationProblem(parsed.args)
    return problem === undefined ? Either.right(parsed) : Either.left(problem)
  })

/** Options that only make sense with others, or not with others. */
const combinationProblem = (args: ServerArgs): string | undefined => {
  if (args.trustedProxies !== undefined && !args.proxyProtocol)
    return "--proxies-confiaveis só vale com --protocolo-proxy"
  if (args.allowFile !== undefined && args.allow !== undefined)
    return "use --permitir ou --permitir-arquivo, não os dois"
  if ((args.tlsCertificate === undefined) !== (args.tlsKey === undefined)) {
    return "--tls-certificado e --tls-chave vão juntos: o certificado e a sua chave privada"
  }
  if (args.tlsClients !== undefined && args.tlsCertificate === undefined) {
    return "--tls-clientes só vale com TLS: dê também --tls-certificado e --tls-chave"
  }
  if (args.tlsCertificate !== undefined && args.proxyProtocol) {
    return "--protocolo-proxy não combina com TLS neste servidor: o cabeçalho PROXY viria antes do TLS; deixe o balanceador em modo TCP sem --protocolo-proxy, ou termine o TLS no balanceador"
  }
  return undefined
}

/**
 * The server's settings: the environment variables of SERVER_ENVIRONMENT
 * (through Effect's Config), then the command line, which wins.
 */
export const serverArgsFrom = (
  argv: ReadonlyArray<string>,
  provider?: ConfigProvider.ConfigProvider
): Either.Either<ParsedServerArgs, string> =>
  withEnvironment(SERVER_ENVIRONMENT, parseServerArgs, argv, {
    check: parseWords,
    ...(provider === undefined ? {} : { provider })
  })

/** What the command line asks for, as the settings the server runs with. */
export const serverSettingsOf = (args: ServerArgs): ServerSettings =>
  serverSettings(args.timeoutSeconds, {
    maxClients: args.maxClients,
    maxPerAddress: args.maxPerAddress,
    readOnly: args.readOnly,
    maxUploadBytes: args.maxUploadBytes,
    proxyProtocol: args.proxyProtocol,
    trustedProxies: args.trustedProxies ?? D.trustedProxies,
    noOverwrite: args.noOverwrite,
    allow: args.allow
  })

/** The usage text with the server named as it was started. */
export const usageFor = (usage: string, program: string): string =>
  usage.replace(/^Uso: arquivos-servidor\b/, `Uso: ${program}`)

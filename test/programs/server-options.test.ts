import { describe, expect, test } from "bun:test"
import { ConfigProvider, Either } from "effect"
import { parseCidr } from "../../src/domain/cidr.ts"
import { environmentWords } from "../../src/programs/options.ts"
import {
  parseServerArgs,
  SERVER_ENVIRONMENT,
  SERVER_USAGE,
  type ServerArgs,
  serverArgsFrom
} from "../../src/programs/server/args.ts"
import { SERVER_DEFAULTS } from "../../src/programs/server/config.ts"

/** The server's newer options, `--opcao=valor`, `--`, and the ARQUIVOS_* environment variables. */

const argsOf = (parsed: ReturnType<typeof parseServerArgs>): ServerArgs => {
  if (Either.isLeft(parsed)) throw new Error(`refused: ${parsed.left}`)
  if (parsed.right._tag !== "Run") throw new Error(parsed.right._tag)
  return parsed.right.args
}

const errorOf = (parsed: ReturnType<typeof parseServerArgs>): string => {
  if (Either.isRight(parsed)) throw new Error(`accepted: ${JSON.stringify(parsed.right)}`)
  return parsed.left
}

const env = (variables: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(variables)))

describe("new options", () => {
  test("--endereco takes an IPv4 or IPv6 literal (brackets allowed) and nothing else", () => {
    expect(argsOf(parseServerArgs(["--endereco", "127.0.0.1"])).address).toBe("127.0.0.1")
    expect(argsOf(parseServerArgs(["--endereco", "::1"])).address).toBe("::1")
    expect(argsOf(parseServerArgs(["--endereco", "[::1]"])).address).toBe("::1")
    expect(argsOf(parseServerArgs([])).address).toBeUndefined()
    for (const bad of ["localhost", "127.0.0.256", "1.2.3", "::1::2", "127.0.0.1:20000"]) {
      expect(errorOf(parseServerArgs(["--endereco", bad]))).toContain(`--endereco inválido: "${bad}"`)
    }
  })

  test("--permitir reads a comma-separated list of networks and addresses", () => {
    expect(argsOf(parseServerArgs(["--permitir", "192.168.0.0/24, 10.0.0.7 ,fd00::/8,::1"])).allow).toEqual(
      ["192.168.0.0/24", "10.0.0.7", "fd00::/8", "::1"].map((text) => Either.getOrThrow(parseCidr(text)))
    )
    expect(argsOf(parseServerArgs([])).allow).toBeUndefined()
    // Host bits after the prefix are refused as a likely typo, with the network meant.
    expect(errorOf(parseServerArgs(["--permitir", "192.168.10.77/24"]))).toContain("quis dizer 192.168.10.0/24?")
    for (const bad of ["192.168.0.0/33", "fd00::/129", "rede", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8,x"]) {
      expect(errorOf(parseServerArgs(["--permitir", bad]))).toContain("--permitir inválido")
    }
  })

  test("--sem-sobrescrever and --somente-leitura are switches", () => {
    const args = argsOf(parseServerArgs(["--sem-sobrescrever"]))
    expect([args.noOverwrite, args.readOnly]).toEqual([true, false])
    expect(argsOf(parseServerArgs(["--somente-leitura"])).readOnly).toBe(true)
  })

  test("--log is texto (the default) or json", () => {
    expect(argsOf(parseServerArgs([])).log).toBe("texto")
    expect(argsOf(parseServerArgs(["--log", "json"])).log).toBe("json")
    expect(argsOf(parseServerArgs(["--log", "texto"])).log).toBe("texto")
    expect(errorOf(parseServerArgs(["--log", "xml"]))).toBe(`--log inválido: "xml" (use texto ou json)`)
  })

  test("--porta is the positional port by another name; the later one wins", () => {
    expect(argsOf(parseServerArgs(["--porta", "2000"])).port).toBe(2000)
    expect(argsOf(parseServerArgs(["--porta", "2000", "3000"])).port).toBe(3000)
    expect(argsOf(parseServerArgs(["3000", "--porta=2000"])).port).toBe(2000)
    expect(errorOf(parseServerArgs(["--porta", "x"]))).toContain("porta inválida")
  })

  test("the usage text names every new option and the environment", () => {
    for (const word of [
      "--endereco",
      "--permitir",
      "--sem-sobrescrever",
      "--log texto|json",
      "--version",
      "ARQUIVOS_PORTA",
      "--opcao=valor"
    ]) {
      expect(SERVER_USAGE).toContain(word)
    }
  })
})

describe("--opcao=valor and --", () => {
  test("every option with a value also takes it after =", () => {
    const args = argsOf(
      parseServerArgs([
        "--pasta=/srv/a=b",
        "--timeout=2.5",
        "--max-clientes=9",
        "--max-por-ip=2",
        "--tamanho-maximo=100",
        "--endereco=127.0.0.1",
        "--permitir=127.0.0.0/8",
        "--log=json",
        "20001"
      ])
    )
    expect(args).toEqual({
      port: 20001,
      folder: "/srv/a=b",
      timeoutSeconds: 2.5,
      maxClients: 9,
      maxPerAddress: 2,
      readOnly: false,
      maxUploadBytes: 100,
      address: "127.0.0.1",
      allow: [Either.getOrThrow(parseCidr("127.0.0.0/8"))],
      noOverwrite: false,
      log: "json",
      proxyProtocol: false,
      trustedProxies: undefined,
      allowFile: undefined,
      metrics: undefined,
      panel: undefined
    })
  })

  test("an empty value after = is refused like a missing one; a switch takes no =", () => {
    expect(errorOf(parseServerArgs(["--pasta="]))).toBe("--pasta precisa de um valor")
    expect(errorOf(parseServerArgs(["--somente-leitura=1"]))).toBe("opção desconhecida: --somente-leitura=1")
  })

  test("after --, a word is the port even if it looks like an option", () => {
    expect(argsOf(parseServerArgs(["--", "20001"])).port).toBe(20001)
    expect(errorOf(parseServerArgs(["--", "--pasta"]))).toContain(`porta inválida: "--pasta"`)
    expect(errorOf(parseServerArgs(["--", "1", "2"]))).toBe(`argumento a mais: "2"`)
  })
})

describe("environment variables (Effect Config), the command line winning", () => {
  test("every option has a variable named ARQUIVOS_ plus the option in capitals", () => {
    for (const entry of SERVER_ENVIRONMENT) {
      expect(entry.variable).toBe(`ARQUIVOS_${entry.option.slice(2).toUpperCase().replaceAll("-", "_")}`)
      expect(SERVER_USAGE).toContain(entry.option)
    }
    const options = SERVER_ENVIRONMENT.map((entry) => entry.option).sort()
    expect(options).toEqual(
      [
        "--porta",
        "--pasta",
        "--timeout",
        "--endereco",
        "--permitir",
        "--max-clientes",
        "--max-por-ip",
        "--somente-leitura",
        "--sem-sobrescrever",
        "--tamanho-maximo",
        "--log",
        "--protocolo-proxy",
        "--proxies-confiaveis",
        "--permitir-arquivo",
        "--metricas",
        "--tls-certificado",
        "--tls-chave",
        "--tls-clientes",
        "--painel"
      ].sort()
    )
  })

  test("each variable sets its option", () => {
    const provider = env({
      ARQUIVOS_PORTA: "2001",
      ARQUIVOS_PASTA: "/srv/arquivos",
      ARQUIVOS_TIMEOUT: "7",
      ARQUIVOS_ENDERECO: "::1",
      ARQUIVOS_PERMITIR: "10.0.0.0/8",
      ARQUIVOS_MAX_CLIENTES: "5",
      ARQUIVOS_MAX_POR_IP: "1",
      ARQUIVOS_SOMENTE_LEITURA: "1",
      ARQUIVOS_SEM_SOBRESCREVER: "true",
      ARQUIVOS_TAMANHO_MAXIMO: "1000",
      ARQUIVOS_LOG: "json",
      ARQUIVOS_PROTOCOLO_PROXY: "sim",
      ARQUIVOS_PROXIES_CONFIAVEIS: "10.1.0.0/16",
      ARQUIVOS_METRICAS: "9464",
      ARQUIVOS_PAINEL: "0.0.0.0:8080"
    })
    expect(argsOf(serverArgsFrom([], provider))).toEqual({
      port: 2001,
      folder: "/srv/arquivos",
      timeoutSeconds: 7,
      maxClients: 5,
      maxPerAddress: 1,
      readOnly: true,
      maxUploadBytes: 1000,
      address: "::1",
      allow: [Either.getOrThrow(parseCidr("10.0.0.0/8"))],
      noOverwrite: true,
      log: "json",
      proxyProtocol: true,
      trustedProxies: [Either.getOrThrow(parseCidr("10.1.0.0/16"))],
      allowFile: undefined,
      metrics: { hostname: "127.0.0.1", port: 9464 },
      panel: { hostname: "0.0.0.0", port: 8080 }
    })
  })

  test("a flag wins over its variable; the rest still come from the environment", () => {
    const provider = env({ ARQUIVOS_PORTA: "2001", ARQUIVOS_PASTA: "/srv/a", ARQUIVOS_TIMEOUT: "7" })
    const args = argsOf(serverArgsFrom(["3001", "--pasta=/srv/b"], provider))
    expect([args.port, args.folder, args.timeoutSeconds]).toEqual([3001, "/srv/b", 7])
    expect(argsOf(serverArgsFrom(["--porta", "4001"], provider)).port).toBe(4001)
  })

  test("a switch variable set to 0 leaves the switch off; the flag still turns it on", () => {
    expect(argsOf(serverArgsFrom([], env({ ARQUIVOS_SOMENTE_LEITURA: "0" }))).readOnly).toBe(false)
    expect(argsOf(serverArgsFrom(["--somente-leitura"], env({ ARQUIVOS_SOMENTE_LEITURA: "nao" }))).readOnly).toBe(true)
  })

  test("an empty variable counts as unset", () => {
    expect(argsOf(serverArgsFrom([], env({ ARQUIVOS_PASTA: "", ARQUIVOS_PORTA: " " })))).toMatchObject({
      port: SERVER_DEFAULTS.port,
      folder: SERVER_DEFAULTS.folder
    })
  })

  test("a bad value is refused with the variable's name", () => {
    expect(errorOf(serverArgsFrom([], env({ ARQUIVOS_TIMEOUT: "abc" })))).toBe(
      `ARQUIVOS_TIMEOUT: timeout inválido: "abc" (use segundos, de 0.001 a 86400)`
    )
    expect(errorOf(serverArgsFrom([], env({ ARQUIVOS_PORTA: "99999" })))).toStartWith("ARQUIVOS_PORTA: porta inválida")
    expect(errorOf(serverArgsFrom([], env({ ARQUIVOS_SOMENTE_LEITURA: "talvez" })))).toBe(
      `ARQUIVOS_SOMENTE_LEITURA="talvez" inválido (use 1 para ligar ou 0 para desligar)`
    )
    expect(errorOf(serverArgsFrom([], env({ ARQUIVOS_PERMITIR: "x" })))).toStartWith(
      "ARQUIVOS_PERMITIR: --permitir inválido"
    )
  })

  test("the real process environment is the default provider", () => {
    const saved = process.env.ARQUIVOS_MAX_CLIENTES
    process.env.ARQUIVOS_MAX_CLIENTES = "17"
    try {
      expect(argsOf(serverArgsFrom([])).maxClients).toBe(17)
      expect(Either.getOrThrow(environmentWords(SERVER_ENVIRONMENT))).toContain("17")
    } finally {
      if (saved === undefined) delete process.env.ARQUIVOS_MAX_CLIENTES
      else process.env.ARQUIVOS_MAX_CLIENTES = saved
    }
  })
})

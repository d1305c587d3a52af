import { describe, expect, test } from "bun:test"
import { networkInterfaces } from "node:os"
import { Either } from "effect"
import { LOOPBACK } from "../../src/domain/cidr.ts"
import { MAX_MANY_MATCHES } from "../../src/domain/protocol.ts"
import { reachableAddresses } from "../../src/programs/server/addresses.ts"
import { parseServerArgs, parseSize, SERVER_USAGE, serverSettingsOf } from "../../src/programs/server/args.ts"
import { SERVER_DEFAULTS, serverSettings } from "../../src/programs/server/config.ts"

/** The server's command line, and the addresses it prints. */

const DEFAULT_FOLDER = SERVER_DEFAULTS.folder
/** What the command line starts from, besides the port, the folder and the timeout. */
const DEFAULT_LIMITS = {
  maxClients: SERVER_DEFAULTS.maxClients,
  maxPerAddress: SERVER_DEFAULTS.maxPerAddress,
  readOnly: SERVER_DEFAULTS.readOnly,
  maxUploadBytes: SERVER_DEFAULTS.maxUploadBytes,
  proxyProtocol: SERVER_DEFAULTS.proxyProtocol,
  trustedProxies: undefined,
  address: SERVER_DEFAULTS.address,
  allow: SERVER_DEFAULTS.allow,
  noOverwrite: SERVER_DEFAULTS.noOverwrite,
  log: SERVER_DEFAULTS.log,
  allowFile: undefined,
  metrics: undefined,
  panel: undefined
}

describe("SERVER_DEFAULTS: the one place the server's defaults are spelled", () => {
  test("they are the ones the README documents", () => {
    expect(SERVER_DEFAULTS).toEqual({
      port: 20000,
      folder: "storage/servidor",
      timeoutSeconds: 30,
      graceMillis: 5_000,
      log: "texto",
      address: undefined,
      maxMatches: MAX_MANY_MATCHES,
      maxClients: 256,
      maxPerAddress: 0,
      readOnly: false,
      maxUploadBytes: undefined,
      proxyProtocol: false,
      trustedProxies: LOOPBACK,
      noOverwrite: false,
      allow: undefined
    })
  })

  test("the help quotes them", () => {
    for (const text of [
      "(padrão 20000;",
      "(padrão storage/servidor;",
      "(padrão 30)",
      "(padrão 256)",
      "(padrão 0: sem limite",
      "(padrão texto;",
      "127.0.0.0/8,::1/128"
    ])
      expect(SERVER_USAGE).toContain(text)
  })

  test("no option: the settings are the defaults, both deadlines the default timeout", () => {
    const parsed = parseServerArgs([])
    if (Either.isLeft(parsed) || parsed.right._tag !== "Run") throw new Error("expected Run")
    expect(serverSettingsOf(parsed.right.args)).toEqual(serverSettings())
    expect(serverSettings()).toMatchObject({ requestSeconds: 30, idleSeconds: 30, maxClients: 256 })
  })

  test("every option reaches the settings", () => {
    const parsed = parseServerArgs([
      "--timeout=7",
      "--max-clientes=9",
      "--max-por-ip=2",
      "--somente-leitura",
      "--sem-sobrescrever",
      "--tamanho-maximo=1K",
      "--protocolo-proxy",
      "--proxies-confiaveis=10.0.0.0/8",
      "--permitir=192.168.0.0/24"
    ])
    if (Either.isLeft(parsed) || parsed.right._tag !== "Run") throw new Error("expected Run")
    const settings = serverSettingsOf(parsed.right.args)
    expect(settings).toMatchObject({
      requestSeconds: 7,
      idleSeconds: 7,
      maxMatches: MAX_MANY_MATCHES,
      maxClients: 9,
      maxPerAddress: 2,
      readOnly: true,
      noOverwrite: true,
      maxUploadBytes: 1024,
      proxyProtocol: true
    })
    expect(settings.trustedProxies.map((block) => block.text)).toEqual(["10.0.0.0/8"])
    expect(settings.allow?.map((block) => block.text)).toEqual(["192.168.0.0/24"])
  })
})

describe("parseServerArgs: accepted", () => {
  test.each([
    [[], { port: 20000, folder: DEFAULT_FOLDER, timeoutSeconds: 30 }],
    [["20001"], { port: 20001, folder: DEFAULT_FOLDER, timeoutSeconds: 30 }],
    [["0"], { port: 0, folder: DEFAULT_FOLDER, timeoutSeconds: 30 }],
    [["65535"], { port: 65535, folder: DEFAULT_FOLDER, timeoutSeconds: 30 }],
    [["00080"], { port: 80, folder: DEFAULT_FOLDER, timeoutSeconds: 30 }],
    [["--pasta", "x", "--timeout", "2.5", "123"], { port: 123, folder: "x", timeoutSeconds: 2.5 }],
    [["123", "--pasta", "x"], { port: 123, folder: "x", timeoutSeconds: 30 }],
    [["--pasta", "/abs/dir com espaço"], { port: 20000, folder: "/abs/dir com espaço", timeoutSeconds: 30 }],
    [["--pasta", "a", "--pasta", "b"], { port: 20000, folder: "b", timeoutSeconds: 30 }],
    [["--timeout", "86400"], { port: 20000, folder: DEFAULT_FOLDER, timeoutSeconds: 86400 }],
    [["--timeout", "0.001"], { port: 20000, folder: DEFAULT_FOLDER, timeoutSeconds: 0.001 }],
    [["--timeout", "1"], { port: 20000, folder: DEFAULT_FOLDER, timeoutSeconds: 1 }]
  ] as const)("%j → %j", (argv, expected) => {
    expect(parseServerArgs(argv)).toEqual(Either.right({ _tag: "Run", args: { ...DEFAULT_LIMITS, ...expected } }))
  })

  test.each([[["-h"]], [["--ajuda"]], [["--help"]], [["20001", "-h"]], [["--pasta", "x", "--ajuda"]]])(
    "%j → Help",
    (argv) => {
      expect(parseServerArgs(argv)).toEqual(Either.right({ _tag: "Help" }))
    }
  )

  test("the usage text is in Portuguese and names every option", () => {
    for (const word of ["Uso:", "PORTA", "--pasta", "--timeout", "--ajuda", "-h", "padrão"])
      expect(SERVER_USAGE).toContain(word)
  })
})

describe("parseServerArgs: refused, with a Portuguese message naming the problem", () => {
  // [argv, words the message must contain]
  test.each([
    [["abc"], ["porta inválida", "abc"]],
    [["70000"], ["porta inválida", "70000"]],
    [["65536"], ["porta inválida", "65536"]],
    [["123456"], ["porta inválida"]],
    [["1.5"], ["porta inválida"]],
    [["+1"], ["porta inválida"]],
    [[" 1"], ["porta inválida"]],
    [[""], ["porta inválida"]],
    [["-1"], ["-1"]],
    [
      ["1", "2"],
      ["argumento a mais", "2"]
    ],
    [
      ["--timeout", "0"],
      ["timeout inválido", "0"]
    ],
    [["--timeout", "0.0"], ["timeout inválido"]],
    [["--timeout", "-1"], ["timeout inválido"]],
    [
      ["--timeout", "abc"],
      ["timeout inválido", "abc"]
    ],
    [["--timeout", "1e3"], ["timeout inválido"]],
    [["--timeout", "86401"], ["timeout inválido"]],
    [["--timeout", "Infinity"], ["timeout inválido"]],
    [["--timeout"], ["--timeout", "precisa de um valor"]],
    [
      ["--timeout", ""],
      ["--timeout", "precisa de um valor"]
    ],
    [["--pasta"], ["--pasta", "precisa de um valor"]],
    [
      ["--pasta", ""],
      ["--pasta", "precisa de um valor"]
    ],
    [
      ["20001", "--pasta"],
      ["--pasta", "precisa de um valor"]
    ],
    [["--xyz"], ["opção desconhecida", "--xyz"]],
    [["-x"], ["opção desconhecida", "-x"]]
  ] as const)("%j → Left mentioning %j", (argv, words) => {
    const parsed = parseServerArgs(argv)
    expect(Either.isLeft(parsed)).toBe(true)
    if (Either.isLeft(parsed)) {
      for (const word of words) expect(parsed.left).toContain(word)
      expect(parsed.left).not.toMatch(/\b(invalid|unknown|missing|requires)\b/i)
    }
  })

  // Minor inconsistency (src/programs/server/args.ts, parseSeconds): the error
  // message says the timeout must be "de 0.001 a 86400", but any positive value
  // is accepted, e.g. "0.0001" (a 0.1 ms deadline). Either the check or the
  // message is off.
  test("a timeout below the documented minimum of 0.001 s is refused", () => {
    expect(Either.isLeft(parseServerArgs(["--timeout", "0.0001"]))).toBe(true)
  })
})

describe("--tamanho-maximo: bytes or a size with a binary suffix", () => {
  test.each([
    ["0", 0],
    ["500", 500],
    ["64K", 64 * 1024],
    ["64k", 64 * 1024],
    ["10M", 10 * 1024 ** 2],
    ["10MiB", 10 * 1024 ** 2],
    ["10MB", 10 * 1024 ** 2],
    ["1.5G", 1.5 * 1024 ** 3],
    ["1,5G", 1.5 * 1024 ** 3],
    ["2G", 2 * 1024 ** 3],
    ["4294967295", 4294967295]
  ] as const)("%p is %p bytes", (text, bytes) => {
    expect(parseSize(text)).toEqual(Either.right(bytes))
    expect(parseServerArgs(["--tamanho-maximo", text])).toEqual(
      Either.right({
        _tag: "Run",
        args: { port: 20000, folder: DEFAULT_FOLDER, timeoutSeconds: 30, ...DEFAULT_LIMITS, maxUploadBytes: bytes }
      })
    )
  })

  test.each([
    ["4G", "4 GiB menos 1 byte"],
    ["10X", "500K, 10M, 2G"],
    ["-1", "500K, 10M, 2G"],
    ["M", "500K, 10M, 2G"],
    ["1e9", "500K, 10M, 2G"]
  ])("%p is refused, saying %p", (text, words) => {
    const parsed = parseServerArgs(["--tamanho-maximo", text])
    expect(Either.isLeft(parsed) && parsed.left).toContain(words)
    expect(Either.isLeft(parsed) && parsed.left).toContain(`--tamanho-maximo inválido: "${text}"`)
  })
})

describe("reachableAddresses", () => {
  const interfaces = Object.values(networkInterfaces()).flatMap((addresses) => addresses ?? [])
  const hasIpv6Loopback = interfaces.some((address) => address.family === "IPv6" && address.address === "::1")
  const hasIpv4Loopback = interfaces.some((address) => address.family === "IPv4" && address.address === "127.0.0.1")
  /** The "host:port" part of an entry (entries may carry "  (interface)" after it). */
  const hostPort = (entry: string) => entry.split(/\s+/)[0]!

  test.skipIf(!hasIpv4Loopback)("dual stack (::) includes 127.0.0.1", () => {
    expect(reachableAddresses("::", 1234).map(hostPort)).toContain("127.0.0.1:1234")
  })

  test.skipIf(!hasIpv6Loopback)("dual stack (::) includes [::1] when the machine has it", () => {
    expect(reachableAddresses("::", 1234).map(hostPort)).toContain("[::1]:1234")
  })

  test("dual stack (::) lists every interface address once, with the port, IPv6 in brackets", () => {
    const entries = reachableAddresses("::", 1234).map(hostPort)
    expect(entries.length).toBe(interfaces.length)
    for (const entry of entries) expect(entry).toMatch(/^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+(%[^\]]+)?\]):1234$/)
  })

  test("0.0.0.0 lists only IPv4 entries", () => {
    const entries = reachableAddresses("0.0.0.0", 5).map(hostPort)
    if (hasIpv4Loopback) expect(entries).toContain("127.0.0.1:5")
    for (const entry of entries) expect(entry).toMatch(/^\d+\.\d+\.\d+\.\d+:5$/)
    expect(entries.length).toBe(interfaces.filter((address) => address.family === "IPv4").length)
  })

  test("a specific IPv4 host lists just that host", () => {
    expect(reachableAddresses("127.0.0.1", 7)).toEqual(["127.0.0.1:7"])
  })

  // Latent bug (src/programs/server/addresses.ts): a specific IPv6 host is
  // printed without brackets, e.g. reachableAddresses("::1", 7) gives "::1:7",
  // which is neither a valid address:port nor what the transport's `remote`
  // prints ("[::1]:7"). main.ts only ever listens on "::" or "0.0.0.0", so the
  // server does not print it today.
  test("a specific IPv6 host is bracketed", () => {
    expect(reachableAddresses("::1", 7)).toEqual(["[::1]:7"])
  })
})

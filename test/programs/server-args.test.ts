import { describe, expect, test } from "bun:test"
import { networkInterfaces } from "node:os"
import { Either } from "effect"
import { reachableAddresses } from "../../src/programs/server/addresses.ts"
import { parseServerArgs, SERVER_USAGE } from "../../src/programs/server/args.ts"

/** The server's command line, and the addresses it prints. */

const DEFAULT_FOLDER = "storage/servidor"
const DEFAULT_LIMITS = { maxClients: 256, maxPerAddress: 0, readOnly: false, maxUploadBytes: undefined }

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

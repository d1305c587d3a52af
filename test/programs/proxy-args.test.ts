import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import { parseServerArgs, SERVER_USAGE } from "../../src/programs/server/args.ts"

/** `--protocolo-proxy` and `--proxies-confiaveis` on the server's command line. */

const run = (argv: ReadonlyArray<string>) => {
  const parsed = parseServerArgs(argv)
  if (Either.isLeft(parsed) || parsed.right._tag !== "Run")
    throw new Error(`expected Run, got ${JSON.stringify(parsed)}`)
  return parsed.right.args
}
const refusal = (argv: ReadonlyArray<string>) => {
  const parsed = parseServerArgs(argv)
  if (Either.isRight(parsed)) throw new Error("expected a refusal")
  return parsed.left
}

describe("PROXY protocol options", () => {
  test("off by default; --protocolo-proxy alone trusts the default (loopback, given as undefined)", () => {
    expect(run([]).proxyProtocol).toBe(false)
    const args = run(["--protocolo-proxy", "20001"])
    expect(args.proxyProtocol).toBe(true)
    expect(args.trustedProxies).toBeUndefined()
    expect(args.port).toBe(20001)
  })

  test("--proxies-confiaveis takes a comma-separated list and may be repeated", () => {
    const args = run([
      "--protocolo-proxy",
      "--proxies-confiaveis",
      "10.0.0.0/8, 192.168.1.5",
      "--proxies-confiaveis",
      "::1"
    ])
    expect(args.trustedProxies?.map((block) => block.text)).toEqual(["10.0.0.0/8", "192.168.1.5", "::1"])
  })

  test("refused: a bad block, a missing value, or trusted proxies without the protocol", () => {
    expect(refusal(["--protocolo-proxy", "--proxies-confiaveis", "10.0.0.0/40"])).toContain("--proxies-confiaveis")
    expect(refusal(["--protocolo-proxy", "--proxies-confiaveis", "10.0.0.1/8"])).toContain("10.0.0.0/8")
    expect(refusal(["--protocolo-proxy", "--proxies-confiaveis", "nome.local"])).toContain("nome.local")
    expect(refusal(["--protocolo-proxy", "--proxies-confiaveis"])).toContain("precisa de um valor")
    expect(refusal(["--proxies-confiaveis", "10.0.0.0/8"])).toContain("só vale com --protocolo-proxy")
  })

  test("the usage text names both options", () => {
    expect(SERVER_USAGE).toContain("--protocolo-proxy")
    expect(SERVER_USAGE).toContain("--proxies-confiaveis")
  })
})

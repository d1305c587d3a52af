import { describe, expect, test } from "bun:test"
import * as path from "node:path"
import { ROOT } from "../client/cli.ts"
import { startServerProcess, stopAll } from "../support/processes.ts"
import { OPENSSL, tlsFixture } from "./certificates.ts"

/**
 * Both conformance checkers over TLS: the server checker talks to our TLS
 * server with --tls-ca; the client judge's scripted server speaks TLS with
 * --tls-certificado/--tls-chave and our client connects with --tls-ca. A few
 * categories each, to stay bounded; the whole catalog passes the same way.
 */

const fixture = tlsFixture("arquivos-tls-checkers-", stopAll)

const run = (args: ReadonlyArray<string>) =>
  Bun.spawnSync([process.execPath, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 9_000 })

describe.skipIf(OPENSSL === undefined)("conformance checkers over TLS", () => {
  test("the server checker passes against our TLS server (op10, op20, op30, op40)", async () => {
    const folder = path.join(fixture.work, "servida")
    const server = await startServerProcess(folder, {
      timeoutSeconds: 2,
      args: fixture.serverArgs()
    })
    const result = run([
      "src/conformance/main.ts",
      `127.0.0.1:${server.port}`,
      "--tls-ca",
      fixture.certs.ca,
      "--pasta",
      folder,
      "--timeout",
      "2",
      "--somente",
      "op10,op20,op30,op40"
    ])
    const out = result.stdout.toString()
    expect(out).toContain("Resultado: o servidor cumpre tudo")
    expect(out).not.toContain("✗")
    expect(result.exitCode).toBe(0)
  }, 10_000)

  test("the server checker without --tls cannot talk to it, and says so instead of passing", async () => {
    const server = await startServerProcess(path.join(fixture.work, "servida2"), {
      timeoutSeconds: 1,
      args: fixture.serverArgs()
    })
    const result = run(["src/conformance/main.ts", `127.0.0.1:${server.port}`, "--timeout", "1", "--so", "op20/json"])
    expect(result.exitCode).toBe(1)
  }, 10_000)

  test("the client judge's scripted server speaks TLS, and our client passes it (op20)", () => {
    const result = run([
      "src/conformance/client/main.ts",
      "--timeout",
      "2",
      "--parcial",
      "{nome}.parcial",
      "--tls-certificado",
      fixture.certs.server.certificate,
      "--tls-chave",
      fixture.certs.server.key,
      "--somente",
      "op20",
      "--",
      process.execPath,
      "src/programs/client/main.ts",
      "{endereco}",
      "--pasta",
      "{pasta}",
      "--timeout",
      "2",
      "--tls-ca",
      fixture.certs.ca,
      "{op}",
      "{nome}"
    ])
    const out = result.stdout.toString()
    expect(out).toContain("Resultado: o cliente cumpre tudo")
    expect(result.exitCode).toBe(0)
  }, 10_000)
})

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { ROOT } from "../client/cli.ts"
import { startServerProcess, stopAll } from "../support/processes.ts"
import { type Certificates, makeCertificates, OPENSSL, SKIP_REASON } from "./certificates.ts"

/**
 * Both conformance checkers over TLS: the server checker talks to our TLS
 * server with --tls-ca; the client judge's scripted server speaks TLS with
 * --tls-certificado/--tls-chave and our client connects with --tls-ca. A few
 * categories each, to stay bounded; the whole catalog passes the same way.
 */

if (OPENSSL === undefined) console.log(SKIP_REASON)

let certs: Certificates
let work: string

beforeAll(() => {
  if (OPENSSL === undefined) return
  certs = makeCertificates()
  work = mkdtempSync(path.join(tmpdir(), "arquivos-tls-checkers-"))
})

afterEach(stopAll)

afterAll(() => {
  certs?.remove()
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
})

const run = (args: ReadonlyArray<string>) =>
  Bun.spawnSync([process.execPath, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 9_000 })

describe.skipIf(OPENSSL === undefined)("conformance checkers over TLS", () => {
  test("the server checker passes against our TLS server (op10, op20, op30, op40)", async () => {
    const folder = path.join(work, "servida")
    const server = await startServerProcess(folder, {
      timeoutSeconds: 2,
      args: ["--endereco", "127.0.0.1", "--tls-certificado", certs.server.certificate, "--tls-chave", certs.server.key]
    })
    const result = run([
      "src/conformance/main.ts",
      `127.0.0.1:${server.port}`,
      "--tls-ca",
      certs.ca,
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
    const server = await startServerProcess(path.join(work, "servida2"), {
      timeoutSeconds: 1,
      args: ["--endereco", "127.0.0.1", "--tls-certificado", certs.server.certificate, "--tls-chave", certs.server.key]
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
      certs.server.certificate,
      "--tls-chave",
      certs.server.key,
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
      certs.ca,
      "{op}",
      "{nome}"
    ])
    const out = result.stdout.toString()
    expect(out).toContain("Resultado: o cliente cumpre tudo")
    expect(result.exitCode).toBe(0)
  }, 10_000)
})

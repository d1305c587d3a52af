import { afterAll, afterEach, beforeAll } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"

/**
 * Certificates made with the real `openssl` for the TLS tests, in a temporary
 * folder: a CA, a server certificate for 127.0.0.1 and localhost, a server
 * certificate for another name only, client certificates of that CA (CN=ana,
 * and "Prof Maria" with a space), and a second CA with its own client
 * ("intruso"). Everything is EC P-256 (fast to make) and valid for two days.
 */

/** Where `openssl` is; undefined when it is missing (the TLS tests are then skipped, saying so). */
export const OPENSSL = Bun.which("openssl") ?? undefined

export interface Pair {
  readonly certificate: string
  readonly key: string
}

export interface Certificates {
  readonly folder: string
  /** The CA that signed the server's and the class's certificates. */
  readonly ca: string
  /** Another CA, trusted by no one here. */
  readonly otherCa: string
  /** SAN 127.0.0.1 and localhost. */
  readonly server: Pair
  /** SAN outro.exemplo only: refused by a client that connects to 127.0.0.1. */
  readonly wrongName: Pair
  /** CN=ana, O=Turma, signed by `ca`. */
  readonly ana: Pair
  /** CN=Prof Maria, signed by `ca`. */
  readonly teacher: Pair
  /** CN=intruso, signed by `otherCa`. */
  readonly intruder: Pair
  readonly remove: () => void
}

const run = (args: ReadonlyArray<string>, cwd: string) => {
  const result = Bun.spawnSync([OPENSSL!, ...args], { cwd, stdout: "pipe", stderr: "pipe" })
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr.toString()}`)
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

const makeCa = (folder: string, name: string, subject: string) =>
  run(["req", "-x509", ...EC, "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", subject], folder)

const makeSigned = (folder: string, name: string, subject: string, ca: string, extensions?: string): Pair => {
  run(["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], folder)
  const extra = extensions === undefined ? [] : ["-extfile", `${name}.ext`]
  if (extensions !== undefined) writeFileSync(path.join(folder, `${name}.ext`), `${extensions}\n`)
  run(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      ...extra
    ],
    folder
  )
  return { certificate: path.join(folder, `${name}.pem`), key: path.join(folder, `${name}.key`) }
}

/** Makes every certificate the TLS tests use; call only when `OPENSSL` is set. */
export const makeCertificates = (): Certificates => {
  const folder = mkdtempSync(path.join(tmpdir(), "arquivos-tls-"))
  makeCa(folder, "ca", "/CN=CA de teste")
  makeCa(folder, "outra-ca", "/CN=Outra CA")
  return {
    folder,
    ca: path.join(folder, "ca.pem"),
    otherCa: path.join(folder, "outra-ca.pem"),
    server: makeSigned(folder, "servidor", "/CN=localhost", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
    wrongName: makeSigned(folder, "outro-nome", "/CN=outro.exemplo", "ca", "subjectAltName=DNS:outro.exemplo"),
    ana: makeSigned(folder, "ana", "/O=Turma/CN=ana", "ca"),
    teacher: makeSigned(folder, "professora", "/CN=Prof Maria", "ca"),
    intruder: makeSigned(folder, "intruso", "/CN=intruso", "outra-ca"),
    remove: () => rmSync(folder, { recursive: true, force: true })
  }
}

/** Printed once by each TLS test file that skips. */
export const SKIP_REASON = "openssl não encontrado: os testes de TLS foram pulados (instale o pacote openssl)"

/**
 * The certificates and a scratch folder of one test file: made before its
 * tests (not without openssl: the file's tests are then skipped, and the
 * reason printed once), removed after them; the processes a test started are
 * stopped after it (`stopAll`).
 */
export const tlsFixture = (prefix: string, stopAll: () => unknown) => {
  const fixture = {
    certs: undefined as unknown as Certificates,
    work: "",
    /** A TLS server's options, on loopback, with the server certificate. */
    serverArgs: (): Array<string> => [
      "--endereco",
      "127.0.0.1",
      "--tls-certificado",
      fixture.certs.server.certificate,
      "--tls-chave",
      fixture.certs.server.key
    ]
  }
  if (OPENSSL === undefined) console.log(SKIP_REASON)
  beforeAll(() => {
    if (OPENSSL === undefined) return
    fixture.certs = makeCertificates()
    fixture.work = mkdtempSync(path.join(tmpdir(), prefix))
  })
  afterEach(stopAll)
  afterAll(() => {
    fixture.certs?.remove()
    if (fixture.work !== "") rmSync(fixture.work, { recursive: true, force: true })
  })
  return fixture
}

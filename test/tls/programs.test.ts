import { describe, expect, test } from "bun:test"
import { randomBytes } from "node:crypto"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { Lines, runClient, type ServerProcess, startServerProcess, stop, stopAll } from "../support/processes.ts"
import { OPENSSL, tlsFixture } from "./certificates.ts"

/**
 * TLS with the real programs: the server with --tls-certificado/--tls-chave
 * (and --tls-clientes), the client with --tls, certificates made by openssl.
 * Every wait is bounded; the mismatches (plain on TLS, TLS on plain) must end
 * in seconds with a sentence and status 3, never hang.
 */

const fixture = tlsFixture("arquivos-tls-pastas-", stopAll)

let folders = 0
const freshFolder = (name: string) => {
  const folder = path.join(fixture.work, `${name}-${folders++}`)
  mkdirSync(folder, { recursive: true })
  return folder
}

const tlsServer = (folder: string, extra: ReadonlyArray<string> = []) =>
  startServerProcess(folder, {
    timeoutSeconds: 1,
    args: [...fixture.serverArgs(), ...extra]
  })

/** A client's options to trust the test CA and show the certificate of `who`. */
const withCertificate = (who: "ana" | "teacher" | "intruder") => [
  "--tls-ca",
  fixture.certs.ca,
  "--tls-certificado",
  fixture.certs[who].certificate,
  "--tls-chave",
  fixture.certs[who].key
]

const client = (server: ServerProcess, folder: string, args: ReadonlyArray<string>, host = "127.0.0.1") =>
  runClient([`${host}:${server.port}`, "--pasta", folder, "--timeout", "5", ...args], 15_000)

/** The log lines of the server's operations (those that start with a time). */
const logLines = (server: ServerProcess) => server.stdout.lines().filter((line) => /^\d{4}-\d\d-\d\dT/.test(line))

describe.skipIf(OPENSSL === undefined)("TLS with the real server and client", () => {
  test("upload, list and download over TLS are byte-exact; the log line is the usual one", async () => {
    const served = freshFolder("servida")
    const local = freshFolder("cliente")
    const server = await tlsServer(served)
    expect(server.stdout.text).toContain("(TLS)")
    expect(server.stdout.text).toContain("certificado CN=localhost")
    const bytes = randomBytes(300_000)
    writeFileSync(path.join(local, "dados.bin"), bytes)
    const tls = ["--tls", "--tls-ca", fixture.certs.ca]
    const up = await client(server, local, [...tls, "enviar", "dados.bin"])
    expect(up.code).toBe(0)
    expect(readFileSync(path.join(served, "dados.bin")).equals(bytes)).toBe(true)
    const listed = await client(server, local, [...tls, "listar", "--json"])
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout)).toEqual([{ nome: "dados.bin", tamanho: "300000" }])
    rmSync(path.join(local, "dados.bin"))
    // By name, localhost: the certificate holds both.
    const down = await client(server, local, ["--tls-ca", fixture.certs.ca, "baixar", "dados.bin"], "localhost")
    expect(down.code).toBe(0)
    expect(readFileSync(path.join(local, "dados.bin")).equals(bytes)).toBe(true)
    await server.stdout.waitFor(/baixar dados\.bin ok 300000 bytes/)
    expect(logLines(server).some((line) => / 127\.0\.0\.1:\d+ enviar dados\.bin ok 300000 bytes /.test(line))).toBe(
      true
    )
  }, 20_000)

  test("SIGHUP re-reads the certificate for new connections; a broken file leaves the one in use", async () => {
    const own = freshFolder("certificado")
    const certificate = path.join(own, "servidor.pem")
    const key = path.join(own, "servidor.key")
    writeFileSync(certificate, readFileSync(fixture.certs.server.certificate))
    writeFileSync(key, readFileSync(fixture.certs.server.key))
    const server = await startServerProcess(freshFolder("servida"), {
      timeoutSeconds: 1,
      args: ["--endereco", "127.0.0.1", "--tls-certificado", certificate, "--tls-chave", key]
    })
    const local = freshFolder("cliente")
    server.process.kill("SIGHUP")
    await server.stdout.waitFor(/SIGHUP recebido: relido: certificado TLS \(TLS \(1\.2 e 1\.3\)[^\n]*CN=localhost/)
    expect((await client(server, local, ["--tls", "--tls-ca", fixture.certs.ca, "listar"])).code).toBe(0)
    writeFileSync(certificate, "não é um certificado\n")
    server.process.kill("SIGHUP")
    await server.stdout.waitFor(/falhou \(continua valendo o anterior\): certificado TLS: /)
    expect((await client(server, local, ["--tls", "--tls-ca", fixture.certs.ca, "listar"])).code).toBe(0)
  }, 20_000)

  test("--trace over TLS shows the protocol inside, not ciphertext", async () => {
    const served = freshFolder("servida")
    writeFileSync(path.join(served, "a.txt"), "hello\n")
    const server = await tlsServer(served)
    const run = await client(server, freshFolder("cliente"), ["--tls-ca", fixture.certs.ca, "--trace", "listar"])
    expect(run.code).toBe(0)
    expect(run.stderr).toContain("(TLS: abaixo, o protocolo dentro do TLS)")
    expect(run.stderr).toMatch(/→ operação\s+14/)
    expect(run.stderr).toMatch(/← status\s+00/)
  }, 15_000)

  test("openssl s_client -tls1_3 sees the certificate and speaks the protocol (op 20)", async () => {
    const served = freshFolder("servida")
    writeFileSync(path.join(served, "a.txt"), "hello\n")
    const server = await tlsServer(served)
    const run = Bun.spawnSync(
      [
        OPENSSL!,
        "s_client",
        "-connect",
        `127.0.0.1:${server.port}`,
        "-tls1_3",
        "-CAfile",
        fixture.certs.ca,
        "-verify_return_error",
        "-verify_ip",
        "127.0.0.1",
        "-ign_eof"
      ],
      { stdin: new Uint8Array([0x14]), stdout: "pipe", stderr: "pipe", timeout: 8_000 }
    )
    const out = run.stdout.toString("latin1")
    expect(out).toContain("TLSv1.3")
    expect(out).toMatch(/subject=\/?CN\s?=\s?localhost/)
    expect(out).toContain("Verify return code: 0 (ok)")
    // Status 0, the length, then the JSON of the listing.
    expect(out).toContain('\x00\x00\x00\x00\x20[{"nome":"a.txt","tamanho":"6"}]')
  }, 15_000)

  test("TLS 1.1 is refused (protocol_version alert), and the server says why", async () => {
    const server = await tlsServer(freshFolder("servida"))
    const run = Bun.spawnSync(
      [OPENSSL!, "s_client", "-connect", `127.0.0.1:${server.port}`, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
      { stdin: new Uint8Array(0), stdout: "pipe", stderr: "pipe", timeout: 8_000 }
    )
    expect(run.exitCode).not.toBe(0)
    expect(`${run.stdout}${run.stderr}`).toMatch(/alert protocol version|no protocols available|unsupported protocol/i)
    // No session: openssl names the version it tried, with no cipher.
    expect(run.stdout.toString()).toContain("Cipher is (NONE)")
    // An openssl built without TLS 1.1 refuses on its own side and never connects; otherwise the server says why.
    if (run.stdout.toString().includes("CONNECTED"))
      await server.stdout.waitFor(/TLS não estabelecido: o cliente só fala versões antigas de TLS/)
  }, 15_000)

  test("a server certificate for another name is refused by the client (status 3)", async () => {
    const served = freshFolder("servida")
    const server = await startServerProcess(served, {
      timeoutSeconds: 1,
      args: [
        "--endereco",
        "127.0.0.1",
        "--tls-certificado",
        fixture.certs.wrongName.certificate,
        "--tls-chave",
        fixture.certs.wrongName.key
      ]
    })
    const run = await client(server, freshFolder("cliente"), ["--tls-ca", fixture.certs.ca, "listar"])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain("O certificado do servidor")
    expect(run.stderr).toContain("não vale para o nome ou endereço usado")
  }, 15_000)

  test("a server certificate from an unknown CA is refused (the system's CAs do not know it)", async () => {
    const server = await tlsServer(freshFolder("servida"))
    const run = await client(server, freshFolder("cliente"), ["--tls", "listar"])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain("não é de uma CA confiável (use --tls-ca")
  }, 15_000)

  test("a plain client on a TLS port fails fast, told to use --tls: a download (TLS alert) and a listing (closed at the handshake deadline)", async () => {
    const served = freshFolder("servida")
    writeFileSync(path.join(served, "a.txt"), "hello\n")
    const server = await tlsServer(served)
    const download = await client(server, freshFolder("cliente"), ["baixar", "a.txt"])
    expect(download.code).toBe(3)
    expect(download.stderr).toContain('respondeu em TLS (pedido: "a.txt"): ele exige TLS. Use --tls')
    expect(download.millis).toBeLessThan(5_000)
    // op 20 is one byte, not a whole TLS record: the server closes it at its handshake deadline (here 1 s).
    const list = await client(server, freshFolder("cliente"), ["listar"])
    expect(list.code).toBe(3)
    expect(list.stderr).toContain(
      "fechou a conexão sem responder: ele pode ter sido encerrado, ou exigir TLS (então use --tls)."
    )
    expect(list.millis).toBeLessThan(6_000)
    await server.stdout.waitFor(/TLS não estabelecido: o cliente não completou o handshake TLS em 1 s/)
    await server.stdout.waitFor(/TLS não estabelecido: o cliente não iniciou TLS/)
  }, 20_000)

  test("a TLS client on a plain port fails fast (status 3); the server logs a TLS hello", async () => {
    const served = freshFolder("servida")
    const server = await startServerProcess(served, { timeoutSeconds: 1, args: ["--endereco", "127.0.0.1"] })
    const run = await client(server, freshFolder("cliente"), ["--tls-ca", fixture.certs.ca, "listar"])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain("não completou o TLS: ele usa TLS nessa porta? Se não usa, tire o --tls.")
    expect(run.millis).toBeLessThan(5_000)
    await server.stdout.waitFor(
      /op-0x16 - falha: fora do protocolo: o cliente iniciou TLS, e este servidor não usa TLS/
    )
  }, 15_000)

  test("bad TLS options stop the server at start with a sentence naming the file (status 1)", async () => {
    const run = (args: ReadonlyArray<string>) =>
      Bun.spawnSync([process.execPath, "src/programs/server/main.ts", "0", "--pasta", freshFolder("s"), ...args], {
        cwd: path.resolve(import.meta.dir, "../.."),
        stdout: "pipe",
        stderr: "pipe",
        timeout: 10_000
      })
    const missing = run([
      "--tls-certificado",
      path.join(fixture.certs.folder, "nao-existe.pem"),
      "--tls-chave",
      fixture.certs.server.key
    ])
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr.toString()).toContain("nao-existe.pem")
    expect(missing.stderr.toString()).toContain("não existe")
    const mismatched = run([
      "--tls-certificado",
      fixture.certs.server.certificate,
      "--tls-chave",
      fixture.certs.ana.key
    ])
    expect(mismatched.exitCode).toBe(1)
    expect(mismatched.stderr.toString()).toContain("não é a do certificado")
    const alone = run(["--tls-certificado", fixture.certs.server.certificate])
    expect(alone.exitCode).toBe(2)
    expect(alone.stderr.toString()).toContain("--tls-certificado e --tls-chave vão juntos")
  }, 20_000)
})

describe.skipIf(OPENSSL === undefined)("client certificates (--tls-clientes)", () => {
  const mtlsServer = (folder: string) => tlsServer(folder, ["--tls-clientes", fixture.certs.ca])

  test("a certificate of the CA is served, and the log line names it; one without, or of another CA, is refused with a sentence", async () => {
    const served = freshFolder("servida")
    writeFileSync(path.join(served, "a.txt"), "hello\n")
    const server = await mtlsServer(served)
    expect(server.stdout.text).toContain("Certificados de cliente: exigidos")
    const local = freshFolder("cliente")
    const ana = await client(server, local, [...withCertificate("ana"), "baixar", "a.txt"])
    expect(ana.code).toBe(0)
    expect(readFileSync(path.join(local, "a.txt"), "utf8")).toBe("hello\n")
    await server.stdout.waitFor(/ ana@127\.0\.0\.1:\d+ baixar a\.txt ok 6 bytes /)

    const teacher = await client(server, local, [...withCertificate("teacher"), "listar"])
    expect(teacher.code).toBe(0)
    // A name with a space is quoted, as file names are: the line still splits on spaces.
    await server.stdout.waitFor(/ "Prof Maria"@127\.0\.0\.1:\d+ listar - ok /)

    const none = await client(server, local, ["--tls-ca", fixture.certs.ca, "listar"])
    expect(none.code).toBe(3)
    expect(none.stderr).toContain("exige um certificado de cliente: use --tls-certificado e --tls-chave.")
    await server.stdout.waitFor(/certificado TLS recusado: o cliente não apresentou certificado/)

    const intruder = await client(server, local, [...withCertificate("intruder"), "baixar", "a.txt"])
    expect(intruder.code).toBe(3)
    expect(intruder.stderr).toMatch(
      /recusou o seu certificado de cliente|pode ter recusado o seu certificado de cliente/
    )
    await server.stdout.waitFor(/certificado TLS recusado: o certificado do cliente não é de uma CA aceita/)
  }, 30_000)

  test("--log json: the operation's object has the certificate's name in `certificado`", async () => {
    // With --log json every line is an object on stdout, the start-up ones too: the port is read there.
    const child = Bun.spawn(
      [
        process.execPath,
        "src/programs/server/main.ts",
        "0",
        "--pasta",
        freshFolder("servida"),
        "--endereco",
        "127.0.0.1",
        "--tls-certificado",
        fixture.certs.server.certificate,
        "--tls-chave",
        fixture.certs.server.key,
        "--tls-clientes",
        fixture.certs.ca,
        "--log",
        "json"
      ],
      { cwd: path.resolve(import.meta.dir, "../.."), stdin: "ignore", stdout: "pipe", stderr: "ignore" }
    )
    const stdout = new Lines(child.stdout)
    try {
      const port = Number((await stdout.waitFor(/"porta":(\d+)/, 10_000))[1])
      const run = await runClient(
        [`127.0.0.1:${port}`, "--pasta", freshFolder("cliente"), ...withCertificate("ana"), "listar"],
        10_000
      )
      expect(run.code).toBe(0)
      const line = await stdout.waitFor(/^\{.*"op":"listar".*\}$/m)
      const record = JSON.parse(line[0]) as Record<string, unknown>
      expect(record.certificado).toBe("ana")
      expect(record.cliente).toMatch(/^127\.0\.0\.1:\d+$/)
    } finally {
      await stop(child)
    }
  }, 15_000)
})

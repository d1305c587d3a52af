import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import * as tls from "node:tls"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { reloadCertificates } from "../../src/programs/server/tls.ts"
import { BunTransportLive } from "../../src/services/transport/BunTransport.ts"
import { type Connection, Transport } from "../../src/services/transport/Transport.ts"
import { type Certificates, makeCertificates, OPENSSL, SKIP_REASON } from "./certificates.ts"

/**
 * The reload hook (`reloadCertificates`, over `Listener.reloadTls`): new
 * connections get the certificate read again, a connection already open
 * goes on with the old one, and files that cannot be used leave the
 * listener as it was.
 */

if (OPENSSL === undefined) console.log(SKIP_REASON)

let certs: Certificates

beforeAll(() => {
  if (OPENSSL === undefined) return
  certs = makeCertificates()
})

afterAll(() => certs?.remove())

/** A TLS connection from node:tls that trusts the test CA; the subject's CN it saw, and the socket. */
const open = (port: number, servername: string) =>
  new Promise<{ readonly cn: string; readonly socket: tls.TLSSocket }>((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername, ca: readFileSync(certs.ca, "utf8") })
    socket.once("secureConnect", () => resolve({ cn: String(socket.getPeerCertificate().subject.CN), socket }))
    socket.once("error", reject)
  })

/** Sends one byte and waits for the handler's echo. */
const echo = (socket: tls.TLSSocket) =>
  new Promise<string>((resolve, reject) => {
    socket.once("data", (data: Buffer) => resolve(data.toString()))
    socket.once("error", reject)
    socket.write("x")
  })

/** Echoes every segment until the peer ends. */
const echoHandler = (connection: Connection): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (;;) {
      const next = yield* connection.read()
      if (Option.isNone(next)) return
      yield* connection.write(next.value)
    }
  }).pipe(Effect.ignore)

describe.skipIf(OPENSSL === undefined)("reloading the certificate", () => {
  test("new connections get the new certificate, one already open keeps working, bad files change nothing", async () => {
    // The files the server was started with; the test then replaces their contents, as a renewal would.
    const certificate = path.join(certs.folder, "em-uso.pem")
    const key = path.join(certs.folder, "em-uso.key")
    writeFileSync(certificate, await Bun.file(certs.server.certificate).text())
    writeFileSync(key, await Bun.file(certs.server.key).text())
    const files = { certificate, key }
    const program = Effect.gen(function* () {
      const transport = yield* Transport
      const listener = yield* transport.serve(
        {
          hostname: "127.0.0.1",
          port: 0,
          graceMillis: 100,
          firstBytesMillis: 2_000,
          tls: {
            certificate: yield* Effect.promise(() => Bun.file(certificate).text()),
            key: yield* Effect.promise(() => Bun.file(key).text()),
            handshakeMillis: 2_000
          }
        },
        echoHandler
      )
      const before = yield* Effect.promise(() => open(listener.port, "localhost"))
      expect(before.cn).toBe("localhost")

      writeFileSync(certificate, yield* Effect.promise(() => Bun.file(certs.wrongName.certificate).text()))
      writeFileSync(key, yield* Effect.promise(() => Bun.file(certs.wrongName.key).text()))
      const reloaded = yield* Effect.either(reloadCertificates(listener, files, 2))
      expect(Either.isRight(reloaded)).toBe(true)

      const after = yield* Effect.promise(() => open(listener.port, "outro.exemplo"))
      expect(after.cn).toBe("outro.exemplo")
      expect(yield* Effect.promise(() => echo(before.socket))).toBe("x")
      expect(yield* Effect.promise(() => echo(after.socket))).toBe("x")

      // A key that is not the certificate's: refused with a sentence, and the listener keeps the last good one.
      writeFileSync(key, yield* Effect.promise(() => Bun.file(certs.ana.key).text()))
      const refused = yield* Effect.either(reloadCertificates(listener, files, 2))
      expect(Either.isLeft(refused) && refused.left).toContain("não é a do certificado")
      const still = yield* Effect.promise(() => open(listener.port, "outro.exemplo"))
      expect(still.cn).toBe("outro.exemplo")
      for (const socket of [before.socket, after.socket, still.socket]) socket.destroy()
    })
    await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(BunTransportLive)))
  }, 10_000)
})

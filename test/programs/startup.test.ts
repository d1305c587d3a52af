import { describe, expect, test } from "bun:test"
import { ConnectionFailure } from "../../src/domain/errors.ts"
import { describeListenFailure } from "../../src/programs/server/startFailures.ts"

/** A listen failure is worded from the socket error the transport kept as its cause. */

const failing = (code: string) =>
  new ConnectionFailure({
    reason: "Io",
    detail: "Failed to listen",
    cause: Object.assign(new Error("Failed to listen"), { code })
  })

describe("describeListenFailure", () => {
  test("the cause's code decides the sentence, without trying the port again", () => {
    // Port 1 is never tried: the code comes from the cause.
    expect(describeListenFailure(failing("EADDRINUSE"), 1)).toStartWith("a porta 1 já está em uso")
    expect(describeListenFailure(failing("EACCES"), 1)).toStartWith("sem permissão para escutar na porta 1")
    expect(describeListenFailure(failing("EADDRNOTAVAIL"), 1)).toBe(
      "não foi possível escutar na porta 1. Tente outra porta, ou 0 para uma porta livre."
    )
  })

  test("without a code in the cause, the port is tried to find out", () => {
    const listener = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } })
    try {
      const failure = new ConnectionFailure({ reason: "Io", detail: "Failed to listen" })
      expect(describeListenFailure(failure, listener.port)).toStartWith(`a porta ${listener.port} já está em uso`)
    } finally {
      listener.stop(true)
    }
  })
})

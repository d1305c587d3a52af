import { describe, expect, test } from "bun:test"
import { Effect, Either } from "effect"
import { parseCidr } from "../../src/domain/cidr.ts"
import { encodeRequest } from "../../src/domain/operations.ts"
import { encodeProxyV2 } from "../../src/domain/proxyHeader.ts"
import { hexOf } from "../support/hostile.ts"
import { exchange, inMemory } from "../support/memory.ts"

/**
 * The trusted-proxy rule of `--protocolo-proxy` in the in-process world
 * (the server program over the in-memory transport): a PROXY header is
 * believed only from an address in `--proxies-confiaveis`; from anywhere
 * else the connection is closed without a byte, whatever the header says,
 * and the address it names is never taken for the client's. The loopback
 * side of the same rule is in test/e2e/proxy.test.ts.
 */

const BALANCERS = [Either.getOrThrow(parseCidr("10.0.0.0/8"))]
const behind = {
  serverFiles: { "a.txt": "hello" },
  settings: { proxyProtocol: true, trustedProxies: BALANCERS }
}
const relayedFrom = (address: string) =>
  encodeProxyV2({ source: { address, port: 40000 }, destination: { address: "10.0.0.1", port: 20000 } })
const concat = (...parts: ReadonlyArray<Uint8Array>) => Uint8Array.from(parts.flatMap((part) => [...part]))

describe("--proxies-confiaveis", () => {
  test.each([
    ["a download", encodeRequest({ _tag: "Download", name: "a.txt" })],
    ["a listing", encodeRequest({ _tag: "List" })]
  ])(
    "a header from an address outside the list (%s): closed without a byte, the named client never logged",
    (_, request) =>
      inMemory(behind, (world) =>
        Effect.gen(function* () {
          world.network.clientAddress = "127.0.0.1"
          const reply = yield* exchange(world, concat(relayedFrom("203.0.113.7"), request))
          expect(hexOf(reply)).toBe("")
          expect(world.logged("recusado: não é um proxy confiável").length).toBe(1)
          expect(world.logs.some((line) => line.includes("203.0.113.7"))).toBe(false)
        })
      )
  )

  test("the same header from an address in the list: served, logged as the client it names", () =>
    inMemory(behind, (world) =>
      Effect.gen(function* () {
        world.network.clientAddress = "10.1.2.3"
        const reply = yield* exchange(
          world,
          concat(relayedFrom("203.0.113.7"), encodeRequest({ _tag: "Download", name: "a.txt" }))
        )
        expect(hexOf(reply)).toBe(`0000000005${Buffer.from("hello").toString("hex")}`)
        expect(world.logged("203.0.113.7:40000 baixar a.txt ok").length).toBe(1)
        expect(world.logged("recusado").length).toBe(0)
      })
    ))
})

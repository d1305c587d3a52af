import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { readFileSync } from "node:fs"
import * as net from "node:net"
import { Deferred, type Duration, Effect, Either, Exit, Fiber, Option, Ref, Scope } from "effect"
import { ConnectionFailure } from "../../src/domain/errors.ts"
import { BunTransportLive } from "../../src/services/BunTransport.ts"
import { type Connection, Transport } from "../../src/services/Transport.ts"
import { failureOf, run, runExit } from "../support/effect.ts"
import { concatBytes, seededBytes } from "./random.ts"

/**
 * The live transport (Bun sockets) on loopback: serve on an ephemeral port,
 * connect, move bytes. Every test runs inside one scope that closes the
 * listener and the connections, and under a time bound.
 */

const MIB = 1024 * 1024
/** Each program's own bound, below the test's, so that its scope still closes everything on a hang. */
const BOUND = "25 seconds"
setDefaultTimeout(40_000)

/** Whether ::1 can be bound on this machine (decided once, before the tests). */
const hasIpv6Loopback = (() => {
  try {
    const probe = Bun.listen({ hostname: "::1", port: 0, socket: { data() {} } })
    probe.stop(true)
    return true
  } catch {
    return false
  }
})()

/** Runs a transport program with the live layer, a scope and a time bound. */
const live = <A, E>(effect: Effect.Effect<A, E, Transport | Scope.Scope>, bound: Duration.DurationInput = BOUND) =>
  effect.pipe(Effect.provide(BunTransportLive), Effect.timeout(bound))

/** Reads until the peer closes, with an optional pause before each read. */
const readAll = (connection: Connection, pause?: () => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const parts: Array<Uint8Array> = []
    while (true) {
      if (pause) yield* pause()
      const next = yield* connection.read
      if (Option.isNone(next)) return concatBytes(parts)
      parts.push(next.value)
    }
  })

/** Reads exactly `length` bytes (or fewer if the peer closes first). */
const readExactly = (connection: Connection, length: number) =>
  Effect.gen(function* () {
    const parts: Array<Uint8Array> = []
    let got = 0
    while (got < length) {
      const next = yield* connection.read
      if (Option.isNone(next)) break
      parts.push(next.value)
      got += next.value.length
    }
    return concatBytes(parts)
  })

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0

const utf8 = (text: string) => new TextEncoder().encode(text)

/** A loopback port nothing listens on: bound, then released. */
const closedPort = () => {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = probe.port
  probe.stop(true)
  return port
}

/** Largest configured kernel buffer for one direction, from /proc when there is one. */
const kernelMax = (file: string, fallback: number) => {
  try {
    const fields = readFileSync(file, "utf8").trim().split(/\s+/)
    const value = Number(fields[fields.length - 1])
    return Number.isFinite(value) && value > 0 ? value : fallback
  } catch {
    return fallback
  }
}

const connectionFailureOf = (exit: Exit.Exit<unknown, unknown>) => {
  const error = failureOf(exit)
  expect(error).toBeInstanceOf(ConnectionFailure)
  return error as ConnectionFailure
}

describe("BunTransportLive: moving bytes", () => {
  const payload = seededBytes(16 * MIB, 16)

  test("16 MiB from client to server arrive complete and equal", async () => {
    const received = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const done = yield* Deferred.make<Uint8Array, ConnectionFailure>()
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.asVoid(Deferred.complete(done, readAll(connection)))
          )
          expect(listener.port).toBeGreaterThan(0)
          yield* Effect.scoped(
            Effect.gen(function* () {
              const connection = yield* transport.connect("127.0.0.1", listener.port)
              yield* connection.write(payload)
            })
          )
          return yield* Deferred.await(done)
        })
      )
    )
    expect(received.length).toBe(payload.length)
    expect(same(received, payload)).toBe(true)
  })

  test("16 MiB from server to client arrive complete and equal", async () => {
    const received = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.ignore(connection.write(payload))
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          return yield* readAll(connection)
        })
      )
    )
    expect(received.length).toBe(payload.length)
    expect(same(received, payload)).toBe(true)
  })

  test("both directions at once (echo) stay complete and in order", async () => {
    const echoed = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.gen(function* () {
              while (true) {
                const next = yield* connection.read
                if (Option.isNone(next)) return
                yield* connection.write(next.value)
              }
            }).pipe(Effect.ignore)
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          const [, back] = yield* Effect.all([connection.write(payload), readExactly(connection, payload.length)], {
            concurrency: 2
          })
          return back
        })
      )
    )
    expect(same(echoed, payload)).toBe(true)
  })

  test("many small writes arrive in order", async () => {
    const pieces = Array.from({ length: 2_000 }, (_, i) => utf8(`${i};`))
    const received = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const done = yield* Deferred.make<Uint8Array, ConnectionFailure>()
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.asVoid(Deferred.complete(done, readAll(connection)))
          )
          yield* Effect.scoped(
            Effect.gen(function* () {
              const connection = yield* transport.connect("127.0.0.1", listener.port)
              for (const piece of pieces) yield* connection.write(piece)
              yield* connection.write(new Uint8Array(0))
            })
          )
          return yield* Deferred.await(done)
        })
      )
    )
    expect(same(received, concatBytes(pieces))).toBe(true)
  })

  test("a slow reader gets everything, and the writer waits for it (backpressure)", async () => {
    // More than the transport's queue (4 MiB) plus every kernel buffer in between, so a
    // writer facing a reader that does not read can only finish if reading never pauses.
    const size =
      4 * MIB +
      kernelMax("/proc/sys/net/ipv4/tcp_rmem", 8 * MIB) +
      kernelMax("/proc/sys/net/ipv4/tcp_wmem", 8 * MIB) +
      16 * MIB
    const big = seededBytes(size, 7)
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const written = yield* Deferred.make<void>()
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            connection.write(big).pipe(Effect.zipRight(Deferred.succeed(written, undefined)), Effect.ignore)
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          // Not reading at all for a while: the writer must still be blocked afterwards.
          yield* Effect.sleep("500 millis")
          const finishedWhileIdle = yield* Deferred.isDone(written)
          // Then reading slowly, with a pause before every read.
          const received = yield* readAll(connection, () => Effect.sleep("1 millis"))
          const finishedAtTheEnd = yield* Deferred.isDone(written)
          return { finishedWhileIdle, finishedAtTheEnd, received }
        }),
        "100 seconds"
      )
    )
    expect(result.finishedWhileIdle).toBe(false)
    expect(result.finishedAtTheEnd).toBe(true)
    expect(result.received.length).toBe(big.length)
    expect(same(result.received, big)).toBe(true)
  }, 120_000)

  test("read returns None once the peer closes, and keeps returning None", async () => {
    const reads = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.ignore(connection.write(utf8("bye")))
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          const data = yield* readExactly(connection, 3)
          const first = yield* connection.read
          const second = yield* connection.read
          return { data: new TextDecoder().decode(data), first, second }
        })
      )
    )
    expect(reads).toEqual({ data: "bye", first: Option.none(), second: Option.none() })
  })

  test("the server sees None when the client closes, after everything the client wrote", async () => {
    const received = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const done = yield* Deferred.make<Uint8Array, ConnectionFailure>()
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.asVoid(Deferred.complete(done, readAll(connection)))
          )
          yield* Effect.scoped(
            Effect.flatMap(transport.connect("127.0.0.1", listener.port), (connection) => connection.write(utf8("last words")))
          )
          return yield* Deferred.await(done)
        })
      )
    )
    expect(new TextDecoder().decode(received)).toBe("last words")
  })

  test("readNow: a queued segment, undefined while nothing is queued, None once the peer has closed", async () => {
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const release = yield* Deferred.make<void>()
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            connection.write(utf8("abc")).pipe(Effect.zipRight(Deferred.await(release)), Effect.ignore)
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          const poll = Effect.gen(function* () {
            for (;;) {
              const now = connection.readNow()
              if (now !== undefined) return now
              yield* Effect.sleep("5 millis")
            }
          })
          const segment = yield* poll
          // The server holds the connection open and sends nothing more.
          const meanwhile = connection.readNow()
          yield* Deferred.succeed(release, undefined)
          const end = yield* poll
          return { segment: Option.map(segment, (bytes) => new TextDecoder().decode(bytes)), meanwhile, end, again: connection.readNow() }
        })
      )
    )
    expect(result).toEqual({ segment: Option.some("abc"), meanwhile: undefined, end: Option.none(), again: Option.none() })
  })

  test("writeNow takes what the socket accepts at once; write sends the rest", async () => {
    const payload = seededBytes(16 * MIB, 61)
    const { taken, received } = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const done = yield* Deferred.make<Uint8Array, ConnectionFailure>()
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.asVoid(Deferred.complete(done, readAll(connection)))
          )
          const taken = yield* Effect.scoped(
            Effect.gen(function* () {
              const connection = yield* transport.connect("127.0.0.1", listener.port)
              const taken = connection.writeNow(payload)
              yield* connection.write(payload.subarray(taken))
              return taken
            })
          )
          return { taken, received: yield* Deferred.await(done) }
        })
      )
    )
    expect(taken).toBeGreaterThanOrEqual(0)
    expect(taken).toBeLessThanOrEqual(payload.length)
    expect(same(received, payload)).toBe(true)
  })

  test("a client that half-closes after its request still gets the whole answer", async () => {
    const answer = seededBytes(4 * MIB, 62)
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.gen(function* () {
              const request = yield* readAll(connection)
              if (new TextDecoder().decode(request) === "pedido") yield* connection.write(answer)
            }).pipe(Effect.ignore)
          )
          return yield* Effect.async<Buffer, Error>((resume) => {
            const parts: Array<Buffer> = []
            const socket = net.connect({ host: "127.0.0.1", port: listener.port, allowHalfOpen: true })
            socket.on("connect", () => socket.end("pedido"))
            socket.on("data", (data: Buffer) => parts.push(data))
            socket.on("error", (error) => resume(Effect.fail(error)))
            socket.on("close", () => resume(Effect.succeed(Buffer.concat(parts))))
            return Effect.sync(() => socket.destroy())
          })
        })
      )
    )
    expect(same(result, answer)).toBe(true)
  })

  test("remote names the peer as address:port", async () => {
    const remotes = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const seen = yield* Deferred.make<string>()
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.asVoid(Deferred.succeed(seen, connection.remote))
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          return { server: yield* Deferred.await(seen), client: connection.remote, port: listener.port }
        })
      )
    )
    expect(remotes.server).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(remotes.client).toBe(`127.0.0.1:${remotes.port}`)
  })
})

describe("BunTransportLive: connecting", () => {
  test("a closed port → ConnectionFailure Refused", async () => {
    const port = closedPort()
    const exit = await runExit(live(Effect.scoped(Effect.flatMap(Transport, (transport) => transport.connect("127.0.0.1", port)))))
    expect(connectionFailureOf(exit).reason).toBe("Refused")
  })

  test("an unresolvable host → ConnectionFailure Unresolved", async () => {
    const exit = await runExit(
      live(Effect.scoped(Effect.flatMap(Transport, (transport) => transport.connect("nao-existe.invalid", 20000))))
    )
    expect(connectionFailureOf(exit).reason).toBe("Unresolved")
  })

  test("a port already in use → serve fails with a ConnectionFailure", async () => {
    const exit = await runExit(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const first = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 100 }, () => Effect.void)
          return yield* transport.serve({ hostname: "127.0.0.1", port: first.port, graceMillis: 100 }, () => Effect.void)
        })
      )
    )
    connectionFailureOf(exit)
  })

  test.skipIf(!hasIpv6Loopback)("IPv6: serve on ::1 and connect to ::1", async () => {
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const seen = yield* Deferred.make<string>()
          const listener = yield* transport.serve({ hostname: "::1", port: 0, graceMillis: 1_000 }, (connection) =>
            Deferred.succeed(seen, connection.remote).pipe(Effect.zipRight(Effect.ignore(connection.write(utf8("seis")))))
          )
          const connection = yield* transport.connect("::1", listener.port)
          const data = yield* readAll(connection)
          return { data: new TextDecoder().decode(data), remote: yield* Deferred.await(seen), client: connection.remote, port: listener.port }
        })
      )
    )
    expect(result.data).toBe("seis")
    expect(result.remote).toMatch(/^\[::1\]:\d+$/)
    expect(result.client).toBe(`[::1]:${result.port}`)
  })

  test.skipIf(!hasIpv6Loopback)("dual stack: serve on :: and connect over IPv4, the peer shows as plain IPv4", async () => {
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const seen = yield* Deferred.make<string>()
          const listener = yield* transport.serve({ hostname: "::", port: 0, graceMillis: 1_000 }, (connection) =>
            Deferred.succeed(seen, connection.remote).pipe(Effect.zipRight(Effect.ignore(connection.write(utf8("dual")))))
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          const data = yield* readAll(connection)
          return { data: new TextDecoder().decode(data), remote: yield* Deferred.await(seen) }
        })
      )
    )
    expect(result.data).toBe("dual")
    expect(result.remote).toMatch(/^127\.0\.0\.1:\d+$/)
  })
})

describe("BunTransportLive: isolation and shutdown", () => {
  test("a handler that dies does not stop the listener from serving the next connection", async () => {
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const count = yield* Ref.make(0)
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.gen(function* () {
              const n = yield* Ref.getAndUpdate(count, (k) => k + 1)
              if (n === 0) return yield* Effect.die(new Error("handler bug"))
              yield* Effect.ignore(connection.write(utf8(`ok ${n}`)))
            })
          )
          const first = yield* Effect.scoped(
            Effect.flatMap(transport.connect("127.0.0.1", listener.port), (connection) => Effect.either(readAll(connection)))
          )
          const second = yield* Effect.scoped(
            Effect.flatMap(transport.connect("127.0.0.1", listener.port), (connection) => readAll(connection))
          )
          return { first, second: new TextDecoder().decode(second) }
        })
      )
    )
    // The dead handler's connection is closed (no bytes); the next one is served.
    if (result.first._tag === "Right") expect(result.first.right.length).toBe(0)
    expect(result.second).toBe("ok 1")
  })

  test("a handler that dies leaves another connection in flight untouched", async () => {
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const count = yield* Ref.make(0)
          const firstStarted = yield* Deferred.make<void>()
          const listener = yield* transport.serve({ hostname: "127.0.0.1", port: 0, graceMillis: 1_000 }, (connection) =>
            Effect.gen(function* () {
              const n = yield* Ref.getAndUpdate(count, (k) => k + 1)
              if (n === 1) return yield* Effect.die(new Error("handler bug"))
              yield* Deferred.succeed(firstStarted, undefined)
              // Echo one segment, then close.
              const next = yield* connection.read
              if (Option.isSome(next)) yield* connection.write(next.value)
            }).pipe(Effect.catchTag("ConnectionFailure", () => Effect.void))
          )
          const survivor = yield* transport.connect("127.0.0.1", listener.port)
          yield* Deferred.await(firstStarted)
          yield* Effect.scoped(Effect.flatMap(transport.connect("127.0.0.1", listener.port), (c) => Effect.either(readAll(c))))
          yield* survivor.write(utf8("still here"))
          return new TextDecoder().decode(yield* readAll(survivor))
        })
      )
    )
    expect(result).toBe("still here")
  })

  test("closing the serve scope stops accepting, and lets a handler in flight finish within the grace period", async () => {
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const serveScope = yield* Scope.make()
          const started = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const interrupted = yield* Deferred.make<void>()
          const count = yield* Ref.make(0)
          const listener = yield* transport
            .serve({ hostname: "127.0.0.1", port: 0, graceMillis: 30_000 }, (connection) =>
              Effect.gen(function* () {
                // Only the first connection is held; probes made while waiting for the stop end at once.
                if ((yield* Ref.getAndUpdate(count, (k) => k + 1)) > 0) return
                yield* Deferred.succeed(started, undefined)
                yield* Deferred.await(release)
                yield* Effect.ignore(connection.write(utf8("done")))
              }).pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)))
            )
            .pipe(Scope.extend(serveScope))
          const client = yield* transport.connect("127.0.0.1", listener.port)
          yield* Deferred.await(started)
          const closing = yield* Effect.fork(Scope.close(serveScope, Exit.void))
          // Poll until a new connection fails (one caught in the backlog while the
          // listener closes may be reset rather than refused)...
          while (Either.isRight(yield* Effect.either(Effect.scoped(transport.connect("127.0.0.1", listener.port))))) {
            yield* Effect.sleep("10 millis")
          }
          // ...from then on every new connection is refused.
          const refused = yield* Effect.flip(Effect.scoped(transport.connect("127.0.0.1", listener.port)))
          const closedEarly = Option.isSome(yield* Fiber.poll(closing))
          const interruptedEarly = yield* Deferred.isDone(interrupted)
          yield* Deferred.succeed(release, undefined)
          const data = new TextDecoder().decode(yield* readAll(client))
          yield* Fiber.join(closing)
          return { refused: refused.reason, closedEarly, interruptedEarly, data, interrupted: yield* Deferred.isDone(interrupted) }
        })
      )
    )
    expect(result).toEqual({ refused: "Refused", closedEarly: false, interruptedEarly: false, data: "done", interrupted: false })
  })

  // Regression (was a bug in src/services/BunTransport.ts, serve): the grace period never ends. The
  // listener's release runs `waitIdle.pipe(Effect.timeout(graceMillis))`, but a
  // release of Effect.acquireRelease runs uninterruptibly, so the timeout cannot
  // interrupt the `waitIdle` polling loop and waits for it: closing the scope
  // blocks until every handler ends on its own, and a handler still running
  // after graceMillis is never interrupted. (Fix: `Effect.interruptible(waitIdle)`
  // before the timeout.)
  test("closing the serve scope interrupts a handler still running after graceMillis", async () => {
    const GRACE = 300
    // The handler waits for this, so the test can unblock everything if the close hangs.
    const release = Effect.runSync(Deferred.make<void>())
    const pending = run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const serveScope = yield* Scope.make()
          const started = yield* Deferred.make<void>()
          const interrupted = yield* Deferred.make<void>()
          const listener = yield* transport
            .serve({ hostname: "127.0.0.1", port: 0, graceMillis: GRACE }, () =>
              Deferred.succeed(started, undefined).pipe(
                Effect.zipRight(Deferred.await(release)),
                Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
              )
            )
            .pipe(Scope.extend(serveScope))
          const client = yield* transport.connect("127.0.0.1", listener.port)
          yield* Deferred.await(started)
          const before = Date.now()
          yield* Scope.close(serveScope, Exit.void)
          const waited = Date.now() - before
          const wasInterrupted = yield* Deferred.isDone(interrupted)
          // The interrupted handler's connection is closed: the client sees the end.
          const end = yield* Effect.either(client.read)
          const after = yield* Effect.either(Effect.scoped(transport.connect("127.0.0.1", listener.port)))
          return { waited, wasInterrupted, end, after }
        })
      )
    )
    const blocked = Symbol("blocked")
    const outcome = await Promise.race([pending, Bun.sleep(GRACE + 5_000).then(() => blocked)])
    if (outcome === blocked) {
      Effect.runSync(Deferred.succeed(release, undefined))
      await pending.catch(() => undefined)
      throw new Error("closing the serve scope did not interrupt the handler after graceMillis")
    }
    const result = outcome as Awaited<typeof pending>
    expect(result.wasInterrupted).toBe(true)
    // A lower bound only: the grace period was granted before interrupting.
    expect(result.waited).toBeGreaterThanOrEqual(GRACE - 20)
    if (result.end._tag === "Right") expect(result.end.right).toEqual(Option.none())
    expect(result.after._tag).toBe("Left")
    if (result.after._tag === "Left") expect(result.after.left.reason).toBe("Refused")
  }, 30_000)

  test("closing the serve scope with no connection in flight does not wait for the grace period", async () => {
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const serveScope = yield* Scope.make()
          const listener = yield* transport
            .serve({ hostname: "127.0.0.1", port: 0, graceMillis: 60_000 }, () => Effect.void)
            .pipe(Scope.extend(serveScope))
          yield* Effect.scoped(Effect.flatMap(transport.connect("127.0.0.1", listener.port), readAll))
          // Bounded well below the 60 s grace: an idle listener closes without waiting it out.
          yield* Scope.close(serveScope, Exit.void).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => "waited" as const }))
          return yield* Effect.either(Effect.scoped(transport.connect("127.0.0.1", listener.port)))
        })
      )
    )
    expect(result._tag).toBe("Left")
  })
})

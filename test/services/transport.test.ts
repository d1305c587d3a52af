import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { readFileSync } from "node:fs"
import * as net from "node:net"
import { Cause, Deferred, type Duration, Effect, Either, Exit, Fiber, Option, Ref, Scope } from "effect"
import { ConnectionFailure } from "../../src/domain/errors.ts"
import type { ByteSink } from "../../src/services/ByteSink.ts"
import type { ByteSource } from "../../src/services/ByteSource.ts"
import { BunTransportLive } from "../../src/services/transport/BunTransport.ts"
import { closeSocket } from "../../src/services/transport/bunSocket.ts"
import { startSend } from "../../src/services/transport/pumps.ts"
import { SocketState } from "../../src/services/transport/socketState.ts"
import { type Connection, Transport } from "../../src/services/transport/Transport.ts"
import { Watchdog } from "../../src/services/transport/watchdog.ts"
import { failureOf, run, runExit } from "../support/effect.ts"
import { startProxy } from "../support/proxy.ts"
import { concatBytes, seededBytes, unevenChunks } from "./random.ts"

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

/** A source of `bytes` that fills one buffer it may share with others, and steps back on demand. */
const sharedSource = (bytes: Uint8Array, buffer: Uint8Array): ByteSource<never> => {
  let offset = 0
  return {
    buffer,
    fill: (into) => {
      const count = Math.min(into.length, bytes.length - offset)
      into.set(bytes.subarray(offset, offset + count))
      offset += count
      return Either.right(count)
    },
    rewind: (back) => {
      offset -= back
    }
  }
}

/** Runs a transport program with the live layer, a scope and a time bound. */
const live = <A, E>(effect: Effect.Effect<A, E, Transport | Scope.Scope>, bound: Duration.DurationInput = BOUND) =>
  effect.pipe(Effect.provide(BunTransportLive), Effect.timeout(bound))

/** Reads until the peer closes, with an optional pause before each read. */
const readAll = (connection: Connection, pause?: () => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const parts: Array<Uint8Array> = []
    while (true) {
      if (pause) yield* pause()
      const next = yield* connection.read()
      if (Option.isNone(next)) return concatBytes(parts)
      parts.push(next.value)
    }
  })

/** A server that reads each connection to the end (pausing before each read when asked); `received`: what one sent. */
const collectingServer = (pause?: () => Effect.Effect<void>) =>
  Effect.gen(function* () {
    const transport = yield* Transport
    const done = yield* Deferred.make<Uint8Array, ConnectionFailure>()
    const listener = yield* transport.serve(
      { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
      (connection) => Effect.asVoid(Deferred.complete(done, readAll(connection, pause)))
    )
    return { port: listener.port, received: Deferred.await(done) }
  })

/** Reads exactly `length` bytes (or fewer if the peer closes first). */
const readExactly = (connection: Connection, length: number) =>
  Effect.gen(function* () {
    const parts: Array<Uint8Array> = []
    let got = 0
    while (got < length) {
      const next = yield* connection.read()
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
          const listener = yield* collectingServer()
          expect(listener.port).toBeGreaterThan(0)
          yield* Effect.scoped(
            Effect.gen(function* () {
              const connection = yield* transport.connect("127.0.0.1", listener.port)
              yield* connection.write(payload)
            })
          )
          return yield* listener.received
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
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) => Effect.ignore(connection.write(payload))
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
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
              Effect.gen(function* () {
                while (true) {
                  const next = yield* connection.read()
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
          const listener = yield* collectingServer()
          yield* Effect.scoped(
            Effect.gen(function* () {
              const connection = yield* transport.connect("127.0.0.1", listener.port)
              for (const piece of pieces) yield* connection.write(piece)
              yield* connection.write(new Uint8Array(0))
            })
          )
          return yield* listener.received
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
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
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
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) => Effect.ignore(connection.write(utf8("bye")))
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          const data = yield* readExactly(connection, 3)
          const first = yield* connection.read()
          const second = yield* connection.read()
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
          const listener = yield* collectingServer()
          yield* Effect.scoped(
            Effect.flatMap(transport.connect("127.0.0.1", listener.port), (connection) =>
              connection.write(utf8("last words"))
            )
          )
          return yield* listener.received
        })
      )
    )
    expect(new TextDecoder().decode(received)).toBe("last words")
  })

  test("read: a segment that is already queued, then None once the peer has closed, and None again", async () => {
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const release = yield* Deferred.make<void>()
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) => connection.write(utf8("abc")).pipe(Effect.zipRight(Deferred.await(release)), Effect.ignore)
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          // Let the segment arrive and wait in the queue before it is read.
          yield* Effect.sleep("50 millis")
          const segment = yield* connection.read()
          // The server holds the connection open and sends nothing more: a bounded read expires.
          const meanwhile = yield* Effect.either(connection.read({ millis: 30, onIdle: () => "idle" as const }))
          yield* Deferred.succeed(release, undefined)
          const end = yield* connection.read()
          return {
            segment: Option.map(segment, (bytes) => new TextDecoder().decode(bytes)),
            meanwhile,
            end,
            again: yield* connection.read()
          }
        })
      )
    )
    expect(result).toEqual({
      segment: Option.some("abc"),
      meanwhile: Either.left("idle"),
      end: Option.none(),
      again: Option.none()
    })
  })

  test("a client that half-closes after its request still gets the whole answer", async () => {
    const answer = seededBytes(4 * MIB, 62)
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
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
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) => Effect.asVoid(Deferred.succeed(seen, connection.remote))
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
    const exit = await runExit(
      live(Effect.scoped(Effect.flatMap(Transport, (transport) => transport.connect("127.0.0.1", port))))
    )
    expect(connectionFailureOf(exit).reason).toBe("Refused")
    // The socket's own error is kept as the cause, for --debug.
    expect(connectionFailureOf(exit).cause).toMatchObject({ code: "ECONNREFUSED" })
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
          const first = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 100, firstBytesMillis: 0 },
            () => Effect.void
          )
          return yield* transport.serve(
            { hostname: "127.0.0.1", port: first.port, graceMillis: 100, firstBytesMillis: 0 },
            () => Effect.void
          )
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
          const listener = yield* transport.serve(
            { hostname: "::1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
              Deferred.succeed(seen, connection.remote).pipe(
                Effect.zipRight(Effect.ignore(connection.write(utf8("seis"))))
              )
          )
          const connection = yield* transport.connect("::1", listener.port)
          const data = yield* readAll(connection)
          return {
            data: new TextDecoder().decode(data),
            remote: yield* Deferred.await(seen),
            client: connection.remote,
            port: listener.port
          }
        })
      )
    )
    expect(result.data).toBe("seis")
    expect(result.remote).toMatch(/^\[::1\]:\d+$/)
    expect(result.client).toBe(`[::1]:${result.port}`)
  })

  test.skipIf(!hasIpv6Loopback)(
    "dual stack: serve on :: and connect over IPv4, the peer shows as plain IPv4",
    async () => {
      const result = await run(
        live(
          Effect.gen(function* () {
            const transport = yield* Transport
            const seen = yield* Deferred.make<string>()
            const listener = yield* transport.serve(
              { hostname: "::", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
              (connection) =>
                Deferred.succeed(seen, connection.remote).pipe(
                  Effect.zipRight(Effect.ignore(connection.write(utf8("dual"))))
                )
            )
            const connection = yield* transport.connect("127.0.0.1", listener.port)
            const data = yield* readAll(connection)
            return { data: new TextDecoder().decode(data), remote: yield* Deferred.await(seen) }
          })
        )
      )
      expect(result.data).toBe("dual")
      expect(result.remote).toMatch(/^127\.0\.0\.1:\d+$/)
    }
  )
})

describe("BunTransportLive: isolation and shutdown", () => {
  test("a handler that dies does not stop the listener from serving the next connection", async () => {
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const count = yield* Ref.make(0)
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
              Effect.gen(function* () {
                const n = yield* Ref.getAndUpdate(count, (k) => k + 1)
                if (n === 0) return yield* Effect.die(new Error("handler bug"))
                yield* Effect.ignore(connection.write(utf8(`ok ${n}`)))
              })
          )
          const first = yield* Effect.scoped(
            Effect.flatMap(transport.connect("127.0.0.1", listener.port), (connection) =>
              Effect.either(readAll(connection))
            )
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
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
              Effect.gen(function* () {
                const n = yield* Ref.getAndUpdate(count, (k) => k + 1)
                if (n === 1) return yield* Effect.die(new Error("handler bug"))
                yield* Deferred.succeed(firstStarted, undefined)
                // Echo one segment, then close.
                const next = yield* connection.read()
                if (Option.isSome(next)) yield* connection.write(next.value)
              }).pipe(Effect.catchTag("ConnectionFailure", () => Effect.void))
          )
          const survivor = yield* transport.connect("127.0.0.1", listener.port)
          yield* Deferred.await(firstStarted)
          yield* Effect.scoped(
            Effect.flatMap(transport.connect("127.0.0.1", listener.port), (c) => Effect.either(readAll(c)))
          )
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
            .serve({ hostname: "127.0.0.1", port: 0, graceMillis: 30_000, firstBytesMillis: 0 }, (connection) =>
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
          return {
            refused: refused.reason,
            closedEarly,
            interruptedEarly,
            data,
            interrupted: yield* Deferred.isDone(interrupted)
          }
        })
      )
    )
    expect(result).toEqual({
      refused: "Refused",
      closedEarly: false,
      interruptedEarly: false,
      data: "done",
      interrupted: false
    })
  })

  // Regression (was a bug in src/services/transport/BunTransport.ts, serve): the grace period never ends. The
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
            .serve({ hostname: "127.0.0.1", port: 0, graceMillis: GRACE, firstBytesMillis: 0 }, () =>
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
          const end = yield* Effect.either(client.read())
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
            .serve({ hostname: "127.0.0.1", port: 0, graceMillis: 60_000, firstBytesMillis: 0 }, () => Effect.void)
            .pipe(Scope.extend(serveScope))
          yield* Effect.scoped(Effect.flatMap(transport.connect("127.0.0.1", listener.port), readAll))
          // Bounded well below the 60 s grace: an idle listener closes without waiting it out.
          yield* Scope.close(serveScope, Exit.void).pipe(
            Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => "waited" as const })
          )
          return yield* Effect.either(Effect.scoped(transport.connect("127.0.0.1", listener.port)))
        })
      )
    )
    expect(result._tag).toBe("Left")
  })
})

/**
 * A counter pattern: the bytes at p..p+3 (p a multiple of 4) are p / 4 as a
 * big-endian 32-bit number, so every 4-byte word of a transfer is unique and
 * a chunk lost, repeated or reordered shows up wherever it happens.
 */
const patternByte = (p: number) => ((p >>> 2) >>> (8 * (3 - (p & 3)))) & 0xff

const pattern = (from: number, length: number) => {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = patternByte(from + i)
  return out
}

/** The first index where two byte arrays differ (-1 when equal), for a readable failure. */
const firstDifference = (a: Uint8Array, b: Uint8Array) => {
  const common = Math.min(a.length, b.length)
  for (let i = 0; i < common; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : common
}

interface CountingSource extends ByteSource<SourceBroke> {
  /** Calls of `fill` so far. */
  readonly calls: () => number
  /** Bytes handed out by `fill` so far. */
  readonly filled: () => number
  /** Every `into` that was not a prefix of `buffer` (must stay empty). */
  readonly misuses: Array<string>
}

/** The error a test source fails with: compared by identity. */
class SourceBroke {
  readonly _tag = "SourceBroke"
  constructor(readonly message = "the test source failed on purpose") {}
}

/**
 * A source of the counter pattern from position 0, through a buffer of
 * `size` bytes. `short` makes each fill hand out only part of what it is
 * asked for (as a read may); `failAt` makes the fill of that number (from 1)
 * return Left(`error`); `cheap` skips writing the pattern (for tests that
 * never look at the bytes).
 */
const countingSource = (
  size: number,
  options: {
    readonly short?: boolean
    readonly failAt?: number
    readonly error?: SourceBroke
    readonly cheap?: boolean
    /** Bytes the source holds: asked for more, it records a misuse and fails (so a runaway send ends at once). */
    readonly limit?: number
  } = {}
): CountingSource => {
  const buffer = new Uint8Array(size)
  const misuses: Array<string> = []
  let calls = 0
  let position = 0
  const fill = (into: Uint8Array): Either.Either<number, SourceBroke> => {
    calls++
    if (
      into.buffer !== buffer.buffer ||
      into.byteOffset !== buffer.byteOffset ||
      into.length > buffer.length ||
      into.length === 0
    ) {
      misuses.push(`call ${calls}: into of ${into.length} bytes at offset ${into.byteOffset}`)
    }
    if (options.failAt !== undefined && calls >= options.failAt) return Either.left(options.error ?? new SourceBroke())
    if (options.limit !== undefined && position + into.length > options.limit) {
      const misuse = `call ${calls}: asked for ${into.length} bytes at ${position}, past the length ${options.limit}`
      misuses.push(misuse)
      return Either.left(new SourceBroke(misuse))
    }
    // Uneven short fills: anywhere from 1 byte to all of what was asked.
    const count = options.short ? Math.max(1, Math.min(into.length, 1 + ((calls * 7919) % into.length))) : into.length
    if (!options.cheap) for (let i = 0; i < count; i++) into[i] = patternByte(position + i)
    position += count
    return Either.right(count)
  }
  return { buffer, fill, calls: () => calls, filled: () => position, misuses }
}

const idleError = () => new SourceBroke()

describe("BunTransportLive: sendFrom", () => {
  /** Sends `length` bytes of the pattern from a client to a server that reads (slowly when asked); returns what arrived. */
  const sendPattern = (
    source: CountingSource,
    length: number,
    options: { readonly slowReader?: boolean; readonly bound?: Duration.DurationInput } = {}
  ) =>
    live(
      Effect.gen(function* () {
        const transport = yield* Transport
        const listener = yield* collectingServer(options.slowReader ? () => Effect.sleep("2 millis") : undefined)
        const sent: Array<number> = []
        yield* Effect.scoped(
          Effect.gen(function* () {
            const connection = yield* transport.connect("127.0.0.1", listener.port)
            yield* connection.sendFrom(source, {
              length,
              millis: 10_000,
              onIdle: idleError,
              onSent: (bytes) => sent.push(bytes)
            })
          })
        )
        // The client's scope closed after the send: the server reads to the end.
        return { received: yield* listener.received, sent }
      }),
      options.bound ?? BOUND
    )

  const expectPattern = (received: Uint8Array, length: number) => {
    expect(received.length).toBe(length)
    expect(firstDifference(received, pattern(0, length))).toBe(-1)
  }

  test("20 MiB through a 64 KiB buffer to a slow reader arrive byte for byte, and onSent adds up to the length", async () => {
    const length = 20 * MIB
    const source = countingSource(64 * 1024, { limit: length })
    const { received, sent } = await run(sendPattern(source, length, { slowReader: true, bound: "60 seconds" }))
    expectPattern(received, length)
    expect(sent.reduce((a, b) => a + b, 0)).toBe(length)
    expect(sent.every((bytes) => bytes > 0)).toBe(true)
    // The reader held the sender back: the socket took some chunks in pieces (a wait for drain in between).
    expect(sent.length).toBeGreaterThan(source.calls())
    expect(source.filled()).toBe(length)
    expect(source.calls()).toBe(length / (64 * 1024))
    expect(source.misuses).toEqual([])
  }, 70_000)

  // [buffer size, length, short fills]
  const shapes: ReadonlyArray<readonly [number, number, boolean]> = [
    [64 * 1024, 3 * 64 * 1024 + 17, false],
    [64 * 1024, 1_000, false],
    [64 * 1024, 1, false],
    [64 * 1024, 64 * 1024, false],
    [64 * 1024, 64 * 1024 - 1, false],
    [64 * 1024, 64 * 1024 + 1, false],
    [1, 1_000, false],
    [1 * MIB, 9 * MIB + 3, false],
    [64 * 1024, 5 * MIB + 11, true],
    [1_000, 100_003, true]
  ]

  test.each(shapes)(
    "buffer of %p bytes, length %p (short fills: %p): exactly those bytes",
    async (size, length, short) => {
      const source = countingSource(size, { short, limit: length })
      const { received, sent } = await run(sendPattern(source, length))
      expectPattern(received, length)
      expect(sent.reduce((a, b) => a + b, 0)).toBe(length)
      // The pump never asks for more than is left: the source hands out exactly `length`.
      expect(source.filled()).toBe(length)
      if (!short) expect(source.calls()).toBe(Math.ceil(length / size))
      expect(source.misuses).toEqual([])
    }
  )

  test("a length of 0 sends nothing and never calls fill", async () => {
    const source = countingSource(64 * 1024, { limit: 0 })
    const { received, sent } = await run(sendPattern(source, 0))
    expect(received.length).toBe(0)
    expect(sent.reduce((a, b) => a + b, 0)).toBe(0)
    expect(source.calls()).toBe(0)
  })

  test.each([1, 40, 200])(
    "fill throwing on call %p ends the send as a defect carrying the error, instead of hanging",
    async (failAt) => {
      const inner = countingSource(64 * 1024, {})
      const boom = new Error("source exploded")
      let calls = 0
      const source: ByteSource<SourceBroke> = {
        buffer: inner.buffer,
        fill: (into) => {
          calls++
          if (calls === failAt) throw boom
          return inner.fill(into)
        }
      }
      const exit = await run(
        live(
          Effect.gen(function* () {
            const transport = yield* Transport
            // A reader that never reads: past the first few chunks, fill runs from the drain callback.
            const listener = yield* transport.serve(
              { hostname: "127.0.0.1", port: 0, graceMillis: 100, firstBytesMillis: 0 },
              (connection) => Effect.ignore(Effect.zipRight(Effect.sleep("20 millis"), readAll(connection)))
            )
            return yield* Effect.scoped(
              Effect.flatMap(transport.connect("127.0.0.1", listener.port), (connection) =>
                Effect.exit(connection.sendFrom(source, { length: 64 * MIB, millis: 10_000, onIdle: idleError }))
              )
            )
          })
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(Option.getOrUndefined(Cause.dieOption(exit.cause))).toBe(boom)
      expect(calls).toBe(failAt)
    }
  )

  test.each([1, 2, 40, 200])(
    "fill returning Left on call %p fails the send with exactly that error, after the bytes before it",
    async (failAt) => {
      const size = 64 * 1024
      const error = new SourceBroke()
      const source = countingSource(size, { failAt, error })
      const result = await run(
        live(
          Effect.gen(function* () {
            const transport = yield* Transport
            const listener = yield* collectingServer()
            let sent = 0
            const exit = yield* Effect.scoped(
              Effect.flatMap(transport.connect("127.0.0.1", listener.port), (connection) =>
                Effect.exit(
                  connection.sendFrom(source, {
                    length: 64 * MIB,
                    millis: 10_000,
                    onIdle: idleError,
                    onSent: (bytes) => {
                      sent += bytes
                    }
                  })
                )
              )
            )
            const callsAtFailure = source.calls()
            return { exit, sent, callsAtFailure, received: yield* listener.received }
          })
        )
      )
      expect(failureOf(result.exit)).toBe(error)
      // No fill after the failing one, and what went out is exactly what came before it.
      expect(result.callsAtFailure).toBe(failAt)
      expect(source.calls()).toBe(failAt)
      const before = (failAt - 1) * size
      expect(result.sent).toBe(before)
      expectPattern(result.received, before)
    }
  )

  test("a peer that never reads: the send fails with the onIdle error after about idleMillis, and the pump stops", async () => {
    const IDLE = 300
    const source = countingSource(64 * 1024, { cheap: true })
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const release = yield* Deferred.make<void>()
          const drained = yield* Deferred.make<number, ConnectionFailure>()
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
              // Reads nothing until released, then everything (to give the socket room to drain).
              Deferred.await(release).pipe(
                Effect.zipRight(
                  Deferred.complete(
                    drained,
                    Effect.map(readAll(connection), (bytes) => bytes.length)
                  )
                ),
                Effect.asVoid
              )
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          let idleCalls = 0
          let sent = 0
          const started = Date.now()
          const exit = yield* Effect.exit(
            connection.sendFrom(source, {
              length: 1024 * MIB,
              millis: IDLE,
              onIdle: () => {
                idleCalls++
                return { _tag: "Idle" as const, after: Date.now() - started }
              },
              onSent: (bytes) => {
                sent += bytes
              }
            })
          )
          const elapsed = Date.now() - started
          const callsAtFailure = source.calls()
          const sentAtFailure = sent
          // The peer now reads: the socket drains, and a pump still armed would fill again.
          yield* Deferred.succeed(release, undefined)
          yield* Effect.sleep("400 millis")
          return { exit, elapsed, idleCalls, callsAtFailure, sentAtFailure, sent, calls: source.calls() }
        })
      )
    )
    const error = failureOf(result.exit)
    expect(error).toMatchObject({ _tag: "Idle" })
    expect(result.idleCalls).toBe(1)
    // The kernel and the peer's queue took something, far from everything.
    expect(result.sentAtFailure).toBeGreaterThan(0)
    expect(result.sentAtFailure).toBeLessThan(1024 * MIB)
    expect(result.elapsed).toBeGreaterThanOrEqual(IDLE - 20)
    expect(result.elapsed).toBeLessThan(15_000)
    // Nothing more after the failure, even once the socket drained.
    expect(result.calls).toBe(result.callsAtFailure)
    expect(result.sent).toBe(result.sentAtFailure)
  })

  /**
   * Sends `length` bytes under `idleMillis` to a server that reads everything,
   * calling `pace(got, startedAt)` after each segment (where it may sleep).
   */
  const sendToPacedReader = (
    source: CountingSource,
    length: number,
    idleMillis: number,
    pace: (got: number, startedAt: number) => Effect.Effect<void>,
    bound?: Duration.DurationInput
  ) =>
    live(
      Effect.gen(function* () {
        const transport = yield* Transport
        const done = yield* Deferred.make<number, ConnectionFailure>()
        const listener = yield* transport.serve(
          { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
          (connection) =>
            Effect.asVoid(
              Deferred.complete(
                done,
                Effect.gen(function* () {
                  let got = 0
                  const startedAt = Date.now()
                  while (true) {
                    const next = yield* connection.read()
                    if (Option.isNone(next)) return got
                    got += next.value.length
                    yield* pace(got, startedAt)
                  }
                })
              )
            )
        )
        const started = Date.now()
        const exit = yield* Effect.scoped(
          Effect.flatMap(transport.connect("127.0.0.1", listener.port), (connection) =>
            Effect.exit(
              connection.sendFrom(source, { length, millis: idleMillis, onIdle: () => ({ _tag: "Idle" as const }) })
            )
          )
        )
        const elapsed = Date.now() - started
        return { exit, elapsed, received: yield* Deferred.await(done) }
      }),
      bound
    )

  test("idleMillis bounds each stall, not the transfer: a reader that keeps pausing briefly gets everything", async () => {
    const IDLE = 300
    const length = 64 * MIB
    const source = countingSource(64 * 1024, { cheap: true, limit: length })
    // A pause of 20 ms after every MiB: always back well within the idle time.
    let nextPause = MIB
    const result = await run(
      sendToPacedReader(source, length, IDLE, (got) => {
        if (got < nextPause) return Effect.void
        nextPause += MIB
        return Effect.sleep("20 millis")
      })
    )
    expect(source.misuses).toEqual([])
    expect(Exit.isSuccess(result.exit)).toBe(true)
    expect(result.received).toBe(length)
    // The send lasted several idle times (the reader's pauses alone add up to more), without failing.
    expect(result.elapsed).toBeGreaterThan(2 * IDLE)
  })

  test("a slow but steady reader is never cut, though the socket does not drain within idleMillis", async () => {
    // The reader takes about 1 MiB/s, steadily. With megabytes in the kernel's
    // buffers, `drain` (half the queue free) comes further apart than 1 s: only
    // the probes see that the kernel keeps taking bytes.
    const IDLE = 1_000
    const length = 8 * MIB
    const source = countingSource(64 * 1024, { cheap: true, limit: length })
    const result = await run(
      sendToPacedReader(
        source,
        length,
        IDLE,
        (got, startedAt) => {
          // Hold the pace: never more than 1 KiB per ms since the start.
          const ahead = got / 1024 - (Date.now() - startedAt)
          return ahead > 0 ? Effect.sleep(Math.ceil(ahead)) : Effect.void
        },
        "40 seconds"
      )
    )
    expect(source.misuses).toEqual([])
    expect(Exit.isSuccess(result.exit)).toBe(true)
    expect(result.received).toBe(length)
  })

  test("the peer closing mid-transfer fails the send with a ConnectionFailure (not the idle error)", async () => {
    const source = countingSource(64 * 1024, { cheap: true })
    const exit = await runExit(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          // A raw peer that reads 2 MiB and then drops the connection.
          const server = yield* Effect.acquireRelease(
            Effect.async<net.Server, Error>((resume) => {
              const server = net.createServer((socket) => {
                let got = 0
                socket.on("error", () => {})
                socket.on("data", (data: Buffer) => {
                  got += data.length
                  if (got >= 2 * MIB && !socket.destroyed) socket.destroy()
                })
              })
              server.on("error", (error) => resume(Effect.fail(error)))
              server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
            }),
            (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
          )
          const port = (server.address() as net.AddressInfo).port
          const connection = yield* transport.connect("127.0.0.1", port)
          return yield* connection.sendFrom(source, {
            length: 4096 * MIB,
            millis: 5_000,
            onIdle: idleError
          })
        })
      )
    )
    expect(connectionFailureOf(exit)).toBeInstanceOf(ConnectionFailure)
    // It stopped early: nowhere near the 4 GiB asked for.
    expect(source.filled()).toBeLessThan(1024 * MIB)
  })

  test.each([
    ["a slow reader (the pump waits for drain)", true],
    ["a fast reader", false]
  ])("interrupting the sending fiber stops the pump, with %s", async (_label, slow) => {
    const source = countingSource(64 * 1024, { cheap: true })
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const received = yield* Ref.make(0)
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
              Effect.gen(function* () {
                while (true) {
                  if (slow) yield* Effect.sleep("1 millis")
                  const next = yield* connection.read()
                  if (Option.isNone(next)) return
                  yield* Ref.update(received, (n) => n + next.value.length)
                }
              }).pipe(Effect.ignore)
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          const fiber = yield* Effect.fork(
            connection.sendFrom(source, { length: 64 * 1024 * MIB, millis: 10_000, onIdle: idleError })
          )
          while (source.calls() < 100) yield* Effect.sleep("5 millis")
          const exit = yield* Fiber.interrupt(fiber)
          // Let the interruption settle, then count: the peer keeps reading, so the socket drains.
          yield* Effect.sleep("50 millis")
          const settled = source.calls()
          const receivedAtSettle = yield* Ref.get(received)
          yield* Effect.sleep("500 millis")
          return { exit, settled, later: source.calls(), receivedAtSettle, receivedLater: yield* Ref.get(received) }
        })
      )
    )
    expect(Exit.isInterrupted(result.exit)).toBe(true)
    expect(result.settled).toBeGreaterThanOrEqual(100)
    expect(result.later).toBe(result.settled)
    // The reader went on reading what was in flight: the socket drained with no pump left to wake.
    expect(result.receivedLater).toBeGreaterThanOrEqual(result.receivedAtSettle)
  })
})

describe("BunTransportLive: readWithin", () => {
  class Idle {
    readonly _tag = "Idle"
  }
  const text = (segment: Option.Option<Uint8Array>) => Option.map(segment, (bytes) => new TextDecoder().decode(bytes))

  /** A server that sends each `[delayMillis, text]` in turn on every connection, then keeps it open. */
  const pacedServer = (script: ReadonlyArray<readonly [number, string]>) =>
    Effect.gen(function* () {
      const transport = yield* Transport
      return yield* transport.serve(
        { hostname: "127.0.0.1", port: 0, graceMillis: 100, firstBytesMillis: 0 },
        (connection) =>
          Effect.ignore(
            Effect.gen(function* () {
              for (const [delay, line] of script) {
                yield* Effect.sleep(delay)
                yield* connection.write(new TextEncoder().encode(line))
              }
              yield* Effect.sleep("5 seconds")
            })
          )
      )
    })

  /** Connects to a paced server and runs `body` on the client side of the connection. */
  const against = <A, E>(
    script: ReadonlyArray<readonly [number, string]>,
    body: (connection: Connection) => Effect.Effect<A, E>
  ) =>
    live(
      Effect.gen(function* () {
        const transport = yield* Transport
        const listener = yield* pacedServer(script)
        return yield* Effect.scoped(Effect.flatMap(transport.connect("127.0.0.1", listener.port), body))
      })
    )

  test("a segment that arrives within the deadline is read", async () => {
    const got = await run(
      against([[100, "olá"]], (connection) => connection.read({ millis: 2_000, onIdle: () => new Idle() }))
    )
    expect(text(got)).toEqual(Option.some("olá"))
  })

  test("nothing within the deadline fails with onIdle, after about that long", async () => {
    const started = performance.now()
    const exit = await runExit(against([], (connection) => connection.read({ millis: 300, onIdle: () => new Idle() })))
    const elapsed = performance.now() - started
    expect(failureOf(exit)).toBeInstanceOf(Idle)
    expect(elapsed).toBeGreaterThanOrEqual(280)
    expect(elapsed).toBeLessThan(10_000)
  })

  test("the deadline bounds each wait, not the sum: six segments 150 ms apart under a 300 ms deadline", async () => {
    const script = Array.from({ length: 6 }, (_, i) => [150, `parte ${i};`] as const)
    const got = await run(
      against(script, (connection) =>
        Effect.gen(function* () {
          let all = ""
          while (all.split(";").length <= 6) {
            const segment = yield* connection.read({ millis: 300, onIdle: () => new Idle() })
            all += Option.getOrElse(text(segment), () => "")
          }
          return all
        })
      )
    )
    expect(got).toBe(script.map(([, line]) => line).join(""))
  })

  test("a wait that begins late gets its whole deadline, not what was left of an earlier one", async () => {
    const result = await runExit(
      against([[200, "primeira"]], (connection) =>
        Effect.gen(function* () {
          const first = yield* connection.read({ millis: 300, onIdle: () => new Idle() })
          const secondStarted = performance.now()
          const second = yield* Effect.either(connection.read({ millis: 300, onIdle: () => new Idle() }))
          return { first: text(first), second, waited: performance.now() - secondStarted }
        })
      )
    )
    if (!Exit.isSuccess(result)) throw new Error("expected the first read to succeed")
    expect(result.value.first).toEqual(Option.some("primeira"))
    expect(Either.isLeft(result.value.second)).toBe(true)
    // The timer armed for the first wait fires ~100 ms into the second one: it must re-arm, not expire it.
    expect(result.value.waited).toBeGreaterThanOrEqual(280)
  })

  test("an interrupted wait leaves the connection readable, and the deadline of a later wait still holds", async () => {
    const got = await run(
      against([[300, "depois"]], (connection) =>
        Effect.gen(function* () {
          const interrupted = yield* Effect.fork(connection.read({ millis: 50, onIdle: () => new Idle() }))
          yield* Effect.sleep("10 millis")
          yield* Fiber.interrupt(interrupted)
          // The interrupted wait's 50 ms must not expire this one.
          return yield* connection.read({ millis: 2_000, onIdle: () => new Idle() })
        })
      )
    )
    expect(text(got)).toEqual(Option.some("depois"))
  })

  // Linux reports unacknowledged bytes in /proc/net/tcp; elsewhere a wait has a plain deadline.
  test.skipIf(process.platform !== "linux")(
    "a wait for the reply while a slow link still takes this side's bytes is not idle",
    async () => {
      // The client hands 2 MiB to its kernel at once, then waits for a reply
      // under 400 ms; a link of ~1 MiB/s (the fault proxy, small buffers)
      // carries them to the server, which answers once it has them all. The
      // server is silent for about 2 s, but the client's bytes keep moving.
      const IDLE = 400
      const length = 2 * MIB
      const result = await run(
        live(
          Effect.gen(function* () {
            const transport = yield* Transport
            const listener = yield* transport.serve(
              { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
              (connection) =>
                Effect.gen(function* () {
                  let got = 0
                  while (got < length) {
                    const next = yield* connection.read()
                    if (Option.isNone(next)) return
                    got += next.value.length
                  }
                  yield* connection.write(utf8("ok"))
                }).pipe(Effect.ignore)
            )
            const proxy = yield* Effect.acquireRelease(
              Effect.promise(() => startProxy(listener.port, { up: { rate: MIB } })),
              (proxy) => Effect.promise(() => proxy.stop())
            )
            const connection = yield* transport.connect("127.0.0.1", proxy.port)
            const started = Date.now()
            yield* connection.write(new Uint8Array(length))
            const reply = yield* Effect.either(
              connection.read({ millis: IDLE, onIdle: () => ({ _tag: "Idle" as const }) })
            )
            return { reply, elapsed: Date.now() - started }
          }),
          "30 seconds"
        )
      )
      expect(Either.isRight(result.reply)).toBe(true)
      expect(result.elapsed).toBeGreaterThan(3 * IDLE)
    },
    30_000
  )

  test("a peer that stops taking this side's bytes: the wait for its reply fails within the deadline and a probe", async () => {
    const IDLE = 400
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            () => Effect.never
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          // More than both kernels' buffers take: part of it stays queued, still.
          const sending = yield* Effect.fork(connection.write(new Uint8Array(16 * MIB)))
          yield* Effect.sleep("50 millis")
          const started = Date.now()
          const reply = yield* Effect.either(
            connection.read({ millis: IDLE, onIdle: () => ({ _tag: "Idle" as const }) })
          )
          yield* Fiber.interrupt(sending)
          return { reply, elapsed: Date.now() - started }
        })
      )
    )
    expect(Either.isLeft(result.reply)).toBe(true)
    expect(result.elapsed).toBeGreaterThanOrEqual(IDLE - 20)
    expect(result.elapsed).toBeLessThan(IDLE + 1_000 + 500)
  })

  test("a segment already queued is handed over even with a deadline of 0", async () => {
    const got = await run(
      against([[0, "já chegou"]], (connection) =>
        Effect.gen(function* () {
          yield* Effect.sleep("150 millis")
          return yield* connection.read({ millis: 0, onIdle: () => new Idle() })
        })
      )
    )
    expect(text(got)).toEqual(Option.some("já chegou"))
  })
})

describe("BunTransportLive: receiveInto", () => {
  class Idle {
    readonly _tag = "Idle"
  }
  /** The error a test sink fails with: compared by identity. */
  class SinkBroke {
    readonly _tag = "SinkBroke"
  }

  interface CollectingSink extends ByteSink<SinkBroke> {
    /** Copies of what each `write` was given, in order. */
    readonly parts: Array<Uint8Array>
    readonly bytes: () => Uint8Array
    readonly total: () => number
  }

  /**
   * A sink that keeps a copy of every segment; `failAt` makes that call (from 1)
   * return Left(`error`), `throwAt` makes it throw `thrown` (neither takes the bytes).
   */
  const collectingSink = (
    options: {
      readonly failAt?: number
      readonly error?: SinkBroke
      readonly throwAt?: number
      readonly thrown?: unknown
      readonly onWrite?: (bytes: Uint8Array) => void
    } = {}
  ): CollectingSink => {
    const parts: Array<Uint8Array> = []
    let calls = 0
    return {
      parts,
      bytes: () => concatBytes(parts),
      total: () => parts.reduce((total, part) => total + part.length, 0),
      write: (bytes) => {
        calls++
        options.onWrite?.(bytes)
        if (options.throwAt === calls) throw options.thrown
        if (options.failAt === calls) return Either.left(options.error ?? new SinkBroke())
        parts.push(bytes.slice())
        return Either.right(undefined)
      }
    }
  }

  /** Connects to a server whose handler runs `script` on each connection, then keeps it open unless `close`. */
  const against = <A, E>(
    script: (connection: Connection) => Effect.Effect<void, ConnectionFailure>,
    body: (connection: Connection) => Effect.Effect<A, E>,
    options: { readonly close?: boolean; readonly bound?: Duration.DurationInput } = {}
  ) =>
    live(
      Effect.gen(function* () {
        const transport = yield* Transport
        const listener = yield* transport.serve(
          { hostname: "127.0.0.1", port: 0, graceMillis: 100, firstBytesMillis: 0 },
          (connection) =>
            Effect.ignore(
              options.close ? script(connection) : Effect.zipRight(script(connection), Effect.sleep("10 seconds"))
            )
        )
        return yield* Effect.scoped(Effect.flatMap(transport.connect("127.0.0.1", listener.port), body))
      }),
      options.bound ?? BOUND
    )

  /** Writes `bytes` in consecutive pieces of seeded, uneven sizes up to `max`. */
  const writeUneven = (connection: Connection, bytes: Uint8Array, max: number, seed: number) =>
    Effect.forEach(unevenChunks(bytes, seed, max), (piece) => connection.write(piece), { discard: true })

  const expectBytes = (got: Uint8Array, want: Uint8Array) => {
    expect(got.length).toBe(want.length)
    expect(firstDifference(got, want)).toBe(-1)
  }

  const MANY = 20 * MIB
  const stream = pattern(0, MANY + 64 * 1024)

  /** Writes the first `count` thousand bytes of `stream`, 1,000 bytes every 30 ms. */
  const sendPieces = (connection: Connection, count: number) =>
    Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => Effect.zipRight(Effect.sleep("30 millis"), connection.write(stream.subarray(i * 1000, (i + 1) * 1000))),
      { discard: true }
    )

  test("20 MiB sent in many writes reach the sink byte for byte, in order; it returns the length", async () => {
    const sink = collectingSink()
    const moved = await run(
      against(
        (connection) => writeUneven(connection, stream.subarray(0, MANY), 200 * 1024, 71),
        (connection) => connection.receiveInto(sink, { length: MANY, millis: 5_000, onIdle: () => new Idle() }),
        { bound: "60 seconds" }
      )
    )
    expect(moved).toBe(MANY)
    expect(sink.parts.length).toBeGreaterThan(1)
    expectBytes(sink.bytes(), stream.subarray(0, MANY))
  })

  test("a length of 0 hands nothing over and returns 0 at once", async () => {
    const sink = collectingSink()
    const moved = await run(
      against(
        (connection) => connection.write(utf8("not for the sink")),
        (connection) =>
          Effect.gen(function* () {
            const moved = yield* connection.receiveInto(sink, {
              length: 0,
              millis: 5_000,
              onIdle: () => new Idle()
            })
            return { moved, after: new TextDecoder().decode(yield* readExactly(connection, 16)) }
          })
      )
    )
    expect(moved).toEqual({ moved: 0, after: "not for the sink" })
    expect(sink.parts.length).toBe(0)
  })

  test.each([
    ["arriving while it waits", false],
    ["already queued when it starts", true]
  ])("length + extra in one write (%s): the sink gets exactly length, read gets the extra", async (_label, queued) => {
    const length = 1000
    const extra = 537
    const sink = collectingSink()
    const result = await run(
      against(
        (connection) =>
          Effect.zipRight(
            Effect.sleep(queued ? "0 millis" : "100 millis"),
            connection.write(stream.subarray(0, length + extra))
          ),
        (connection) =>
          Effect.gen(function* () {
            if (queued) yield* Effect.sleep("200 millis")
            const moved = yield* connection.receiveInto(sink, { length, millis: 5_000, onIdle: () => new Idle() })
            return { moved, rest: yield* readExactly(connection, extra) }
          })
      )
    )
    expect(result.moved).toBe(length)
    expectBytes(sink.bytes(), stream.subarray(0, length))
    expectBytes(result.rest, stream.subarray(length, length + extra))
  })

  test.each([
    ["arriving while it waits", false],
    ["mostly queued when it starts", true]
  ])(
    "length + extra across segment boundaries (%s): the sink gets exactly length, read gets the rest",
    async (_label, queued) => {
      const length = MIB + 17
      const total = 3 * MIB + 12_345
      const sink = collectingSink()
      const result = await run(
        against(
          (connection) => writeUneven(connection, stream.subarray(0, total), 64 * 1024, 5),
          (connection) =>
            Effect.gen(function* () {
              if (queued) yield* Effect.sleep("200 millis")
              const moved = yield* connection.receiveInto(sink, { length, millis: 5_000, onIdle: () => new Idle() })
              return { moved, rest: yield* readExactly(connection, total - length) }
            })
        )
      )
      expect(result.moved).toBe(length)
      expectBytes(sink.bytes(), stream.subarray(0, length))
      expectBytes(result.rest, stream.subarray(length, total))
    }
  )

  test("bytes queued before it starts go to the sink first, before what arrives later, in order", async () => {
    let laterSent = false
    const firstCalls: Array<boolean> = []
    const sink = collectingSink({ onWrite: () => firstCalls.push(laterSent) })
    const moved = await run(
      against(
        (connection) =>
          Effect.gen(function* () {
            yield* connection.write(stream.subarray(0, 1000))
            yield* Effect.sleep("300 millis")
            laterSent = true
            yield* connection.write(stream.subarray(1000, 3000))
          }),
        (connection) =>
          Effect.gen(function* () {
            // Wait until the first write is queued, without taking it.
            yield* Effect.sleep("150 millis")
            return yield* connection.receiveInto(sink, { length: 3000, millis: 5_000, onIdle: () => new Idle() })
          })
      )
    )
    expect(moved).toBe(3000)
    expectBytes(sink.bytes(), stream.subarray(0, 3000))
    // The queued bytes were handed over before the later write was even sent.
    expect(firstCalls[0]).toBe(false)
    expectBytes(sink.parts[0]!, stream.subarray(0, sink.parts[0]!.length))
    expect(firstCalls[firstCalls.length - 1]).toBe(true)
  })

  test("a queue full enough to pause reading is drained into the sink, and reading resumes for the rest", async () => {
    const length = 6 * MIB
    const sink = collectingSink()
    const moved = await run(
      against(
        (connection) => writeUneven(connection, stream.subarray(0, length), 256 * 1024, 9),
        (connection) =>
          Effect.gen(function* () {
            // Long enough for more than the high-water mark to queue up and pause the socket.
            yield* Effect.sleep("400 millis")
            return yield* connection.receiveInto(sink, { length, millis: 5_000, onIdle: () => new Idle() })
          })
      )
    )
    expect(moved).toBe(length)
    expectBytes(sink.bytes(), stream.subarray(0, length))
  })

  test.each([
    ["while it waits", false],
    ["before it starts (all queued, then the end)", true]
  ])(
    "the peer closing after k < length bytes (%s): returns k, the sink has those k, then read gives None",
    async (_label, queued) => {
      const k = 5_000
      const sink = collectingSink()
      const result = await run(
        against(
          (connection) =>
            Effect.zipRight(
              Effect.sleep(queued ? "0 millis" : "100 millis"),
              writeUneven(connection, stream.subarray(0, k), 700, 3)
            ),
          (connection) =>
            Effect.gen(function* () {
              if (queued) yield* Effect.sleep("300 millis")
              const moved = yield* connection.receiveInto(sink, {
                length: 100_000,
                millis: 5_000,
                onIdle: () => new Idle()
              })
              return { moved, after: yield* connection.read() }
            }),
          { close: true }
        )
      )
      expect(result.moved).toBe(k)
      expectBytes(sink.bytes(), stream.subarray(0, k))
      expect(result.after).toEqual(Option.none())
    }
  )

  test("the peer resetting the connection mid-receive fails it with a ConnectionFailure, promptly", async () => {
    const sink = collectingSink()
    const started = performance.now()
    const exit = await runExit(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          // A raw peer that sends 1000 bytes and then resets the connection.
          const server = yield* Effect.acquireRelease(
            Effect.async<net.Server, Error>((resume) => {
              const server = net.createServer((socket) => {
                socket.on("error", () => {})
                socket.write(stream.subarray(0, 1000), () => setTimeout(() => socket.resetAndDestroy(), 100))
              })
              server.on("error", (error) => resume(Effect.fail(error)))
              server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
            }),
            (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
          )
          const connection = yield* transport.connect("127.0.0.1", (server.address() as net.AddressInfo).port)
          return yield* connection.receiveInto(sink, { length: 10_000, millis: 5_000, onIdle: () => new Idle() })
        })
      )
    )
    expect(connectionFailureOf(exit).reason).toBe("Reset")
    expect(performance.now() - started).toBeLessThan(3_000)
    expectBytes(sink.bytes(), stream.subarray(0, 1000))
  })

  test.each([
    ["on a segment arriving while it waits", false],
    ["on a queued segment", true]
  ])("a sink returning Left (%s) fails the receive with exactly that error, promptly", async (_label, queued) => {
    const error = new SinkBroke()
    const sink = collectingSink({ failAt: 3, error })
    const started = performance.now()
    const exit = await runExit(
      against(
        (connection) => sendPieces(connection, 6),
        (connection) =>
          Effect.gen(function* () {
            if (queued) yield* Effect.sleep("400 millis")
            return yield* connection.receiveInto(sink, { length: 6000, millis: 5_000, onIdle: () => new Idle() })
          })
      )
    )
    expect(failureOf(exit)).toBe(error)
    expect(performance.now() - started).toBeLessThan(3_000)
    // Two writes went through before the failing one, all from the start of the stream.
    expect(sink.parts.length).toBe(2)
    expectBytes(sink.bytes(), stream.subarray(0, sink.total()))
  })

  test.each([
    ["on a segment arriving while it waits", false],
    ["on a queued segment", true]
  ])("a sink that throws (%s) ends the receive as a defect, not a hang", async (_label, queued) => {
    const thrown = new Error("the sink broke on purpose")
    const sink = collectingSink({ throwAt: 2, thrown })
    const started = performance.now()
    const exit = await runExit(
      against(
        (connection) => sendPieces(connection, 4),
        (connection) =>
          Effect.gen(function* () {
            if (queued) yield* Effect.sleep("300 millis")
            return yield* connection.receiveInto(sink, { length: 4000, millis: 5_000, onIdle: () => new Idle() })
          })
      )
    )
    if (Exit.isSuccess(exit)) throw new Error("expected a defect, got a success")
    expect(Cause.dieOption(exit.cause)).toEqual(Option.some(thrown))
    expect(Option.isNone(Cause.failureOption(exit.cause))).toBe(true)
    expect(performance.now() - started).toBeLessThan(3_000)
    expect(sink.parts.length).toBe(1)
  })

  test("a peer that sends nothing: fails with the onIdle error after about idleMillis", async () => {
    const sink = collectingSink()
    const started = performance.now()
    const exit = await runExit(
      against(
        () => Effect.void,
        (connection) => connection.receiveInto(sink, { length: 1000, millis: 300, onIdle: () => new Idle() })
      )
    )
    const elapsed = performance.now() - started
    expect(failureOf(exit)).toBeInstanceOf(Idle)
    expect(elapsed).toBeGreaterThanOrEqual(280)
    expect(elapsed).toBeLessThan(5_000)
    expect(sink.parts.length).toBe(0)
  })

  test("a peer that stops partway: the sink keeps what came, then the receive fails with onIdle", async () => {
    const sink = collectingSink()
    const started = performance.now()
    const exit = await runExit(
      against(
        (connection) => Effect.zipRight(Effect.sleep("200 millis"), connection.write(stream.subarray(0, 700))),
        (connection) => connection.receiveInto(sink, { length: 1000, millis: 300, onIdle: () => new Idle() })
      )
    )
    const elapsed = performance.now() - started
    expect(failureOf(exit)).toBeInstanceOf(Idle)
    // The segment at ~200 ms restarted the wait: the failure comes ~300 ms after it, not at 300 ms.
    expect(elapsed).toBeGreaterThanOrEqual(470)
    expect(elapsed).toBeLessThan(5_000)
    expectBytes(sink.bytes(), stream.subarray(0, 700))
  })

  test("idleMillis bounds each wait, not the transfer: six segments 150 ms apart under 300 ms", async () => {
    const sink = collectingSink()
    const started = performance.now()
    const moved = await run(
      against(
        (connection) =>
          Effect.forEach(
            Array.from({ length: 6 }, (_, i) => i),
            (i) =>
              Effect.zipRight(Effect.sleep("150 millis"), connection.write(stream.subarray(i * 100, (i + 1) * 100))),
            { discard: true }
          ),
        (connection) => connection.receiveInto(sink, { length: 600, millis: 300, onIdle: () => new Idle() })
      )
    )
    expect(moved).toBe(600)
    expectBytes(sink.bytes(), stream.subarray(0, 600))
    // The whole transfer took longer than one idle period.
    expect(performance.now() - started).toBeGreaterThan(600)
  })

  test("interrupting a waiting receive unhooks it: later bytes go to read, and its deadline never fires", async () => {
    const sink = collectingSink()
    const result = await run(
      against(
        (connection) => Effect.zipRight(Effect.sleep("300 millis"), connection.write(utf8("depois"))),
        (connection) =>
          Effect.gen(function* () {
            const fiber = yield* Effect.fork(
              connection.receiveInto(sink, { length: 100, millis: 100, onIdle: () => new Idle() })
            )
            yield* Effect.sleep("30 millis")
            const exit = yield* Fiber.interrupt(fiber)
            const later = yield* connection.read({ millis: 2_000, onIdle: () => new Idle() })
            return { exit, later: Option.map(later, (bytes) => new TextDecoder().decode(bytes)) }
          })
      )
    )
    expect(Exit.isInterrupted(result.exit)).toBe(true)
    expect(result.later).toEqual(Option.some("depois"))
    expect(sink.parts.length).toBe(0)
  })

  test("a receive after an earlier one on the same connection picks up exactly where it stopped", async () => {
    const first = collectingSink()
    const second = collectingSink()
    const total = 2 * MIB + 3
    const result = await run(
      against(
        (connection) => writeUneven(connection, stream.subarray(0, total), 100 * 1024, 13),
        (connection) =>
          Effect.gen(function* () {
            const a = yield* connection.receiveInto(first, {
              length: 777_777,
              millis: 5_000,
              onIdle: () => new Idle()
            })
            const b = yield* connection.receiveInto(second, {
              length: total - 777_777,
              millis: 5_000,
              onIdle: () => new Idle()
            })
            return { a, b }
          })
      )
    )
    expect(result).toEqual({ a: 777_777, b: total - 777_777 })
    expectBytes(first.bytes(), stream.subarray(0, 777_777))
    expectBytes(second.bytes(), stream.subarray(777_777, total))
  })
})

describe("BunTransportLive: sendFrom with a shared buffer", () => {
  test("three transfers through one 64 KiB buffer to readers that start late: each arrives byte for byte", async () => {
    const shared = new Uint8Array(64 * 1024)
    const payloads = [seededBytes(24 * MIB + 1, 71), seededBytes(16 * MIB + 7, 72), seededBytes(8 * MIB + 3, 73)]
    const received = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
              Effect.gen(function* () {
                const first = yield* connection.read()
                const which = Option.getOrThrow(first)[0]!
                const payload = payloads[which]!
                yield* connection.sendFrom(sharedSource(payload, shared), {
                  length: payload.length,
                  millis: 10_000,
                  onIdle: () => "idle" as const
                })
              }).pipe(Effect.ignore)
          )
          return yield* Effect.all(
            payloads.map((_, which) =>
              Effect.scoped(
                Effect.gen(function* () {
                  const connection = yield* transport.connect("127.0.0.1", listener.port)
                  yield* connection.write(Uint8Array.of(which))
                  // Late readers: every socket fills, and the three pumps take turns on the buffer.
                  yield* Effect.sleep(`${100 + which * 50} millis`)
                  return yield* readAll(connection)
                })
              )
            ),
            { concurrency: "unbounded" }
          )
        })
      )
    )
    received.forEach((bytes, which) => {
      expect(same(bytes, payloads[which]!)).toBe(true)
    })
  })
})

describe("BunTransportLive: closing a socket", () => {
  /** A socket as closeSocket sees it; `closesInEnd` as Bun's accepted sockets do, which run their close callback inside end(). */
  const fakeSocket = (closesInEnd: boolean) => {
    const data = new SocketState(0)
    const calls: Array<string> = []
    const socket = {
      data,
      readyState: 1,
      end() {
        calls.push("end")
        if (closesInEnd) {
          this.readyState = -1
          data.wasClosed()
        }
      },
      terminate() {
        calls.push("terminate")
      }
    }
    return { socket, data, calls }
  }

  test("a socket that closes inside end() is left without a linger timer, which would hold it for the whole linger time", () => {
    const { socket, data, calls } = fakeSocket(true)
    closeSocket(socket)
    expect(calls).toEqual(["end"])
    expect(data.closed).toBe(true)
    expect(data.linger).toBeUndefined()
  })

  test("a socket still half-open after end() gets a linger timer, cleared when it closes", () => {
    const { socket, data, calls } = fakeSocket(false)
    closeSocket(socket)
    expect(calls).toEqual(["end"])
    expect(data.linger).toBeDefined()
    data.wasClosed()
    expect(data.closed).toBe(true)
    expect(data.linger).toBeUndefined()
  })

  test("closing twice ends the socket once", () => {
    const { socket, calls } = fakeSocket(true)
    closeSocket(socket)
    closeSocket(socket)
    expect(calls).toEqual(["end"])
  })
})

describe("pumps: how a send ends", () => {
  const sendClosing = (then: (state: SocketState) => void) => {
    const state = new SocketState(0)
    const port = { write: () => -1, pause() {}, resume() {} }
    const watchdog = Effect.runSync(Effect.scoped(Watchdog.make))
    let outcome: Exit.Exit<void, unknown> | undefined
    startSend(
      state,
      port,
      watchdog,
      { buffer: new Uint8Array(16), fill: (into) => Either.right(into.length) },
      { length: 100, millis: Number.POSITIVE_INFINITY, onIdle: () => "idle" },
      (exit) => {
        outcome = exit
      }
    )
    const before = outcome
    then(state)
    return { before, outcome }
  }

  test("a write refused before the socket said why waits for its error, and fails with it (the cause kept)", () => {
    const reset = Object.assign(new Error("connection reset by peer"), { code: "ECONNRESET" })
    const { before, outcome } = sendClosing((state) => state.failed(reset))
    expect(before).toBeUndefined()
    const failure =
      outcome !== undefined && Exit.isFailure(outcome) ? Cause.failureOption(outcome.cause) : Option.none()
    expect(Option.getOrUndefined(failure)).toMatchObject({ _tag: "ConnectionFailure", reason: "Reset", cause: reset })
  })

  test("onDone is told once, even when it throws (its throw is not taken for the source's)", () => {
    const state = new SocketState(0)
    const watchdog = Effect.runSync(Effect.scoped(Watchdog.make))
    const told: Array<Exit.Exit<void, unknown>> = []
    startSend(
      state,
      { write: (_bytes, _offset, length) => length, pause() {}, resume() {} },
      watchdog,
      { buffer: new Uint8Array(16), fill: (into) => Either.right(into.length) },
      { length: 40, millis: Number.POSITIVE_INFINITY, onIdle: () => "idle" },
      (exit) => {
        told.push(exit)
        throw new Error("a bug in onDone")
      }
    )
    expect(told).toHaveLength(1)
    expect(Exit.isSuccess(told[0]!)).toBe(true)
  })

  test("a close without an error fails it as closed", () => {
    const { outcome } = sendClosing((state) => state.wasClosed())
    const failure =
      outcome !== undefined && Exit.isFailure(outcome) ? Cause.failureOption(outcome.cause) : Option.none()
    expect(Option.getOrUndefined(failure)).toMatchObject({ _tag: "ConnectionFailure", reason: "Closed" })
  })
})

import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { readFileSync } from "node:fs"
import * as net from "node:net"
import { Cause, Deferred, type Duration, Effect, Either, Exit, Fiber, Option, Ref, Scope } from "effect"
import { ConnectionFailure } from "../../src/domain/errors.ts"
import { BunTransportLive } from "../../src/services/transport/BunTransport.ts"
import { closeSocket } from "../../src/services/transport/bunSocket.ts"
import { sendFrom } from "../../src/services/transport/pumps.ts"
import { SocketState } from "../../src/services/transport/socketState.ts"
import { type Connection, type Ending, Transport } from "../../src/services/transport/Transport.ts"
import { Watchdog } from "../../src/services/transport/watchdog.ts"
import { concatBytes, seededBytes } from "../support/bytes.ts"
import { failureOf, run, runExit } from "../support/effect.ts"
import { freePort } from "../support/ports.ts"
import { type DirectionFaults, startProxy } from "../support/proxy.ts"
import { eventually, within } from "../support/waiting.ts"
import { collectingSink, countingSource, pattern, SourceBroke } from "./sources.ts"

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

/** A raw node:net peer on loopback that hands each accepted socket to `onSocket`; closed with the scope. */
const rawPeer = (onSocket: (socket: net.Socket) => void) =>
  Effect.acquireRelease(
    Effect.async<net.Server, Error>((resume) => {
      const server = net.createServer((socket) => {
        socket.on("error", () => {})
        onSocket(socket)
      })
      server.on("error", (error) => resume(Effect.fail(error)))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  ).pipe(Effect.map((server) => (server.address() as net.AddressInfo).port))

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

  test("a reader that takes its time gets everything, and the writer waits for it (backpressure)", async () => {
    // More than the transport's queue (4 MiB) plus every kernel buffer in between: the
    // writer can only finish once the reader has taken all but what those hold.
    const buffered =
      4 * MIB + kernelMax("/proc/sys/net/ipv4/tcp_rmem", 8 * MIB) + kernelMax("/proc/sys/net/ipv4/tcp_wmem", 8 * MIB)
    const big = seededBytes(buffered + 16 * MIB, 7)
    const result = await run(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          let read = 0
          let readWhenWritten = -1
          const listener = yield* transport.serve(
            { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
            (connection) =>
              connection.write(big).pipe(
                Effect.tap(() => {
                  readWhenWritten = read
                }),
                Effect.ignore
              )
          )
          const connection = yield* transport.connect("127.0.0.1", listener.port)
          const parts: Array<Uint8Array> = []
          for (;;) {
            const next = yield* connection.read()
            if (Option.isNone(next)) break
            parts.push(next.value)
            read += next.value.length
          }
          return { readWhenWritten, received: concatBytes(parts) }
        }),
        "100 seconds"
      )
    )
    // The write ended only after the reader had taken the excess: it waited for the reader.
    expect(result.readWhenWritten).toBeGreaterThanOrEqual(big.length - buffered)
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
    const port = await freePort()
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
          const probe = Effect.scoped(transport.connect("127.0.0.1", listener.port)).pipe(Effect.either)
          yield* Effect.promise(() => eventually(() => Effect.runPromise(probe).then(Either.isLeft)))
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
    const outcome = await within(pending, GRACE + 5_000, () => blocked)
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

const idleError = () => new SourceBroke()

/**
 * The pumps' behaviour (fills, sinks, deadlines, interruption) is tested in
 * memory under the TestClock (pumps.test.ts); here stays what only Bun's
 * sockets and the kernel show: the kernel's count of unacknowledged bytes
 * keeping a slow transfer alive, and a peer that drops or resets a real
 * connection.
 */
describe("BunTransportLive: sendFrom", () => {
  // Linux reports unacknowledged bytes in /proc/net/tcp; elsewhere a wait has a plain deadline.
  test.skipIf(process.platform !== "linux")(
    "a slow but steady link is never cut, though the socket does not drain within idleMillis",
    async () => {
      // The fault proxy carries about 1 MiB/s, steadily. With megabytes in the
      // kernel's buffers, `drain` (half the queue free) comes further apart than
      // the idle time: only the probes see that the kernel keeps taking bytes.
      const IDLE = 1_000
      const length = 4 * MIB
      const source = countingSource(64 * 1024, { cheap: true, limit: length })
      const result = await run(
        live(
          Effect.gen(function* () {
            const transport = yield* Transport
            const listener = yield* collectingServer()
            const proxy = yield* Effect.acquireRelease(
              Effect.promise(() => startProxy(listener.port, { up: { rate: MIB } })),
              (proxy) => Effect.promise(() => proxy.stop())
            )
            const exit = yield* Effect.scoped(
              Effect.flatMap(transport.connect("127.0.0.1", proxy.port), (connection) =>
                Effect.exit(connection.sendFrom(source, { length, millis: IDLE, onIdle: idleError }))
              )
            )
            return { exit, received: yield* listener.received }
          }),
          "40 seconds"
        )
      )
      expect(source.misuses).toEqual([])
      expect(Exit.isSuccess(result.exit)).toBe(true)
      expect(result.received.length).toBe(length)
    },
    45_000
  )

  test("the peer closing mid-transfer fails the send with a ConnectionFailure (not the idle error)", async () => {
    const source = countingSource(64 * 1024, { cheap: true })
    const exit = await runExit(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          // A raw peer that reads 2 MiB and then drops the connection.
          const port = yield* rawPeer((socket) => {
            let got = 0
            socket.on("data", (data: Buffer) => {
              got += data.length
              if (got >= 2 * MIB && !socket.destroyed) socket.destroy()
            })
          })
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
})

/**
 * A connection to a server that answers "ok" once it has received `length`
 * bytes, through the fault proxy carrying this side's bytes with the `up`
 * faults (small buffers: the link, not the kernels, sets the pace).
 */
const throughSlowLinkToReplier = (length: number, up: DirectionFaults) =>
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
      Effect.promise(() => startProxy(listener.port, { up })),
      (proxy) => Effect.promise(() => proxy.stop())
    )
    return yield* transport.connect("127.0.0.1", proxy.port)
  })

/** Hands `length` bytes to the system at once, then awaits the reply under `idle`, through that link. */
const writeThenAwaitReply = (length: number, up: DirectionFaults, idle: number) =>
  run(
    live(
      Effect.gen(function* () {
        const connection = yield* throughSlowLinkToReplier(length, up)
        const started = Date.now()
        yield* connection.write(new Uint8Array(length))
        const reply = yield* Effect.either(connection.read({ millis: idle, onIdle: () => ({ _tag: "Idle" as const }) }))
        return { reply, elapsed: Date.now() - started }
      }),
      "30 seconds"
    )
  )

describe("BunTransportLive: read with a deadline", () => {
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
      const result = await writeThenAwaitReply(length, { rate: MIB }, IDLE)
      expect(result.reply).toEqual(Either.right(Option.some(utf8("ok"))))
      expect(result.elapsed).toBeGreaterThan(3 * IDLE)
    },
    30_000
  )

  test.skipIf(process.platform !== "linux")(
    "a wait for the reply through a link that acknowledges in bursts further apart than a probe interval is not idle",
    async () => {
      // The proxy takes a 4 KiB chunk every 100 ms through a small receive
      // buffer, which the kernel reopens to this side in bursts: acknowledgements
      // come several probe intervals apart (250 ms under a 1 s deadline), though
      // well within the deadline. Looks from early in the wait see them.
      const IDLE = 1_000
      const length = 192 * 1024
      const result = await writeThenAwaitReply(length, { delay_ms: 100 }, IDLE)
      expect(result.reply).toEqual(Either.right(Option.some(utf8("ok"))))
      expect(result.elapsed).toBeGreaterThan(3 * IDLE)
    },
    30_000
  )

  test.skipIf(process.platform !== "linux")(
    "a wait for the reply while this side still sends through a slow link is not idle, though the queue never shrinks",
    async () => {
      // An upload awaits its final status while it sends (upload.ts). With more
      // to send than the kernel's buffer holds, every byte the link takes is
      // replaced by a new one at once: the system's unacknowledged count stays
      // about the same from one look to the next, while bytes are acknowledged
      // all along. Those acknowledgements are the progress (the soak once saw
      // such an upload cut as idle).
      const IDLE = 1_000
      const length = 8 * MIB
      const source = countingSource(64 * 1024, { cheap: true, limit: length })
      const result = await run(
        live(
          Effect.gen(function* () {
            const connection = yield* throughSlowLinkToReplier(length, { rate: 2 * MIB })
            const started = Date.now()
            const sending = yield* Effect.fork(
              connection.sendFrom(source, { length, millis: 10_000, onIdle: idleError })
            )
            const reply = yield* Effect.either(
              connection.read({ millis: IDLE, onIdle: () => ({ _tag: "Idle" as const }) })
            )
            const sent = yield* Fiber.await(sending)
            return { reply, sent, elapsed: Date.now() - started }
          }),
          "30 seconds"
        )
      )
      expect(Exit.isSuccess(result.sent)).toBe(true)
      expect(result.reply).toEqual(Either.right(Option.some(utf8("ok"))))
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
          // More than both kernels' buffers take: part of it stays queued, still. The
          // first write to the socket happens as the fiber starts, before the read below.
          const sending = yield* Effect.fork(connection.write(new Uint8Array(16 * MIB)))
          yield* Effect.yieldNow()
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
})

describe("BunTransportLive: receiveInto", () => {
  test("the peer resetting the connection mid-receive fails it with a ConnectionFailure Reset, promptly", async () => {
    const stream = pattern(0, 1000)
    let peer: net.Socket | undefined
    // The peer resets once the sink has the bytes it sent: the reset comes while the receive waits.
    const sink = collectingSink({ onWrite: () => peer?.resetAndDestroy() })
    const started = performance.now()
    const exit = await runExit(
      live(
        Effect.gen(function* () {
          const transport = yield* Transport
          const port = yield* rawPeer((socket) => {
            peer = socket
            socket.write(stream)
          })
          const connection = yield* transport.connect("127.0.0.1", port)
          return yield* connection.receiveInto(sink, {
            length: 10_000,
            millis: 5_000,
            onIdle: () => ({ _tag: "Idle" as const })
          })
        })
      )
    )
    expect(connectionFailureOf(exit).reason).toBe("Reset")
    expect(performance.now() - started).toBeLessThan(3_000)
    expect(same(sink.bytes(), stream)).toBe(true)
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

describe("BunTransportLive: finish", () => {
  /** A server that writes `count` bytes to each connection and finishes; gives the first one's ending and unconfirmed count. */
  const finishingServer = (count: number) =>
    Effect.gen(function* () {
      const transport = yield* Transport
      const done = yield* Deferred.make<{ readonly ending: Ending; readonly unconfirmed: number }>()
      const listener = yield* transport.serve(
        { hostname: "127.0.0.1", port: 0, graceMillis: 1_000, firstBytesMillis: 0 },
        (connection) =>
          Effect.ignore(
            Effect.flatMap(
              Effect.zipRight(connection.write(seededBytes(count, 3)), connection.finish(5_000)),
              (ending) => Deferred.succeed(done, { ending, unconfirmed: connection.unconfirmed() })
            )
          )
      )
      return { port: listener.port, ended: Deferred.await(done) }
    })

  test("a peer that reads everything and closes: Closed, and the system's queue was never read", async () => {
    const { ending, unconfirmed, got } = await run(
      live(
        Effect.gen(function* () {
          const { port, ended } = yield* finishingServer(256 * 1024)
          const got = yield* Effect.scoped(
            Effect.flatMap((yield* Transport).connect("127.0.0.1", port), (client) => readAll(client))
          )
          return { ...(yield* ended), got: got.length }
        })
      )
    )
    expect(got).toBe(256 * 1024)
    expect(ending).toEqual({ _tag: "Closed" })
    // A peer that ends at once costs no look: nothing is known acknowledged.
    expect(unconfirmed).toBe(256 * 1024)
  })

  test("a peer that reads everything and then resets: Broken", async () => {
    const { ending } = await run(
      live(
        Effect.gen(function* () {
          const { port, ended } = yield* finishingServer(64 * 1024)
          const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true })
          socket.on("error", () => {})
          let received = 0
          socket.on("data", (chunk: Buffer) => {
            received += chunk.length
            if (received >= 64 * 1024) socket.resetAndDestroy()
          })
          return yield* ended
        })
      )
    )
    expect(ending).toMatchObject({ _tag: "Broken", failure: { reason: "Reset" } })
  })
})

describe("pumps: how a send ends", () => {
  /** A send whose first write the socket refuses; `then` tells the socket's state what happened. */
  const sendClosing = async (then: (state: SocketState) => void) => {
    const state = new SocketState(0)
    const port = { write: () => -1, pause() {}, resume() {} }
    const watchdog = Effect.runSync(Effect.scoped(Watchdog.make))
    const fiber = Effect.runFork(
      sendFrom(
        state,
        port,
        watchdog,
        { buffer: new Uint8Array(16), fill: (into) => Either.right(into.length) },
        { length: 100, millis: Number.POSITIVE_INFINITY, onIdle: () => "idle" }
      )
    )
    const before = fiber.unsafePoll()
    then(state)
    return { before, outcome: await Effect.runPromise(Fiber.await(fiber)) }
  }

  test("a write refused before the socket said why waits for its error, and fails with it (the cause kept)", async () => {
    const reset = Object.assign(new Error("connection reset by peer"), { code: "ECONNRESET" })
    const { before, outcome } = await sendClosing((state) => state.failed(reset))
    expect(before).toBeNull()
    const failure = Exit.isFailure(outcome) ? Cause.failureOption(outcome.cause) : Option.none()
    expect(Option.getOrUndefined(failure)).toMatchObject({ _tag: "ConnectionFailure", reason: "Reset", cause: reset })
  })

  test("a source that throws ends the send as a defect, not an exception in the event loop", async () => {
    const state = new SocketState(0)
    const watchdog = Effect.runSync(Effect.scoped(Watchdog.make))
    const thrown = new Error("the source broke on purpose")
    const exit = await Effect.runPromiseExit(
      sendFrom(
        state,
        { write: (_bytes, _offset, length) => length, pause() {}, resume() {} },
        watchdog,
        {
          buffer: new Uint8Array(16),
          fill: () => {
            throw thrown
          }
        },
        { length: 40, millis: Number.POSITIVE_INFINITY, onIdle: () => "idle" }
      )
    )
    expect(Exit.isFailure(exit) && Cause.isDie(exit.cause) ? Cause.squash(exit.cause) : exit).toBe(thrown)
  })

  test("a close without an error fails it as closed", async () => {
    const { outcome } = await sendClosing((state) => state.wasClosed())
    const failure = Exit.isFailure(outcome) ? Cause.failureOption(outcome.cause) : Option.none()
    expect(Option.getOrUndefined(failure)).toMatchObject({ _tag: "ConnectionFailure", reason: "Closed" })
  })
})

import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { acquireReleasePlain } from "../plainResources.ts"
import { finish, readSegment, receiveInto, sendFrom, writeAll } from "./pumps.ts"
import { Serving } from "./serving.ts"
import { failureOf, type Port, SocketState } from "./socketState.ts"
import { type Connection, type Listener, type ListenOptions, Transport, type TransportService } from "./Transport.ts"
import { Watchdog } from "./watchdog.ts"

/**
 * An in-memory transport for tests: `connect` pairs with the `serve`
 * listeners of the same `MemoryNetwork`, by port, and each direction of a
 * connection is a pipe. It runs the live transport's own code above the
 * socket (the connection state of socketState.ts, the pumps of pumps.ts, one
 * `Watchdog` on Effect's `Clock`), so a `TestClock` drives every deadline and
 * the only thing replaced is the socket: a `Port` whose `write` hands the
 * bytes to the peer's state.
 *
 * A pipe cuts what is written into the segments the peer receives as the test
 * scripts (`segments`), holds at most `capacity` bytes in flight (a write
 * takes only what fits, and the writer hears `drain` once there is room), and
 * delivers asynchronously, one segment per microtask, never inside the
 * writer's call. A test may hold a direction (a peer that stops reading),
 * let it through a little at a time, half-close or reset a connection, or
 * leave a port unanswered (a connect that never completes).
 *
 * Left out, as the live transport's own tests cover them on real sockets:
 * the kernel's count of unacknowledged bytes (unacknowledged.ts; a read here waits
 * its plain deadline, while `unacknowledged` and `finish` count what the pipe
 * has not delivered yet) and the linger after a close (a side that closed waits
 * for its peer's end as long as the peer takes).
 */

/**
 * How the bytes written into a pipe are cut into segments: at most this many
 * bytes each; these sizes in turn (the last one repeated); or the size of the
 * segment numbered `index` (from 0). Segments are cut from what is in flight,
 * so one segment may join the ends of several writes.
 */
export type Segments = number | ReadonlyArray<number> | ((index: number) => number)

export interface PipeOptions {
  /** Undefined: each write arrives as it was made, in pieces of at most 64 KiB. */
  readonly segments?: Segments | undefined
  /** Bytes written and not yet delivered that the pipe holds; undefined: 256 KiB, as a socket buffer. */
  readonly capacity?: number | undefined
  /** Starts held (see `PipeControl.hold`): nothing arrives until the test lets it. */
  readonly held?: boolean | undefined
}

export interface LinkOptions {
  readonly toServer?: PipeOptions | undefined
  readonly toClient?: PipeOptions | undefined
}

/** What the largest segment of a pipe without `segments` is, as on loopback. */
const MAX_SEGMENT = 64 * 1024
const DEFAULT_CAPACITY = 256 * 1024

const systemError = (code: string, message: string) => Object.assign(new Error(message), { code })

/** The test's handle on one direction of a connection. */
export interface PipeControl {
  /** Delivers nothing until `release`: the receiver reads nothing more, and the writer fills `capacity`. */
  readonly hold: () => void
  readonly release: () => void
  /** While held, lets `bytes` more through (a reader that takes a little now and then). */
  readonly pass: (bytes: number) => void
  /** Bytes written into the pipe so far. */
  readonly written: () => number
  /** Bytes delivered to the receiver so far. */
  readonly delivered: () => number
}

class Pipe implements PipeControl {
  private readonly chunks: Array<Uint8Array> = []
  private inFlight = 0
  private index = 0
  private writtenBytes = 0
  private deliveredBytes = 0
  private scheduled = false
  /** A write took less than it was offered: the writer is told when there is room. */
  private refused = false
  /** The receiver's socket stopped reading (its queue is full). */
  paused = false
  /** The test holds the pipe... */
  private held: boolean
  /** ...and lets this many bytes through meanwhile. */
  private credit = 0
  /** The writer ended its side: the receiver hears it once everything is delivered. */
  ending = false
  /** The receiver heard the end. */
  ended = false
  /** Reset: nothing more moves. */
  broken = false

  constructor(
    private readonly from: SocketState,
    private readonly to: SocketState,
    private readonly options: PipeOptions,
    private readonly onEnded: () => void
  ) {
    this.held = options.held ?? false
  }

  private get capacity() {
    return this.options.capacity ?? DEFAULT_CAPACITY
  }

  /** The writer's `Port.write`: takes what fits, -1 once this side is ended or broken. */
  write(bytes: Uint8Array, offset: number, length: number): number {
    if (this.broken || this.ending || this.from.closed) return -1
    const taken = Math.max(0, Math.min(length, this.capacity - this.inFlight))
    if (taken < length) this.refused = true
    if (taken > 0) {
      // Copied: the pumps reuse their buffers as soon as a write returns.
      this.chunks.push(bytes.slice(offset, offset + taken))
      this.inFlight += taken
      this.writtenBytes += taken
      this.schedule()
    }
    return taken
  }

  end(): void {
    if (this.ending || this.broken) return
    this.ending = true
    this.schedule()
  }

  break(): void {
    this.broken = true
    this.chunks.length = 0
    this.inFlight = 0
  }

  readonly hold = () => {
    this.held = true
    this.credit = 0
  }

  readonly release = () => {
    this.held = false
    this.schedule()
  }

  readonly pass = (bytes: number) => {
    this.credit += bytes
    this.schedule()
  }

  /** Whether the test's hold stops the next delivery. */
  private get stopped(): boolean {
    return this.held && this.credit <= 0
  }

  readonly written = () => this.writtenBytes
  readonly delivered = () => this.deliveredBytes

  schedule(): void {
    if (this.scheduled || this.stopped || this.paused || this.broken) return
    if (this.chunks.length === 0 && !(this.ending && !this.ended)) return
    this.scheduled = true
    queueMicrotask(this.deliverOne)
  }

  private nextSize(): number {
    const { segments } = this.options
    const first = this.chunks[0]!.length
    if (segments === undefined) return Math.min(first, MAX_SEGMENT)
    const size =
      typeof segments === "number"
        ? segments
        : typeof segments === "function"
          ? segments(this.index)
          : (segments[Math.min(this.index, segments.length - 1)] ?? this.inFlight)
    return Math.max(1, Math.floor(size))
  }

  /** The next `size` bytes in flight (fewer if fewer are), across chunks. */
  private take(size: number): Uint8Array {
    const first = this.chunks[0]!
    if (first.length >= size) {
      if (first.length === size) this.chunks.shift()
      else this.chunks[0] = first.subarray(size)
      return first.subarray(0, size)
    }
    const out = new Uint8Array(Math.min(size, this.inFlight))
    let filled = 0
    while (filled < out.length) {
      const chunk = this.chunks[0]!
      const part = chunk.subarray(0, out.length - filled)
      out.set(part, filled)
      filled += part.length
      if (part.length === chunk.length) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(part.length)
    }
    return out
  }

  private readonly deliverOne = (): void => {
    this.scheduled = false
    if (this.broken || this.stopped || this.paused) return
    if (this.chunks.length > 0) {
      const segment = this.take(this.held ? Math.min(this.credit, this.nextSize()) : this.nextSize())
      if (this.held) this.credit -= segment.length
      this.index++
      this.inFlight -= segment.length
      this.deliveredBytes += segment.length
      this.to.received(segment)
      if (this.refused && this.inFlight < this.capacity) {
        this.refused = false
        this.from.drained()
      }
    } else if (this.ending && !this.ended) {
      this.ended = true
      this.to.peerEnded()
      this.onEnded()
      return
    }
    this.schedule()
  }
}

/** One connection of the network: its two ends and two pipes. */
export class MemoryLink {
  readonly clientState: SocketState
  readonly serverState: SocketState
  private readonly up: Pipe
  private readonly down: Pipe
  private closed = false

  constructor(
    /** The listener's port. */
    readonly port: number,
    /** The client's address and port, as the server sees them. */
    readonly clientAddress: string,
    readonly clientPort: number,
    options: LinkOptions,
    /** When the client connected, in Clock milliseconds. */
    openedAt: number
  ) {
    this.clientState = new SocketState(openedAt)
    this.serverState = new SocketState(openedAt)
    this.up = new Pipe(this.clientState, this.serverState, options.toServer ?? {}, () => this.endedOne())
    this.down = new Pipe(this.serverState, this.clientState, options.toClient ?? {}, () => this.endedOne())
    this.clientState.port = this.portOf(this.up, this.down)
    this.serverState.port = this.portOf(this.down, this.up)
  }

  /** What the client sends. */
  get toServer(): PipeControl {
    return this.up
  }

  /** What the server sends. */
  get toClient(): PipeControl {
    return this.down
  }

  /** Whether both sides have closed (or the link was reset). */
  get isClosed(): boolean {
    return this.closed
  }

  /** The socket of one end: writes go out through `out`; pausing stops `incoming`. */
  private portOf(out: Pipe, incoming: Pipe): Port {
    return {
      write: (bytes, offset, length) => out.write(bytes, offset, length),
      pause: () => {
        incoming.paused = true
      },
      resume: () => {
        incoming.paused = false
        incoming.schedule()
      }
    }
  }

  /** Once both directions have ended, the connection is closed for both ends. */
  private endedOne(): void {
    if (this.closed || !(this.up.ended && this.down.ended)) return
    this.closed = true
    queueMicrotask(() => {
      this.clientState.wasClosed()
      this.serverState.wasClosed()
    })
  }

  /**
   * Ends one side gracefully, as the live transport's close: what it wrote
   * still arrives, then the end; what the peer still sends is dropped.
   */
  closeSide(side: "client" | "server"): void {
    const state = side === "client" ? this.clientState : this.serverState
    state.discard()
    if (state.closed) return
    ;(side === "client" ? this.up : this.down).end()
  }

  /**
   * Ends one side's sending only (as `shutdown(SHUT_WR)`): the peer hears the
   * end after what was written, and this side still reads what comes.
   */
  readonly shutdownWrite = (side: "client" | "server"): void => {
    ;(side === "client" ? this.up : this.down).end()
  }

  /** Drops the connection at once: both ends fail with a reset, and nothing in flight arrives. */
  readonly reset = (): void => {
    if (this.closed) return
    this.closed = true
    this.up.break()
    this.down.break()
    queueMicrotask(() => {
      this.clientState.wasClosed(systemError("ECONNRESET", "read ECONNRESET"))
      this.serverState.wasClosed(systemError("ECONNRESET", "read ECONNRESET"))
    })
  }
}

interface Listening {
  readonly accept: (link: MemoryLink) => void
}

const remoteOf = (address: string, port: number) =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`

/**
 * The listeners and connections of one test. Tests read `links` to hold or
 * reset a connection, and set `linkOptions`, `clientAddress` or `unanswered`
 * before connecting.
 */
export class MemoryNetwork {
  readonly links: Array<MemoryLink> = []
  readonly listeners = new Map<number, Listening>()
  /** Ports whose connects are never answered (a host that drops the SYN). */
  readonly unanswered = new Set<number>()
  /** Address the next connections come from, as the server sees them. */
  clientAddress = "127.0.0.1"
  private nextPort = 30_000
  private nextClientPort = 50_000

  constructor(
    /** Pipe options of every new connection. */
    public linkOptions: LinkOptions = {}
  ) {}

  /** The newest connection. */
  get lastLink(): MemoryLink | undefined {
    return this.links.at(-1)
  }

  allocatePort(): number {
    while (this.listeners.has(this.nextPort)) this.nextPort++
    return this.nextPort++
  }

  link(port: number, openedAt: number): MemoryLink {
    const link = new MemoryLink(port, this.clientAddress, this.nextClientPort++, this.linkOptions, openedAt)
    this.links.push(link)
    return link
  }
}

const makeConnection = (
  link: MemoryLink,
  side: "client" | "server",
  watchdog: Watchdog,
  remoteHost: string
): Connection => {
  const state = side === "client" ? link.clientState : link.serverState
  const port = state.port!
  const address = side === "client" ? remoteHost : link.clientAddress
  const out = side === "client" ? link.toServer : link.toClient
  /** What was written and not yet delivered: the pipe's count, where the live transport asks the system. */
  const unacknowledged = () => state.confirm(out.written() - out.delivered())
  return {
    remote: remoteOf(address, side === "client" ? link.port : link.clientPort),
    address,
    openedAt: state.openedAt,
    poll: () => state.take(),
    read: (within) => readSegment(state, watchdog, within),
    write: (bytes, within) => writeAll(state, port, watchdog, bytes, within),
    receiveInto: (sink, options) => receiveInto(state, watchdog, sink, options),
    sendFrom: (source, options) => sendFrom(state, port, watchdog, source, options),
    close: Effect.sync(() => link.closeSide(side)),
    abort: Effect.sync(() => link.reset()),
    unacknowledged,
    unconfirmed: () => state.sent - state.confirmed,
    finish: (millis) =>
      finish(state, watchdog, millis, { shutdown: () => link.shutdownWrite(side), cut: link.reset, unacknowledged })
  }
}

const connect = (network: MemoryNetwork, watchdog: Watchdog) => (host: string, port: number) =>
  Effect.suspend(() => {
    if (network.unanswered.has(port)) return Effect.never
    const listener = network.listeners.get(port)
    if (listener === undefined) {
      return Effect.fail(failureOf(systemError("ECONNREFUSED", `connect ECONNREFUSED ${host}:${port}`)))
    }
    return acquireReleasePlain(
      Effect.sync(() => {
        const link = network.link(port, watchdog.now())
        // Accepted on the listener's side after this call, as a socket's open event would be.
        queueMicrotask(() => listener.accept(link))
        return link
      }),
      (link) => Effect.sync(() => link.closeSide("client"))
    ).pipe(Effect.map((link) => makeConnection(link, "client", watchdog, host)))
  })

/** Serves in memory, each connection handed to its handler as the live transport does (serving.ts). */
const serve =
  (network: MemoryNetwork, watchdog: Watchdog) =>
  <R>(
    options: ListenOptions,
    handle: (connection: Connection) => Effect.Effect<void, never, Exclude<R, Scope.Scope>>
  ) =>
    Effect.gen(function* () {
      const port = options.port === 0 ? network.allocatePort() : options.port
      if (network.listeners.has(port)) {
        return yield* failureOf(systemError("EADDRINUSE", `listen EADDRINUSE ${options.hostname}:${port}`))
      }
      const serving = new Serving(
        yield* Effect.runtime<Exclude<R, Scope.Scope>>(),
        watchdog,
        options.firstBytesMillis,
        handle
      )
      const accept = (link: MemoryLink) =>
        serving.accept(link.serverState, makeConnection(link, "server", watchdog, ""), () => link.closeSide("server"))
      yield* Effect.acquireRelease(
        Effect.sync(() => network.listeners.set(port, { accept })),
        () =>
          Effect.suspend(() => {
            network.listeners.delete(port)
            return serving.shutdown(options.graceMillis)
          })
      )
      return { hostname: options.hostname, port } satisfies Listener
    })

/** The transport over `network`, its watchdog on the clock of the fiber that makes it. */
export const makeMemoryTransport = (network: MemoryNetwork): Effect.Effect<TransportService, never, Scope.Scope> =>
  Effect.map(Watchdog.make, (watchdog) => ({ connect: connect(network, watchdog), serve: serve(network, watchdog) }))

export const MemoryTransportLive = (network: MemoryNetwork) => Layer.scoped(Transport, makeMemoryTransport(network))

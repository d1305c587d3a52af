import * as path from "node:path"
import { within } from "./waiting.ts"

/**
 * The fault-injection proxy (faultproxy.py) as a child process: where it
 * listens, the faults for the next connections, and the bytes each finished
 * connection moved in each direction. Stopped by its own pid.
 */

/** A number, or a [low, high] range drawn anew for each connection. */
export type Drawn = number | readonly [number, number]

export interface DirectionFaults {
  /** Bytes per second; absent or 0 for unlimited. */
  readonly rate?: Drawn
  /** Pause before forwarding each chunk (of at most 4 KiB). */
  readonly delay_ms?: Drawn
  /** Sends every chunk as segments of 1 to 7 bytes. */
  readonly slice?: boolean
  /** Forwards this many bytes, then closes both sides... */
  readonly cut_after?: Drawn
  /** ...with FIN (default) or RST, or either at random. */
  readonly cut_with?: "fin" | "rst" | "random"
  /** Forwards this many bytes, then nothing more, keeping both sockets open. */
  readonly blackhole_after?: Drawn
}

export interface Faults {
  /** Client to server. */
  readonly up?: DirectionFaults
  /** Server to client. */
  readonly down?: DirectionFaults
}

export interface ClosedLink {
  readonly id: number
  readonly up: number
  readonly down: number
}

export interface Stats {
  readonly totals: { readonly up: number; readonly down: number; readonly connections: number }
  readonly open: Record<string, { readonly up: number; readonly down: number }>
}

export interface FaultProxy {
  readonly port: number
  /** The address a client is given: 127.0.0.1:port. */
  readonly address: string
  /** Faults for the connections accepted from now on. */
  readonly setFaults: (faults: Faults) => Promise<void>
  /** Connections that ended, in the order they ended. */
  readonly closed: ReadonlyArray<ClosedLink>
  /** Waits until `count` connections have ended (bounded). */
  readonly waitClosed: (count: number, millis?: number) => Promise<ReadonlyArray<ClosedLink>>
  readonly stats: () => Promise<Stats>
  readonly stop: () => Promise<void>
}

const SCRIPT = path.join(import.meta.dir, "faultproxy.py")

type Event = { readonly event: string } & Record<string, unknown>

/** Socket buffers of a path that takes megabytes ahead of the link (`startProxy`'s `buffers`). */
export const LARGE_BUFFERS = 4 * 1024 * 1024

export const startProxy = async (
  targetPort: number,
  faults: Faults = {},
  options: { readonly buffers?: number } = {}
): Promise<FaultProxy> => {
  const buffers = options.buffers === undefined ? [] : ["--buffers", String(options.buffers)]
  const child = Bun.spawn(["python3", "-u", SCRIPT, "--target-port", String(targetPort), ...buffers], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit"
  })
  const events: Array<Event> = []
  const closed: Array<ClosedLink> = []
  const waiters: Array<() => void> = []
  const reading = (async () => {
    const decoder = new TextDecoder()
    let pending = ""
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk, { stream: true })
      let newline = pending.indexOf("\n")
      while (newline >= 0) {
        const event = JSON.parse(pending.slice(0, newline)) as Event
        pending = pending.slice(newline + 1)
        newline = pending.indexOf("\n")
        events.push(event)
        if (event.event === "closed") closed.push(event as unknown as ClosedLink)
        for (const wake of waiters.splice(0)) wake()
      }
    }
  })().catch(() => {})

  const waitEvent = async (accept: (event: Event) => boolean, millis: number, what: string): Promise<Event> => {
    const deadline = Date.now() + millis
    for (let seen = 0; ; ) {
      for (; seen < events.length; seen++) if (accept(events[seen]!)) return events[seen]!
      const left = deadline - Date.now()
      if (left <= 0 || child.exitCode !== null) throw new Error(`faultproxy: no ${what} within ${millis} ms`)
      // Woken by the next event; bounded, so a process that died is noticed too.
      await within(new Promise<void>((wake) => waiters.push(wake)), Math.min(left, 200), () => undefined)
    }
  }
  const send = (command: object) => {
    child.stdin.write(`${JSON.stringify(command)}\n`)
    child.stdin.flush()
  }

  const listening = await waitEvent((event) => event.event === "listening", 10_000, "listening line")
  const port = listening.port as number
  const setFaults = async (next: Faults) => {
    const mark = events.length
    send({ faults: next })
    await waitEvent((event) => event.event === "faults" && events.indexOf(event) >= mark, 5_000, "faults reply")
  }
  await setFaults(faults)
  return {
    port,
    address: `127.0.0.1:${port}`,
    setFaults,
    closed,
    waitClosed: async (count, millis = 15_000) => {
      await waitEvent(() => closed.length >= count, millis, `${count} closed connections`)
      return closed
    },
    stats: async () => {
      const mark = events.length
      send({ stats: true })
      const event = await waitEvent((e) => e.event === "stats" && events.indexOf(e) >= mark, 5_000, "stats reply")
      return event as unknown as Stats
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL")
        await within(child.exited, 2_000, () => undefined)
      }
      await within(reading, 500, () => undefined)
    }
  }
}

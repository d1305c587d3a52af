import { listing, type PanelSources, snapshot } from "./snapshot.ts"

/** How often progress is sampled and news sent, while someone listens. */
export const TICK_MILLIS = 500

/** The folder is listed again this often while someone listens (files may change outside the server). */
const FILES_EVERY_TICKS = 20

/** A comment goes out after this long without an event, so idle timeouts on the way keep the stream. */
const HEARTBEAT_TICKS = 30

/** A subscriber that has not read this many events is dropped (a stuck tab must not grow the server). */
const MAX_UNREAD = 256

/** The browser's wait before reconnecting, told to it once per stream. */
const RETRY_MILLIS = 2_000

const encoder = new TextEncoder()

/** One Server-Sent Event: its name and its JSON data on one line. */
export const frame = (event: string, data: unknown): Uint8Array =>
  encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

interface Subscriber {
  readonly controller: ReadableStreamDefaultController<Uint8Array>
  closed: boolean
}

export interface PanelEvents {
  /** GET /eventos: a stream that starts with the whole state (`estado`) and then its changes. */
  readonly stream: (request: Request) => Response
  readonly subscribers: () => number
  /** Whether the sampling timer runs (only while someone listens). */
  readonly sampling: () => boolean
  /** Sends an event to everyone now (`encerrando`). */
  readonly broadcast: (event: string, data: unknown) => void
  /** Ends every stream and the sampling. */
  readonly close: () => void
}

/**
 * The live page's event stream. Sampling runs every TICK_MILLIS only while at
 * least one subscriber listens; each tick sends what changed since the last:
 * `ativas` (the operations in flight, while there are any and once more when
 * they are gone), `operacoes` (new log lines and the totals), `arquivos` (the
 * folder, when an upload ended or it changed). With no subscriber there is no
 * timer at all.
 */
export const makePanelEvents = (sources: PanelSources, tickMillis: number = TICK_MILLIS): PanelEvents => {
  const subscribers = new Set<Subscriber>()
  let timer: ReturnType<typeof setInterval> | undefined
  let ticks = 0
  let quietTicks = 0
  let sentSeq = sources.state.lastSeq()
  let hadActive = false
  let lastFiles = ""
  let listingNow = false

  const remove = (subscriber: Subscriber) => {
    if (subscriber.closed) return
    subscriber.closed = true
    subscribers.delete(subscriber)
    try {
      subscriber.controller.close()
    } catch {
      // Already closed by the client going away.
    }
    if (subscribers.size === 0 && timer !== undefined) {
      clearInterval(timer)
      timer = undefined
    }
  }

  const send = (subscriber: Subscriber, bytes: Uint8Array) => {
    try {
      if ((subscriber.controller.desiredSize ?? 0) < -MAX_UNREAD) remove(subscriber)
      else subscriber.controller.enqueue(bytes)
    } catch {
      remove(subscriber)
    }
  }

  const broadcast = (event: string, data: unknown) => {
    quietTicks = 0
    const bytes = frame(event, data)
    for (const subscriber of subscribers) send(subscriber, bytes)
  }

  const sendFiles = async (force: boolean) => {
    if (listingNow) return
    listingNow = true
    try {
      const files = await listing(sources)
      const text = JSON.stringify(files)
      if (force || text !== lastFiles) {
        lastFiles = text
        broadcast("arquivos", files)
      }
    } finally {
      listingNow = false
    }
  }

  const tick = () => {
    ticks++
    const ativas = sources.state.sample(sources.now())
    if (ativas.length > 0 || hadActive) broadcast("ativas", { ativas, conexoes: sources.totals().conexoes })
    hadActive = ativas.length > 0
    const seq = sources.state.lastSeq()
    if (seq !== sentSeq) {
      broadcast("operacoes", { linhas: sources.state.linesSince(sentSeq), totais: sources.totals() })
      sentSeq = seq
    }
    if (sources.state.takeFolderChanged() || ticks % FILES_EVERY_TICKS === 0) void sendFiles(false)
    if (++quietTicks >= HEARTBEAT_TICKS) {
      quietTicks = 0
      const ping = encoder.encode(`: ${new Date(sources.now()).toISOString()}\n\n`)
      for (const subscriber of subscribers) send(subscriber, ping)
    }
  }

  const stream = (request: Request): Response => {
    let subscriber: Subscriber | undefined
    const body = new ReadableStream<Uint8Array>({
      start: async (controller) => {
        subscriber = { controller, closed: false }
        controller.enqueue(encoder.encode(`retry: ${RETRY_MILLIS}\n\n`))
        const state = await snapshot(sources)
        if (subscriber.closed) return
        lastFiles = JSON.stringify({ arquivos: state.arquivos, arquivos_erro: state.arquivos_erro })
        send(subscriber, frame("estado", state))
        subscribers.add(subscriber)
        if (timer === undefined) {
          sentSeq = sources.state.lastSeq()
          timer = setInterval(tick, tickMillis)
          timer.unref?.()
        }
      },
      cancel: () => {
        if (subscriber !== undefined) remove(subscriber)
      }
    })
    request.signal.addEventListener("abort", () => {
      if (subscriber !== undefined) remove(subscriber)
    })
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no"
      }
    })
  }

  return {
    stream,
    subscribers: () => subscribers.size,
    sampling: () => timer !== undefined,
    broadcast,
    close: () => {
      for (const subscriber of [...subscribers]) remove(subscriber)
    }
  }
}

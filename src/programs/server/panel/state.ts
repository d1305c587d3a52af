import { WORDS } from "../../../domain/operations.ts"
import type { OperationRecord } from "../exchange.ts"
import { formatLogLine } from "../logLine.ts"
import type { ServerObserver } from "../observer.ts"

/** How many ended operations (and refusals) the page can show. */
export const LAST_LINES = 200

/** An operation whose bytes have not moved for this long is shown as stalled ("parado"). */
export const STALLED_MILLIS = 3_000

/** A rate is measured over at least this long (shorter gaps between looks keep the last one). */
const RATE_WINDOW_MILLIS = 200

/** An operation in flight, as the page shows it. */
export interface ActiveView {
  readonly id: number
  readonly cliente: string
  readonly op: string
  readonly nome: string
  readonly bytes: number
  /** What it is to move; null until known (a listing, an upload before its size). */
  readonly total: number | null
  readonly inicio: string
  readonly decorrido_ms: number
  /** Bytes per second over the last look; 0 before the second one. */
  readonly taxa_bps: number
  readonly parado: boolean
}

/** One line of the log: the same words, and its fields. */
export interface LineView {
  /** Grows by one per line: a page that already has a line skips it. */
  readonly seq: number
  readonly hora: string
  readonly cliente: string
  readonly op: string
  readonly nome: string
  readonly resultado: string
  readonly nota?: string
  readonly bytes: number
  readonly ms: number
  /** The line as the log wrote it. */
  readonly linha: string
}

interface Active {
  readonly id: number
  readonly client: string
  readonly record: OperationRecord
  readonly started: number
  sampledBytes: number
  sampledAt: number
  changedAt: number
  rate: number
}

interface Ended {
  seq: number
  client: string
  record: OperationRecord
  started: number
  millis: number
}

/**
 * What the live page shows of the connection path: the operations in flight
 * and the last ones that ended. As an observer it only files objects it is
 * given (a map entry per operation, a slot of a fixed ring per line); lines
 * are formatted and progress is measured when someone looks (`sample`,
 * `linesSince`), so a server nobody watches pays nothing more.
 */
export interface PanelState extends ServerObserver {
  /** The operations in flight, their progress measured since the previous look. */
  readonly sample: (now: number) => ReadonlyArray<ActiveView>
  /** The number of the last line filed (0: none yet). */
  readonly lastSeq: () => number
  /** The lines after `seq`, newest first (at most LAST_LINES). */
  readonly linesSince: (seq: number) => ReadonlyArray<LineView>
  /** Whether an upload ended well since the last call: the folder's listing changed. */
  readonly takeFolderChanged: () => boolean
}

const viewOf = (slot: Ended): LineView => {
  const { record } = slot
  return {
    seq: slot.seq,
    hora: new Date(slot.started).toISOString(),
    cliente: slot.client,
    op: record.op,
    nome: record.name,
    resultado: record.result,
    ...(record.note === undefined ? {} : { nota: record.note }),
    bytes: record.bytes,
    ms: slot.millis,
    linha: formatLogLine(slot.started, slot.client, record, slot.millis)
  }
}

export const makePanelState = (): PanelState => {
  const active = new Map<OperationRecord, Active>()
  const ring: Array<Ended> = []
  let seq = 0
  let nextId = 0
  let folderChanged = false

  const file = (client: string, record: OperationRecord, started: number, millis: number) => {
    seq++
    if (ring.length < LAST_LINES) {
      ring.push({ seq, client, record, started, millis })
      return
    }
    const slot = ring[(seq - 1) % LAST_LINES]!
    slot.seq = seq
    slot.client = client
    slot.record = record
    slot.started = started
    slot.millis = millis
  }

  return {
    attach: () => {},
    operationStarted: (client, record, started) => {
      active.set(record, {
        id: ++nextId,
        client,
        record,
        started,
        sampledBytes: record.bytes,
        sampledAt: started,
        changedAt: started,
        rate: 0
      })
    },
    operationEnded: (client, record, started, millis) => {
      active.delete(record)
      file(client, record, started, millis)
      if (record.op === WORDS.Upload && record.result === "ok") folderChanged = true
    },
    refused: (client, _reason, result) => {
      file(client, { op: "?", name: "-", bytes: 0, result }, Date.now(), 0)
    },
    sample: (now) => {
      const views: Array<ActiveView> = []
      for (const entry of active.values()) {
        const { record } = entry
        const elapsed = now - entry.sampledAt
        if (record.bytes !== entry.sampledBytes) {
          if (elapsed >= RATE_WINDOW_MILLIS) {
            entry.rate = ((record.bytes - entry.sampledBytes) * 1000) / elapsed
            entry.sampledBytes = record.bytes
            entry.sampledAt = now
          }
          entry.changedAt = now
        } else if (elapsed >= RATE_WINDOW_MILLIS) {
          entry.rate = 0
          entry.sampledAt = now
        }
        views.push({
          id: entry.id,
          cliente: entry.client,
          op: record.op,
          nome: record.name,
          bytes: record.bytes,
          total: record.total === undefined || record.total === 0 ? null : record.total,
          inicio: new Date(entry.started).toISOString(),
          decorrido_ms: Math.max(0, now - entry.started),
          taxa_bps: Math.round(entry.rate),
          parado: now - entry.changedAt >= STALLED_MILLIS
        })
      }
      return views
    },
    lastSeq: () => seq,
    linesSince: (since) => {
      const lines: Array<LineView> = []
      for (let n = seq; n > since && n > seq - ring.length; n--) lines.push(viewOf(ring[(n - 1) % LAST_LINES]!))
      return lines
    },
    takeFolderChanged: () => {
      const changed = folderChanged
      folderChanged = false
      return changed
    }
  }
}

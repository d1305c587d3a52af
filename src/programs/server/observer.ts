import type { OperationRecord } from "./exchange.ts"

/** Why a connection was turned away before its request was read: the `motivo` of arquivos_recusas_total. */
export type RefusalReason =
  | "limite-conexoes"
  | "limite-por-endereco"
  | "permitir"
  | "proxy-nao-confiavel"
  | "proxy-sem-cabecalho"

/** What the server lets an observer read at any time (nothing is pushed for it). */
export interface ServerGauges {
  /** Connections holding a place among --max-clientes now. */
  readonly connections: () => number
}

/**
 * Whoever watches the server: the metrics (./metrics.ts), the live page (./panel/).
 * The connection path calls these synchronously, once per event, with objects
 * it already holds: an observer counts, and must not allocate or block.
 *
 * An operation's record is the same object from `operationStarted` to
 * `operationEnded`: its `bytes` grows as the transfer moves, so a watcher
 * that wants progress reads it when it wants (no event per chunk). A request
 * that never arrived whole ends without having started.
 *
 * The observers are fixed when the server starts (`observeAll`); a watcher
 * whose own listeners come and go (a live page's subscribers) is one
 * observer that keeps its own set.
 */
export interface ServerObserver {
  /** Called once by the server as it starts, with what can be read from it. */
  readonly attach: (gauges: ServerGauges) => void
  /** The request was read: `record.op` and `record.name` are known. */
  readonly operationStarted: (client: string, record: OperationRecord, started: number) => void
  /** The operation's log line was written, however it ended. */
  readonly operationEnded: (client: string, record: OperationRecord, started: number, millis: number) => void
  /** Turned away before its request was read; `result` is its log line's ("recusado: …"). */
  readonly refused: (client: string, reason: RefusalReason, result: string) => void
}

/**
 * One observer for many: undefined for none (the server then makes no call at
 * all), the observer itself for one, a loop over them otherwise.
 */
export const observeAll = (observers: ReadonlyArray<ServerObserver>): ServerObserver | undefined => {
  if (observers.length <= 1) return observers[0]
  return {
    attach: (gauges) => {
      for (const observer of observers) observer.attach(gauges)
    },
    operationStarted: (client, record, started) => {
      for (const observer of observers) observer.operationStarted(client, record, started)
    },
    operationEnded: (client, record, started, millis) => {
      for (const observer of observers) observer.operationEnded(client, record, started, millis)
    },
    refused: (client, reason, result) => {
      for (const observer of observers) observer.refused(client, reason, result)
    }
  }
}

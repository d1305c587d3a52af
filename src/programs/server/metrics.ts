import { WORDS } from "../../domain/operations.ts"
import { VERSION } from "../version.ts"
import type { OperationRecord } from "./exchange.ts"
import type { RefusalReason, ServerGauges, ServerObserver } from "./observer.ts"

/** The `resultado` label: the first word of an operation's result. */
const RESULTS = ["ok", "falha", "cancelado", "cortado", "recusado"] as const

/**
 * The index in RESULTS of a log result ("ok", "falha: …", "cancelado: …",
 * "cortado: …", "recusado"), read from its first letters so that counting
 * builds no string.
 */
const resultIndex = (result: string): number => {
  switch (result.charCodeAt(0)) {
    case 111: // o
      return 0
    case 102: // f
      return 1
    case 99: // c
      return result.charCodeAt(1) === 97 /* a */ ? 2 : 3
    default:
      return 4
  }
}

const REFUSALS: ReadonlyArray<RefusalReason> = [
  "limite-conexoes",
  "limite-por-endereco",
  "permitir",
  "proxy-nao-confiavel",
  "proxy-sem-cabecalho"
]

/** Upper bounds of the duration histogram, in seconds (a listing takes milliseconds, a 1 GiB transfer minutes). */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]
const BUCKET_MILLIS = DURATION_BUCKETS.map((seconds) => seconds * 1000)

/** Operations whose bytes come in (the client's file); the others send. */
const INBOUND = new Set<string>([WORDS.Upload, WORDS.Resume])

/** The label of an operation whose request was not read whole (its log says "?" or "op-0x63"). */
const UNKNOWN_OP = "desconhecida"

interface OperationStats {
  readonly results: Float64Array
  /** Per bucket, not cumulative (summed when rendered). */
  readonly buckets: Float64Array
  sum: number
  count: number
}

const newStats = (): OperationStats => ({
  results: new Float64Array(RESULTS.length),
  buckets: new Float64Array(BUCKET_MILLIS.length),
  sum: 0,
  count: 0
})

/** What the counters hold, as plain numbers (the live page's totals). */
export interface Totals {
  /** Per operation word ("desconhecida": a request never read whole), per result word. */
  readonly operacoes: Record<string, Record<(typeof RESULTS)[number], number>>
  readonly bytes: { readonly entrada: number; readonly saida: number }
  readonly recusas: Record<RefusalReason, number>
  /** Connections holding a place among --max-clientes now. */
  readonly conexoes: number
}

export interface Metrics extends ServerObserver {
  /** Everything counted so far, in the Prometheus text exposition format 0.0.4. */
  readonly render: (accepting: boolean) => string
  /** The same counts as an object, read when asked. */
  readonly totals: () => Totals
}

/** Escapes a label value as the exposition format asks: backslash, double quote, line feed. */
const label = (value: string) => value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))

const header = (name: string, type: string, help: string) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`

/**
 * The server's counters, fed by the connection path (ServerObserver) with a
 * few increments per event, and rendered only when scraped.
 */
export const makeMetrics = (): Metrics => {
  const operations = new Map<string, OperationStats>()
  for (const word of [...Object.values(WORDS), UNKNOWN_OP]) operations.set(word, newStats())
  const bytes = { entrada: 0, saida: 0 }
  const refusals = new Float64Array(REFUSALS.length)
  let gauges: ServerGauges = { connections: () => 0 }

  // Anything but an operation's word ("?", "op-0x63": a request never read whole) counts as one label.
  const unknown = operations.get(UNKNOWN_OP)!
  const statsOf = (op: string): OperationStats => operations.get(op) ?? unknown

  const render = (accepting: boolean): string => {
    let out = ""
    out += header("arquivos_operacoes_total", "counter", "Operações terminadas, por operação e resultado.")
    for (const [op, stats] of operations) {
      RESULTS.forEach((result, i) => {
        out += `arquivos_operacoes_total{op="${label(op)}",resultado="${result}"} ${stats.results[i]}\n`
      })
    }
    out += header("arquivos_bytes_total", "counter", "Bytes de arquivos e listagens transferidos, por direção.")
    out += `arquivos_bytes_total{direcao="entrada"} ${bytes.entrada}\n`
    out += `arquivos_bytes_total{direcao="saida"} ${bytes.saida}\n`
    out += header(
      "arquivos_conexoes_ativas",
      "gauge",
      "Conexões atendidas agora (cada uma ocupa um lugar de --max-clientes)."
    )
    out += `arquivos_conexoes_ativas ${gauges.connections()}\n`
    out += header("arquivos_recusas_total", "counter", "Conexões recusadas antes do pedido, por motivo.")
    REFUSALS.forEach((reason, i) => {
      out += `arquivos_recusas_total{motivo="${reason}"} ${refusals[i]}\n`
    })
    out += header("arquivos_operacao_duracao_segundos", "histogram", "Duração das operações, por operação.")
    for (const [op, stats] of operations) {
      const name = label(op)
      let cumulative = 0
      DURATION_BUCKETS.forEach((bound, i) => {
        cumulative += stats.buckets[i]!
        out += `arquivos_operacao_duracao_segundos_bucket{op="${name}",le="${bound}"} ${cumulative}\n`
      })
      out += `arquivos_operacao_duracao_segundos_bucket{op="${name}",le="+Inf"} ${stats.count}\n`
      out += `arquivos_operacao_duracao_segundos_sum{op="${name}"} ${stats.sum / 1000}\n`
      out += `arquivos_operacao_duracao_segundos_count{op="${name}"} ${stats.count}\n`
    }
    out += header("arquivos_aceitando", "gauge", "1 enquanto o servidor aceita conexões; 0 ao encerrar.")
    out += `arquivos_aceitando ${accepting ? 1 : 0}\n`
    out += header("arquivos_info", "gauge", "Versão do servidor.")
    out += `arquivos_info{versao="${label(VERSION)}"} 1\n`
    const memory = process.memoryUsage()
    const cpu = process.cpuUsage()
    out += header("process_resident_memory_bytes", "gauge", "Memória residente do processo, em bytes.")
    out += `process_resident_memory_bytes ${memory.rss}\n`
    out += header("process_heap_bytes", "gauge", "Heap do JavaScript, em bytes: o total reservado e o usado.")
    out += `process_heap_bytes{tipo="total"} ${memory.heapTotal}\n`
    out += `process_heap_bytes{tipo="usado"} ${memory.heapUsed}\n`
    out += header("process_cpu_seconds_total", "counter", "Tempo de CPU do processo (usuário e sistema), em segundos.")
    out += `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}\n`
    out += header("process_start_time_seconds", "gauge", "Quando o processo começou, em segundos desde 1970 (UTC).")
    out += `process_start_time_seconds ${Math.floor((Date.now() - process.uptime() * 1000) / 1000)}\n`
    return out
  }

  const totals = (): Totals => {
    const operacoes: Record<string, Record<(typeof RESULTS)[number], number>> = {}
    for (const [op, stats] of operations) {
      operacoes[op] = Object.fromEntries(RESULTS.map((result, i) => [result, stats.results[i]!])) as Record<
        (typeof RESULTS)[number],
        number
      >
    }
    const recusas = Object.fromEntries(REFUSALS.map((reason, i) => [reason, refusals[i]!])) as Record<
      RefusalReason,
      number
    >
    return { operacoes, bytes: { ...bytes }, recusas, conexoes: gauges.connections() }
  }

  return {
    attach: (given) => {
      gauges = given
    },
    operationStarted: () => {},
    operationEnded: (_client, record: OperationRecord, _started, millis) => {
      const stats = statsOf(record.op)
      stats.results[resultIndex(record.result)]!++
      stats.count++
      stats.sum += millis
      let i = 0
      while (i < BUCKET_MILLIS.length && millis > BUCKET_MILLIS[i]!) i++
      if (i < BUCKET_MILLIS.length) stats.buckets[i]!++
      if (INBOUND.has(record.op)) bytes.entrada += record.bytes
      else bytes.saida += record.bytes
    },
    refused: (_client, reason) => {
      refusals[REFUSALS.indexOf(reason)]!++
    },
    render,
    totals
  }
}

import { describe, expect, test } from "bun:test"
import type { OperationRecord } from "../../src/programs/server/exchange.ts"
import { formatLogLine } from "../../src/programs/server/logLine.ts"
import { LAST_LINES, makePanelState, STALLED_MILLIS } from "../../src/programs/server/panel/state.ts"

/** The live page's state, fed as the connection path feeds it, read as the page reads it. */

const T0 = Date.parse("2026-12-06T12:00:00.000Z")
const record = (op: string, name: string, total?: number): OperationRecord => ({
  op,
  name,
  bytes: 0,
  result: "ok",
  ...(total === undefined ? {} : { total })
})

describe("the panel's state", () => {
  test("an operation in flight: its bytes of its total, its rate, then stalled, then gone", () => {
    const state = makePanelState()
    const download = record("baixar", "<script>.txt", 1000)
    state.operationStarted("127.0.0.1:5000", download, T0)
    const [first] = state.sample(T0)
    expect(first).toMatchObject({
      cliente: "127.0.0.1:5000",
      op: "baixar",
      nome: "<script>.txt",
      bytes: 0,
      total: 1000
    })
    expect(first!.parado).toBe(false)
    download.bytes = 500
    const [moving] = state.sample(T0 + 500)
    expect(moving).toMatchObject({ bytes: 500, taxa_bps: 1000, decorrido_ms: 500, parado: false })
    const [stalled] = state.sample(T0 + 500 + STALLED_MILLIS)
    expect(stalled).toMatchObject({ bytes: 500, taxa_bps: 0, parado: true })
    download.bytes = 1000
    expect(state.sample(T0 + 600 + STALLED_MILLIS)[0]!.parado).toBe(false)
    state.operationEnded("127.0.0.1:5000", download, T0, 4000)
    expect(state.sample(T0 + 5000)).toEqual([])
  })

  test("an unknown total is null (a listing, an upload before its size)", () => {
    const state = makePanelState()
    state.operationStarted("c", record("listar", "-"), T0)
    expect(state.sample(T0)[0]!.total).toBeNull()
  })

  test("ended operations and refusals are the log's lines, newest first, numbered", () => {
    const state = makePanelState()
    const upload = record("enviar", "a b.txt", 3)
    upload.bytes = 3
    state.operationStarted("10.0.0.1:1", upload, T0)
    state.operationEnded("10.0.0.1:1", upload, T0, 12)
    state.refused("10.0.0.2:2", "permitir", "recusado: endereço fora de --permitir")
    const lines = state.linesSince(0)
    expect(lines.map((line) => line.seq)).toEqual([2, 1])
    expect(lines[1]).toMatchObject({ cliente: "10.0.0.1:1", op: "enviar", nome: "a b.txt", bytes: 3, ms: 12 })
    expect(lines[1]!.linha).toBe(formatLogLine(T0, "10.0.0.1:1", upload, 12))
    expect(lines[0]).toMatchObject({ op: "?", nome: "-", resultado: "recusado: endereço fora de --permitir" })
    expect(state.linesSince(1).map((line) => line.seq)).toEqual([2])
    expect(state.lastSeq()).toBe(2)
    // A stored upload changed the folder: said once.
    expect(state.takeFolderChanged()).toBe(true)
    expect(state.takeFolderChanged()).toBe(false)
  })

  test("only the last LAST_LINES lines are kept", () => {
    const state = makePanelState()
    const total = LAST_LINES + 57
    for (let i = 1; i <= total; i++) {
      const done = record("baixar", `f${i}`)
      state.operationEnded("c", done, T0 + i, 1)
    }
    const lines = state.linesSince(0)
    expect(lines.length).toBe(LAST_LINES)
    expect(lines[0]!.nome).toBe(`f${total}`)
    expect(lines.at(-1)!.nome).toBe(`f${total - LAST_LINES + 1}`)
    expect(state.linesSince(total - 2).map((line) => line.nome)).toEqual([`f${total}`, `f${total - 1}`])
    expect(state.takeFolderChanged()).toBe(false)
  })
})

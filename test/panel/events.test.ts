import { describe, expect, test } from "bun:test"
import type { OperationRecord } from "../../src/programs/server/exchange.ts"
import type { Totals } from "../../src/programs/server/metrics.ts"
import { makeMetrics } from "../../src/programs/server/metrics.ts"
import { frame, makePanelEvents } from "../../src/programs/server/panel/events.ts"
import { panelRoutes } from "../../src/programs/server/panel/routes.ts"
import type { PanelSources } from "../../src/programs/server/panel/snapshot.ts"
import { makePanelState } from "../../src/programs/server/panel/state.ts"

/** GET /eventos in process: the first snapshot, what each change sends, and who is subscribed. */

const sourcesWith = (files: Array<{ name: string; size: number }> = []) => {
  const metrics = makeMetrics()
  const state = makePanelState()
  let samples = 0
  const sample = state.sample
  const sources: PanelSources = {
    state: {
      ...state,
      sample: (now) => {
        samples++
        return sample(now)
      }
    },
    totals: (): Totals => metrics.totals(),
    health: { accepting: true },
    facts: undefined,
    listFiles: async () => files,
    now: Date.now
  }
  return { sources, metrics, samples: () => samples }
}

/** Reads a stream of Server-Sent Events one event at a time. */
const reader = (response: Response) => {
  const body = response.body!.getReader()
  const decoder = new TextDecoder()
  let buffered = ""
  const seen: Array<{ event: string; data: unknown }> = []
  const next = async (): Promise<{ event: string; data: unknown }> => {
    for (;;) {
      const end = buffered.indexOf("\n\n")
      if (end >= 0) {
        const block = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event !== undefined && data !== undefined) {
          seen.push({ event, data: JSON.parse(data) })
          return seen.at(-1)!
        }
        continue
      }
      const { value, done } = await body.read()
      if (done) throw new Error("the stream ended")
      buffered += decoder.decode(value, { stream: true })
    }
  }
  const until = async (name: string) => {
    for (;;) {
      const got = await next()
      if (got.event === name) return got.data as Record<string, unknown>
    }
  }
  return { until, seen, cancel: () => body.cancel() }
}

const request = (controller = new AbortController()) =>
  new Request("http://127.0.0.1/eventos", { signal: controller.signal })

describe("the panel's event stream", () => {
  test("starts with the whole state, then sends progress, the ended line and the totals", async () => {
    const { sources, metrics } = sourcesWith([{ name: "<script>.txt", size: 7 }])
    const events = makePanelEvents(sources, 10)
    const response = events.stream(request())
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
    const stream = reader(response)
    const first = await stream.until("estado")
    expect(first.arquivos).toEqual([{ nome: "<script>.txt", tamanho: 7 }])
    expect(first.ativas).toEqual([])
    expect(events.subscribers()).toBe(1)
    expect(events.sampling()).toBe(true)

    const transfer: OperationRecord = { op: "baixar", name: "grande.bin", bytes: 0, total: 4096, result: "ok" }
    const observer = { ...metrics, ...sources.state }
    observer.operationStarted("127.0.0.9:1234", transfer, Date.now())
    transfer.bytes = 1024
    const active = await stream.until("ativas")
    expect(active.ativas).toMatchObject([{ cliente: "127.0.0.9:1234", nome: "grande.bin", bytes: 1024, total: 4096 }])
    transfer.bytes = 4096
    metrics.operationEnded("127.0.0.9:1234", transfer, Date.now(), 5)
    sources.state.operationEnded("127.0.0.9:1234", transfer, Date.now(), 5)
    const ended = await stream.until("operacoes")
    expect(ended.linhas).toMatchObject([{ op: "baixar", nome: "grande.bin", bytes: 4096, resultado: "ok" }])
    expect((ended.totais as Totals).bytes.saida).toBe(4096)
    // In the same tick, once more when the last one is gone, so the page empties its table.
    expect(stream.seen.at(-2)).toEqual({ event: "ativas", data: { ativas: [], conexoes: 0 } })
    await stream.cancel()
    expect(events.subscribers()).toBe(0)
    expect(events.sampling()).toBe(false)
  })

  test("no subscriber, no sampling; an aborted request unsubscribes", async () => {
    const { sources, samples } = sourcesWith()
    const events = makePanelEvents(sources, 10)
    expect(events.sampling()).toBe(false)
    const controller = new AbortController()
    const stream = reader(events.stream(request(controller)))
    await stream.until("estado")
    expect(events.sampling()).toBe(true)
    const before = samples()
    controller.abort()
    expect(events.subscribers()).toBe(0)
    expect(events.sampling()).toBe(false)
    // The snapshot sampled once; nothing samples after the last subscriber left.
    expect(samples()).toBe(before)
  })

  test("every subscriber gets each event; close ends every stream", async () => {
    const { sources } = sourcesWith()
    const events = makePanelEvents(sources, 10)
    const a = reader(events.stream(request()))
    const b = reader(events.stream(request()))
    await Promise.all([a.until("estado"), b.until("estado")])
    expect(events.subscribers()).toBe(2)
    events.broadcast("encerrando", { aceitando: false })
    expect(await a.until("encerrando")).toEqual({ aceitando: false })
    expect(await b.until("encerrando")).toEqual({ aceitando: false })
    events.close()
    expect(events.subscribers()).toBe(0)
    expect(events.sampling()).toBe(false)
    await expect(a.until("ativas")).rejects.toThrow("the stream ended")
  })

  test("a name cannot break the framing: data is one JSON line whatever it holds", () => {
    const text = new TextDecoder().decode(frame("arquivos", { nome: "a\n\nevent: falso\ndata: x</script>" }))
    expect(text.split("\n")).toEqual([
      "event: arquivos",
      'data: {"nome":"a\\n\\nevent: falso\\ndata: x</script>"}',
      "",
      ""
    ])
  })

  test("GET /estado is the snapshot as JSON; the page is HTML that may reach nothing elsewhere", async () => {
    const { sources } = sourcesWith([{ name: "x", size: 1 }])
    const routes = panelRoutes(sources, makePanelEvents(sources, 10))
    const estado = await routes["/estado"]!(new Request("http://127.0.0.1/estado"))
    expect(estado.headers.get("content-type")).toBe("application/json; charset=utf-8")
    expect(await estado.json()).toMatchObject({ servidor: { aceitando: true }, ativas: [], ultimas: [] })
    const page = await routes["/"]!(new Request("http://127.0.0.1/"))
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'")
    const html = await page.text()
    expect(html).toContain('<html lang="pt-BR">')
    expect(html).toContain('<h2 id="t-ativas">Conexões ativas')
    // Data reaches the document only as text.
    expect(html).not.toContain("innerHTML")
    expect(html).not.toMatch(/https?:\/\//)
  })
})

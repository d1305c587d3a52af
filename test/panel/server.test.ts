import { afterAll, describe, expect, test } from "bun:test"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { encodeRequest } from "../../src/domain/operations.ts"
import { freePort } from "../bin/processes.ts"
import { startAtTakenPort } from "../ops/takenPort.ts"
import { startServerProcess, stopAll } from "../support/processes.ts"
import { rawExchange } from "../support/rawExchange.ts"

/** --painel on the real server process: where it listens, beside --metricas or on its own, and what it counts. */

const roots: Array<string> = []
afterAll(async () => {
  await stopAll()
  for (const root of roots) await rm(root, { recursive: true, force: true })
})

const served = async () => {
  const root = await mkdtemp(path.join(tmpdir(), "arquivos-painel-servidor-"))
  roots.push(root)
  await writeFile(path.join(root, "a.txt"), "hello")
  return root
}

const download = (name: string) => encodeRequest({ _tag: "Download", name })

interface Estado {
  readonly servidor: { readonly porta: number; readonly aceitando: boolean; readonly tls: boolean }
  readonly totais: { readonly operacoes: Record<string, { ok: number }>; readonly bytes: { saida: number } }
  readonly ultimas: ReadonlyArray<{ readonly op: string; readonly nome: string; readonly linha: string }>
  readonly arquivos: ReadonlyArray<{ readonly nome: string; readonly tamanho: number }>
}

describe("--painel on the server process", () => {
  test("alone: the page, and /estado with the served folder, the totals and the log's line of a download", async () => {
    const port = await freePort()
    const server = await startServerProcess(await served(), { args: ["--painel", `127.0.0.1:${port}`] })
    expect(server.stdout.text).toContain(`Painel ao vivo: http://127.0.0.1:${port}/`)
    const page = await fetch(`http://127.0.0.1:${port}/`)
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect((await rawExchange(server.port, download("a.txt"))).reply.length).toBe(1 + 4 + 5)
    const estado = (await (await fetch(`http://127.0.0.1:${port}/estado`)).json()) as Estado
    expect(estado.servidor).toMatchObject({ porta: server.port, aceitando: true, tls: false })
    expect(estado.arquivos).toEqual([{ nome: "a.txt", tamanho: 5 }])
    expect(estado.totais.operacoes.baixar!.ok).toBe(1)
    expect(estado.totais.bytes.saida).toBe(5)
    expect(estado.ultimas[0]).toMatchObject({ op: "baixar", nome: "a.txt" })
    await server.stdout.waitFor(/baixar a\.txt ok/)
    expect(server.stdout.text).toContain(estado.ultimas[0]!.linha)
    // Without --metricas its routes are not served.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404)
  })

  test("at --metricas' address: one listener serves both", async () => {
    const port = await freePort()
    const address = `127.0.0.1:${port}`
    await startServerProcess(await served(), { args: ["--metricas", address, "--painel", address] })
    expect((await fetch(`http://${address}/metrics`)).status).toBe(200)
    expect((await fetch(`http://${address}/saude`)).status).toBe(200)
    expect((await fetch(`http://${address}/estado`)).status).toBe(200)
  })

  test("at another address: each its own, with only its routes", async () => {
    const [metrics, panel] = [await freePort(), await freePort()]
    await startServerProcess(await served(), {
      args: ["--metricas", `127.0.0.1:${metrics}`, "--painel", `127.0.0.1:${panel}`]
    })
    expect((await fetch(`http://127.0.0.1:${metrics}/metrics`)).status).toBe(200)
    expect((await fetch(`http://127.0.0.1:${metrics}/estado`)).status).toBe(404)
    expect((await fetch(`http://127.0.0.1:${panel}/estado`)).status).toBe(200)
    expect((await fetch(`http://127.0.0.1:${panel}/metrics`)).status).toBe(404)
  })

  test("a port in use: the server does not start, and names --painel", async () => {
    expect(await startAtTakenPort("--painel", await served())).toEqual({ status: 1, named: true })
  })
})

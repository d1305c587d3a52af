import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { readFile, rm, stat, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { startServer, tempDir } from "../support/harness.ts"
import {
  be32,
  type HostileServer,
  named,
  pause,
  type Step,
  seededBytes,
  send,
  startHostile,
  tree
} from "../support/hostile.ts"
import { CLIENT_MAIN, runCli } from "./cli.ts"
import { TerminalSession } from "./terminal.ts"

/**
 * What a person sees in a real terminal of a given width: the progress bar
 * fits and redraws in place (no line ever wraps), follows a resize, and
 * each outcome — success, late refusal, Ctrl+C — ends with exactly one
 * line that says what happened. The servers are scripted (test/support/hostile.ts)
 * so that transfers trickle and every redraw happens; every wait is bounded,
 * every process killed in afterEach.
 */

let clientDir: string
let session: TerminalSession | undefined
let hostile: HostileServer | undefined

beforeEach(async () => {
  clientDir = await tempDir("cli-tela")
})

afterEach(async () => {
  await session?.close()
  session = undefined
  await hostile?.close()
  hostile = undefined
  await rm(clientDir, { recursive: true, force: true })
})

/** `bytes` sent in `pieces` parts with `gap` ms between them: a transfer slow enough to be redrawn. */
const trickle = (bytes: Uint8Array, pieces: number, gap: number): Array<Step> => {
  const steps: Array<Step> = []
  const size = Math.ceil(bytes.length / pieces)
  for (let at = 0; at < bytes.length; at += size) steps.push(send(bytes.subarray(at, at + size)), pause(gap))
  return steps
}

const LONG_A = `fotos/${"viagem-ao-litoral-".repeat(5)}dia-1.jpg`
const LONG_B = `fotos/${"viagem-ao-litoral-".repeat(5)}dia-2.jpg`

const oneShot = (port: number, cols: number, ...command: ReadonlyArray<string>) =>
  new TerminalSession([`127.0.0.1:${port}`, "--pasta", clientDir, ...command], cols)

describe("the progress bar in a terminal", () => {
  test("baixar-varios at 80 columns: long names, every redraw in place (no wrapped line), one result line per file", async () => {
    const a = seededBytes(400_000, 1)
    const b = seededBytes(300_000, 2)
    hostile = await startHostile({
      reply: [
        send(0, be32(2), named(LONG_A), be32(a.length), named(LONG_B), be32(b.length)),
        send(0, be32(a.length)),
        ...trickle(a, 8, 120),
        send(0, be32(b.length)),
        ...trickle(b, 6, 120)
      ],
      then: "close"
    })
    session = oneShot(hostile.port, 80, "baixar-varios", "fotos/*.jpg")
    expect(await session.exit(15_000)).toBe(0)
    // Many redraws happened, and not one of them ran past the right edge.
    expect(session.raw.split("\r").length).toBeGreaterThan(10)
    expect(session.screen.wraps).toBe(0)
    const shown = session.screen.text.split("\n").filter((line) => line !== "")
    expect(shown).toHaveLength(3)
    expect(shown[0]).toMatch(/^\[1\/2\] ….*dia-1\.jpg: 391 KiB/)
    expect(shown[1]).toMatch(/^\[2\/2\] ….*dia-2\.jpg: 293 KiB/)
    expect(shown[2]).toBe("2 de 2 arquivos baixados.")
    for (const line of shown) expect(Bun.stringWidth(line)).toBeLessThanOrEqual(77)
    expect(await readFile(path.join(clientDir, LONG_B))).toEqual(Buffer.from(b))
  }, 30_000)

  test("baixar at 45 columns: the bar fits (fields dropped, name shortened) and redraws in place", async () => {
    const data = seededBytes(500_000, 3)
    hostile = await startHostile({ reply: [send(0, be32(data.length)), ...trickle(data, 8, 120)], then: "close" })
    session = oneShot(hostile.port, 45, "baixar", "relatorio-anual-de-atividades-2026.pdf")
    expect(await session.exit(15_000)).toBe(0)
    expect(session.raw.split("\r").length).toBeGreaterThan(6)
    expect(session.screen.wraps).toBe(0)
    const bars = session.raw.split("\r").filter((part) => part.includes("%"))
    expect(bars.length).toBeGreaterThan(3)
    for (const bar of bars) expect(Bun.stringWidth(bar.replace(/\x1b\[K/g, ""))).toBeLessThanOrEqual(42)
    // The result line fits too: a shorter name, and no timing where it has no room.
    expect(session.screen.text.trim()).toMatch(/^…[-a-z]*-2026\.pdf: 488 KiB$/)
  }, 30_000)

  test("a resize (SIGWINCH) mid-transfer redraws the bar at the new width", async () => {
    const data = seededBytes(600_000, 4)
    hostile = await startHostile({ reply: [send(0, be32(data.length)), ...trickle(data, 12, 150)], then: "close" })
    session = oneShot(hostile.port, 120, "baixar", "apresentacao-final-do-projeto.mp4")
    await session.waitFor(/ETA/, 0, 10_000)
    const wide = session.raw
      .split("\r")
      .filter((part) => part.includes("%"))
      .at(-1)!
    expect(Bun.stringWidth(wide.replace(/\x1b\[K/g, ""))).toBeGreaterThan(60)
    const from = session.mark
    session.resize(40)
    await session.waitFor(/%/, from, 3_000)
    const narrow = session.raw
      .slice(from)
      .split("\r")
      .filter((part) => part.includes("%"))
    for (const bar of narrow) expect(Bun.stringWidth(bar.replace(/\x1b\[K/g, ""))).toBeLessThanOrEqual(37)
    expect(await session.exit(15_000)).toBe(0)
  }, 30_000)
})

describe("resuming a large partial in a terminal", () => {
  test("while the MD5 of the partial is computed the line says so; the result separates what was held from what came", async () => {
    const server = await startServer()
    try {
      const whole = seededBytes(24 * 1024 * 1024, 10)
      await writeFile(path.join(server.serverDir, "grande.bin"), whole)
      await writeFile(path.join(clientDir, "grande.bin.parcial"), whole.subarray(0, 16 * 1024 * 1024))
      session = oneShot(server.port, 100, "retomar", "grande.bin")
      expect(await session.exit(20_000)).toBe(0)
      expect(session.raw).toContain("grande.bin: conferindo o MD5 dos 16 MiB já baixados…")
      // (The timing shows only when the transfer took long enough to measure the link.)
      expect(session.screen.text.trim()).toMatch(
        /^grande\.bin: 24 MiB \(já tinha 16 MiB; recebidos 8,0 MiB( em [\d,]+ s, .+\/s)?\)$/
      )
      expect(session.screen.wraps).toBe(0)
      expect(await readFile(path.join(clientDir, "grande.bin"))).toEqual(Buffer.from(whole))
    } finally {
      await server.close()
    }
  }, 30_000)
})

describe("exactly one final line for each outcome", () => {
  test("an upload the server refuses after all the data arrived: the refusal only, nothing that reads as success", async () => {
    await writeFile(path.join(clientDir, "up.bin"), seededBytes(5000, 5))
    hostile = await startHostile({ reply: [send(0), pause(400), send(1)], then: "close" })
    const run = await runCli([`127.0.0.1:${hostile.port}`, "--pasta", clientDir, "enviar", "up.bin"])
    expect(run.code).toBe(1)
    expect(run.stderr).toStartWith(`O servidor recusou ou não conseguiu gravar "up.bin"`)
    expect(run.stderr.trim().split("\n")).toHaveLength(1)
    // In a terminal too: the bar (full while the verdict is awaited) is replaced by the refusal.
    await hostile.close()
    hostile = await startHostile({ reply: [send(0), pause(400), send(1)], then: "close" })
    session = oneShot(hostile.port, 80, "enviar", "up.bin")
    expect(await session.exit(10_000)).toBe(1)
    expect(session.screen.text.trim()).toStartWith(`O servidor recusou ou não conseguiu gravar "up.bin"`)
    expect(session.screen.text).not.toContain("up.bin: ")
  }, 30_000)

  test("Ctrl+C in one-shot mode during a download: the bar is replaced by what was kept and the exact command; exit 130", async () => {
    hostile = await startHostile({ reply: [send(0, be32(64 * 1024 * 1024), seededBytes(100_000, 6))], then: "stall" })
    session = oneShot(hostile.port, 100, "baixar", "parado.bin")
    await session.waitFor(/parado\.bin\s+0% \[-+\] 98 KiB\/64 MiB/, 0, 10_000)
    session.type("\x03")
    expect(await session.exit(5_000)).toBe(130)
    // One line (longer than the window, so the terminal wraps it): the bar and the echoed ^C are gone.
    // The sentence, then the command to paste on a line of its own (the terminal folds it; it is never broken).
    const [sentence, ...command] = session.screen.text.trim().split("\n")
    expect(sentence).toBe(`Cancelado: "parado.bin" ficou com 98 KiB em "parado.bin.parcial". Para continuar:`)
    expect(command.join("")).toBe(
      `  bun ${CLIENT_MAIN} 127.0.0.1:${hostile.port} --pasta ${clientDir} retomar parado.bin`
    )
    expect((await stat(path.join(clientDir, "parado.bin.parcial"))).size).toBe(100_000)
  }, 30_000)

  test("Ctrl+C through `bun run cliente` (the signal reaches bun run and the client both): the same one line, exit 130", async () => {
    hostile = await startHostile({ reply: [send(0, be32(64 * 1024 * 1024), seededBytes(100_000, 11))], then: "stall" })
    session = new TerminalSession(
      [`127.0.0.1:${hostile.port}`, "--pasta", clientDir, "baixar", "parado.bin"],
      100,
      {},
      [process.execPath, "run", "cliente"]
    )
    await session.waitFor(/parado\.bin\s+0% \[-+\] 98 KiB\/64 MiB/, 0, 20_000)
    session.type("\x03")
    expect(await session.exit(5_000)).toBe(130)
    expect(session.screen.text).toContain('Cancelado: "parado.bin" ficou com 98 KiB em "parado.bin.parcial"')
    // Started by `bun run cliente`, the advice says so.
    expect(session.screen.text).toContain(
      `  bun run cliente 127.0.0.1:${hostile.port} --pasta ${clientDir} retomar parado.bin`
    )
  }, 40_000)

  test("Ctrl+C in one-shot mode before any byte arrived: nothing was downloaded, and it says so", async () => {
    hostile = await startHostile({ reply: [], then: "stall" })
    session = oneShot(hostile.port, 80, "baixar", "nada.bin")
    // Cancel once the request has reached the server: the client is then running and waiting.
    const deadline = Date.now() + 10_000
    while (hostile.received.every((bytes) => bytes.length === 0) && Date.now() < deadline) await Bun.sleep(20)
    session.type("\x03")
    expect(await session.exit(5_000)).toBe(130)
    expect(session.screen.text.trim()).toBe("Cancelado: nada foi baixado.")
    expect(await tree(clientDir)).toEqual([])
  }, 30_000)

  test("Ctrl+C during baixar-varios: a summary of what was saved and what was kept", async () => {
    const a = seededBytes(1000, 8)
    hostile = await startHostile({
      reply: [
        send(
          0,
          be32(3),
          named("a.bin"),
          be32(a.length),
          named("b.bin"),
          be32(64 * 1024 * 1024),
          named("c.bin"),
          be32(10)
        ),
        send(0, be32(a.length), a),
        send(0, be32(64 * 1024 * 1024), seededBytes(50_000, 9))
      ],
      then: "stall"
    })
    session = oneShot(hostile.port, 100, "baixar-varios", "*.bin")
    await session.waitFor(/\[2\/3\] b\.bin\s+0% .*49 KiB/, 0, 10_000)
    session.type("\x03")
    expect(await session.exit(5_000)).toBe(130)
    const shown = session.screen.text.trim().split("\n")
    expect(shown[0]).toBe(`[1/3] a.bin: 1000 B → ${path.join(clientDir, "a.bin")}`)
    // A batch goes on by running it again: it continues the partial.
    const end = shown.findIndex((line) => line.endsWith("Para continuar:"))
    expect(shown.slice(1, end + 1).join(" ")).toBe(
      `Cancelado: 1 de 3 arquivos baixados; "b.bin" ficou com 49 KiB em "b.bin.parcial". Para continuar:`
    )
    expect(shown.slice(end + 1).join("")).toBe(
      `  bun ${CLIENT_MAIN} 127.0.0.1:${hostile.port} --pasta ${clientDir} baixar-varios '*.bin'`
    )
    expect(await tree(clientDir)).toEqual(["a.bin", "b.bin.parcial"])
  }, 30_000)

  test("Ctrl+C during an upload: says nothing was stored on the server", async () => {
    await writeFile(path.join(clientDir, "grande.bin"), seededBytes(64 * 1024 * 1024, 7))
    // Accepts and then never answers: the client sends what the socket takes and waits.
    hostile = await startHostile({ reply: [send(0)], then: "stall" })
    session = oneShot(hostile.port, 80, "enviar", "grande.bin")
    await session.waitFor(/grande\.bin\s+\d+% \[/, 0, 10_000)
    session.type("\x03")
    expect(await session.exit(5_000)).toBe(130)
    // Wrapped between words at 80 columns.
    const lines = session.screen.text.trim().split("\n")
    for (const line of lines) expect(Bun.stringWidth(line)).toBeLessThan(80)
    expect(lines.join(" ")).toBe(
      "Cancelado: nada foi gravado no servidor (um envio só aparece lá quando chega inteiro)."
    )
  }, 30_000)
})

describe("listings and messages at 80 and 45 columns", () => {
  const LONG = `relatorio-final-do-projeto-integrador-de-redes-de-computadores-versao-corrigida.pdf`

  test.each([80, 45])(
    "listar at %p columns: a 75+ character name is shortened in the middle; nothing wraps, numbers whole",
    async (cols) => {
      const server = await startServer()
      try {
        await writeFile(path.join(server.serverDir, LONG), seededBytes(3_145_728, 12))
        await writeFile(path.join(server.serverDir, "a.txt"), "hello")
        session = oneShot(server.port, cols, "listar")
        expect(await session.exit(10_000)).toBe(0)
        expect(session.screen.wraps).toBe(0)
        const lines = session.screen.text.trim().split("\n")
        for (const line of lines) expect(Bun.stringWidth(line)).toBeLessThan(cols)
        const row = lines.find((line) => line.includes("…"))!
        expect(row).toMatch(/^relatorio-f[-a-z]*…[-a-z]*\.pdf +3,0 MiB +3\.145\.728$/)
        // The full name is still there, in the JSON.
        session = oneShot(server.port, cols, "listar", "--json")
        expect(await session.exit(10_000)).toBe(0)
        expect(session.raw).toContain(LONG)
      } finally {
        await server.close()
      }
    },
    30_000
  )

  test("a long message wraps between words at 45 columns, no word cut", async () => {
    await writeFile(path.join(clientDir, "up.bin"), seededBytes(5000, 13))
    hostile = await startHostile({ reply: [send(1)], then: "close" })
    session = oneShot(hostile.port, 45, "enviar", "up.bin")
    expect(await session.exit(10_000)).toBe(1)
    const lines = session.screen.text.trim().split("\n")
    expect(lines.length).toBeGreaterThan(3)
    for (const line of lines) expect(Bun.stringWidth(line)).toBeLessThan(45)
    // No word was cut: joined back, the lines are the sentence.
    expect(lines.join(" ")).toStartWith(
      'O servidor recusou ou não conseguiu gravar "up.bin". Pode ser: o arquivo já existe'
    )
    expect(session.screen.wraps).toBe(0)
  }, 30_000)

  test("the server's start-up error wraps at 45 columns too, and the suggestion names the server as started", async () => {
    const holder = Bun.listen({ hostname: "::", port: 0, socket: { data() {} } })
    try {
      session = new TerminalSession([String(holder.port), "--pasta", clientDir], 45, {}, [
        process.execPath,
        "src/programs/server/main.ts"
      ])
      expect(await session.exit(15_000)).toBe(1)
      const lines = session.screen.text.trim().split("\n")
      expect(lines.length).toBeGreaterThan(2)
      for (const line of lines) expect(Bun.stringWidth(line)).toBeLessThan(45)
      expect(lines.join(" ")).toContain(`por exemplo "bun src/programs/server/main.ts ${holder.port + 1}"`)
      expect(session.screen.wraps).toBe(0)
    } finally {
      holder.stop(true)
    }
  }, 30_000)

  test("baixar at 45 columns: the time left (ETA) fits, and is shown", async () => {
    const data = seededBytes(500_000, 14)
    hostile = await startHostile({ reply: [send(0, be32(data.length)), ...trickle(data, 8, 120)], then: "close" })
    session = oneShot(hostile.port, 45, "baixar", "video.mp4")
    expect(await session.exit(15_000)).toBe(0)
    const bars = session.raw.split("\r").filter((part) => part.includes("%"))
    expect(bars.some((bar) => bar.includes("ETA"))).toBe(true)
    for (const bar of bars) expect(Bun.stringWidth(bar.replace(/\x1b\[K/g, ""))).toBeLessThanOrEqual(42)
    expect(session.screen.wraps).toBe(0)
  }, 30_000)

  test("baixar-varios at 80 columns: each file's bar shows its ETA and the batch's total", async () => {
    const a = seededBytes(300_000, 15)
    const b = seededBytes(200_000, 16)
    hostile = await startHostile({
      reply: [
        send(0, be32(2), named("fotos/a.jpg"), be32(a.length), named("fotos/b.jpg"), be32(b.length)),
        send(0, be32(a.length)),
        ...trickle(a, 6, 120),
        send(0, be32(b.length)),
        ...trickle(b, 4, 120)
      ],
      then: "close"
    })
    session = oneShot(hostile.port, 80, "baixar-varios", "fotos/*.jpg")
    expect(await session.exit(15_000)).toBe(0)
    const bars = session.raw.split("\r").filter((part) => part.includes("%") && part.startsWith("[1/2]"))
    expect(bars.some((bar) => bar.includes("ETA") && bar.includes("total "))).toBe(true)
    expect(session.screen.wraps).toBe(0)
  }, 30_000)
})

import { afterAll, describe, expect, test } from "bun:test"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { Subprocess } from "bun"
import { startServer, type TestServer } from "../support/harness.ts"
import { guard, within } from "../support/waiting.ts"
import { converse, md5, named, u32 } from "./session.ts"

/**
 * The Wireshark dissector (tools/wireshark/arquivos.lua) with the real
 * tshark: a session of every operation against this project's server is
 * captured on loopback with dumpcap, decoded with the dissector, and every
 * field is compared with the bytes that were sent and received. Skips, with
 * the reason printed, where tshark is missing or capturing is not allowed.
 */

const ROOT = path.resolve(import.meta.dir, "../..")
const DISSECTOR = path.join(ROOT, "tools/wireshark/arquivos.lua")
const started: Array<Subprocess> = []

const stop = async (child: Subprocess, signal: NodeJS.Signals = "SIGKILL") => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  await within(child.exited, 5000, () => undefined)
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

afterAll(async () => {
  for (const child of started.splice(0)) await stop(child)
})

/** Everything a stream says, with a bounded wait for a pattern. */
const watch = (stream: ReadableStream<Uint8Array>) => {
  const state = { text: "" }
  void (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) state.text += decoder.decode(chunk, { stream: true })
  })().catch(() => undefined)
  return {
    get text() {
      return state.text
    },
    async waitFor(pattern: RegExp, millis: number) {
      const deadline = Date.now() + millis
      while (!pattern.test(state.text)) {
        if (Date.now() > deadline) return false
        await Bun.sleep(20)
      }
      return true
    }
  }
}

/** Starts dumpcap on loopback for one port; undefined (with the reason) if capturing is impossible here. */
const startCapture = async (port: number, file: string): Promise<{ child: Subprocess } | { reason: string }> => {
  if (Bun.which("dumpcap") === null) return { reason: "dumpcap não está instalado (pacote Debian tshark)" }
  const child = Bun.spawn(["dumpcap", "-i", "lo", "-f", `tcp port ${port}`, "-w", file], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe"
  })
  started.push(child)
  const stderr = watch(child.stderr)
  const ready = await stderr.waitFor(/Capturing on|File:/, 10_000)
  if (!ready || child.exitCode !== null) {
    await stop(child)
    return { reason: `dumpcap não conseguiu capturar em lo: ${stderr.text.trim() || "sem mensagem"}` }
  }
  // The file header is written as soon as capture starts; a short pause lets the filter settle.
  await Bun.sleep(300)
  return { child }
}

const FIELDS = [
  "tcp.stream",
  "arquivos.resposta",
  "arquivos.op",
  "arquivos.status",
  "arquivos.comprimento",
  "arquivos.nome",
  "arquivos.mascara",
  "arquivos.tamanho",
  "arquivos.posicao",
  "arquivos.md5",
  "arquivos.json",
  "arquivos.quantidade",
  "arquivos.entrada.nome",
  "arquivos.entrada.tamanho",
  "arquivos.arquivo",
  "arquivos.encontrados",
  "arquivos.limite",
  "_ws.col.Info",
  "_ws.expert.message"
] as const

type Row = Partial<Record<(typeof FIELDS)[number], string>>

/**
 * How tshark is told where the protocol is: "Decode As" on the port, the
 * dissector's port preference, or nothing (its heuristic finds it).
 */
type Finding = "decode-as" | "preferencia" | "heuristica"

/** Decodes the capture with the dissector; one row per packet that carries the protocol. */
const decode = async (
  file: string,
  port: number,
  twoPass: boolean,
  finding: Finding = "decode-as"
): Promise<Array<Row>> => {
  const child = Bun.spawn(
    [
      "tshark",
      ...(twoPass ? ["-2"] : []),
      "-r",
      file,
      "-X",
      `lua_script:${DISSECTOR}`,
      ...(finding === "decode-as" ? ["-d", `tcp.port==${port},arquivos`] : []),
      ...(finding === "preferencia" ? ["-o", `arquivos.porta:${port}`] : []),
      "-Y",
      "arquivos",
      "-T",
      "fields",
      ...FIELDS.flatMap((field) => ["-e", field]),
      "-E",
      "separator=/t",
      "-E",
      "occurrence=a",
      "-E",
      "aggregator=|"
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" }
  )
  started.push(child)
  const cancel = guard(30_000, () => child.kill("SIGKILL"))
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited
  ])
  cancel()
  if (code !== 0 || /Lua Error/.test(out + err)) throw new Error(`tshark failed (${code}): ${err}\n${out}`)
  return out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const values = line.split("\t")
      const row: Row = {}
      FIELDS.forEach((field, i) => {
        if (values[i] !== undefined && values[i] !== "") row[field] = values[i]
      })
      return row
    })
}

/** How tshark prints a true boolean field. */
const TRUE = "1"

/** Why this machine cannot run the test (no tshark, or no permission to capture on loopback), or undefined. */
const cannotRun = async (): Promise<string | undefined> => {
  if (Bun.which("tshark") === null || Bun.which("dumpcap") === null)
    return "tshark/dumpcap não estão instalados (apt-get install tshark)"
  const dir = await mkdtemp(path.join(tmpdir(), "wireshark-sonda-"))
  try {
    // One second of capture on loopback, filtered to a port nobody uses: proves the permission.
    const probe = Bun.spawn(
      ["dumpcap", "-q", "-i", "lo", "-f", "tcp port 9", "-a", "duration:1", "-w", path.join(dir, "sonda.pcapng")],
      {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe"
      }
    )
    const cancel = guard(10_000, () => probe.kill("SIGKILL"))
    const [err, code] = await Promise.all([new Response(probe.stderr).text(), probe.exited])
    cancel()
    return code === 0 ? undefined : `dumpcap não consegue capturar em lo (status ${code}): ${err.trim()}`
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const skipReason = await cannotRun()
if (skipReason !== undefined) console.log(`test/wireshark: pulado — ${skipReason}`)

describe.skipIf(skipReason !== undefined)("Wireshark dissector with the real tshark", () => {
  let server: TestServer | undefined
  let work: string | undefined

  afterAll(async () => {
    await server?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  test("decodes a captured session of every operation, field by field, in one pass and in two", async () => {
    server = await startServer({ timeoutSeconds: 5, maxMatches: 2 })
    work = await mkdtemp(path.join(tmpdir(), "wireshark-"))
    const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff)
    await mkdir(path.join(server.serverDir, "fotos"))
    await writeFile(path.join(server.serverDir, "fotos", "a.jpg"), big)
    await writeFile(path.join(server.serverDir, "fotos", "b.jpg"), "AAA")
    await writeFile(path.join(server.serverDir, "fotos", "c.txt"), "c")
    await writeFile(path.join(server.serverDir, "a.txt"), "hello")

    const file = path.join(work, "sessao.pcapng")
    const capture = await startCapture(server.port, file)
    if ("reason" in capture) {
      console.log(`test/wireshark: pulado — ${capture.reason}`)
      return
    }

    // The session: one connection per operation, each run to its end before the next.
    const port = server.port
    const download = await converse(port, [{ send: named(10, "fotos/a.jpg") }])
    expect(download.length).toBe(5 + big.length)
    expect(await converse(port, [{ send: named(10, "nao-existe.txt") }])).toEqual(Buffer.of(1))
    const listing = await converse(port, [{ send: Buffer.of(20) }])
    const json = listing.subarray(5).toString("utf8")
    expect(
      await converse(port, [
        { send: named(30, "dir/b.bin") },
        { send: Buffer.concat([u32(3), Buffer.from("xyz")]), waitFor: 1 }
      ])
    ).toEqual(Buffer.of(0, 0))
    const held = md5(Buffer.from("hel"))
    expect(await converse(port, [{ send: Buffer.concat([named(40, "a.txt"), u32(3), held]) }])).toEqual(
      Buffer.from("0000000000026c6f", "hex")
    )
    expect(
      await converse(port, [{ send: Buffer.concat([named(40, "a.txt"), u32(3), md5(Buffer.from("xxx"))]) }])
    ).toEqual(Buffer.of(0, 20))
    expect(
      await converse(port, [{ send: Buffer.concat([named(40, "sumiu.txt"), u32(0), md5(new Uint8Array(0))]) }])
    ).toEqual(Buffer.of(0, 10))
    const many = await converse(port, [{ send: named(50, "fotos/*.jpg") }])
    expect(many.length).toBeGreaterThan(big.length)
    expect(await converse(port, [{ send: named(50, "fotos/*") }])).toEqual(
      Buffer.from("02000000030000000" + "2", "hex")
    )
    expect(await converse(port, [{ send: Buffer.of(99) }])).toEqual(Buffer.of(1))
    const trailing = await converse(port, [{ send: Buffer.from("14abcdef", "hex") }])
    const laterJson = trailing.subarray(5).toString("utf8")
    expect(JSON.parse(laterJson)).toContainEqual({ nome: "dir/b.bin", tamanho: "3" })

    await Bun.sleep(500)
    await stop(capture.child, "SIGINT")

    const rows = await decode(file, port, false)
    // Several PDUs may share a packet (and one PDU spans many): compare each
    // connection's fields in order, joined, whatever the segmentation was.
    const byStream = new Map<string, Array<Row>>()
    for (const row of rows) byStream.set(row["tcp.stream"]!, [...(byStream.get(row["tcp.stream"]!) ?? []), row])
    const streams = [...byStream.values()].map((list) => {
      const joined: Record<string, string> = {}
      for (const field of FIELDS) {
        // Expert messages also carry TCP's own (a full window...): checked apart, below.
        if (field === "tcp.stream" || field === "_ws.expert.message") continue
        const values = list.map((row) => row[field]).filter((value) => value !== undefined)
        if (values.length > 0) joined[field] = values.join(field === "_ws.col.Info" ? " | " : "|")
      }
      return joined
    })
    const info = (...parts: Array<string>) => parts.join(" | ")
    const replies = (n: number) => Array(n).fill(TRUE).join("|")

    expect(streams).toEqual([
      {
        "arquivos.op": "10",
        "arquivos.comprimento": "11",
        "arquivos.nome": "fotos/a.jpg",
        "arquivos.resposta": replies(1),
        "arquivos.status": "0",
        // 300 KB over many segments: one PDU with the right size.
        "arquivos.tamanho": "300000",
        "_ws.col.Info": info("baixar fotos/a.jpg", "status 0, 300000 bytes")
      },
      {
        "arquivos.op": "10",
        "arquivos.comprimento": "14",
        "arquivos.nome": "nao-existe.txt",
        "arquivos.resposta": replies(1),
        "arquivos.status": "1",
        "_ws.col.Info": info("baixar nao-existe.txt", "status 1")
      },
      {
        "arquivos.op": "20",
        "arquivos.resposta": replies(1),
        "arquivos.status": "0",
        "arquivos.tamanho": String(Buffer.byteLength(json)),
        "arquivos.json": json,
        "_ws.col.Info": info("listar", `status 0, listagem de ${Buffer.byteLength(json)} bytes`)
      },
      {
        "arquivos.op": "30",
        "arquivos.comprimento": "9",
        "arquivos.nome": "dir/b.bin",
        "arquivos.resposta": replies(2),
        "arquivos.status": "0|0",
        "arquivos.tamanho": "3",
        "_ws.col.Info": info(
          "enviar dir/b.bin",
          "status 0 (envio aceito)",
          "dados do envio: 3 bytes",
          "status 0 (gravado)"
        )
      },
      {
        "arquivos.op": "40",
        "arquivos.comprimento": "5",
        "arquivos.nome": "a.txt",
        "arquivos.posicao": "3",
        "arquivos.md5": held.toString("hex"),
        "arquivos.resposta": replies(1),
        "arquivos.status": "0|0",
        "arquivos.tamanho": "2",
        "_ws.col.Info": info("retomar a.txt da posição 3", "status 0 0, 2 bytes")
      },
      {
        "arquivos.op": "40",
        "arquivos.comprimento": "5",
        "arquivos.nome": "a.txt",
        "arquivos.posicao": "3",
        "arquivos.md5": md5(Buffer.from("xxx")).toString("hex"),
        "arquivos.resposta": replies(1),
        "arquivos.status": "0|20",
        "_ws.col.Info": info("retomar a.txt da posição 3", "status 0 20 (hash não confere)")
      },
      {
        "arquivos.op": "40",
        "arquivos.comprimento": "9",
        "arquivos.nome": "sumiu.txt",
        "arquivos.posicao": "0",
        "arquivos.md5": md5(new Uint8Array(0)).toString("hex"),
        "arquivos.resposta": replies(1),
        "arquivos.status": "0|10",
        "_ws.col.Info": info("retomar sumiu.txt da posição 0", "status 0 10 (arquivo não existe)")
      },
      {
        "arquivos.op": "50",
        "arquivos.comprimento": "11|11|11",
        "arquivos.mascara": "fotos/*.jpg",
        "arquivos.resposta": replies(3),
        "arquivos.status": "0|0|0",
        "arquivos.quantidade": "2",
        "arquivos.entrada.nome": "fotos/a.jpg|fotos/b.jpg",
        "arquivos.entrada.tamanho": "300000|3",
        "arquivos.tamanho": "300000|3",
        "arquivos.arquivo": "1|2",
        "_ws.col.Info": info(
          "baixar-varios fotos/*.jpg",
          "status 0, manifesto de 2 arquivos",
          "arquivo 1/2: status 0, 300000 bytes",
          "arquivo 2/2: status 0, 3 bytes"
        )
      },
      {
        "arquivos.op": "50",
        "arquivos.comprimento": "7",
        "arquivos.mascara": "fotos/*",
        "arquivos.resposta": replies(1),
        "arquivos.status": "2",
        "arquivos.encontrados": "3",
        "arquivos.limite": "2",
        "_ws.col.Info": info("baixar-varios fotos/*", "status 2, 3 arquivos (limite 2)")
      },
      {
        "arquivos.op": "99",
        "arquivos.resposta": replies(1),
        "arquivos.status": "1",
        "_ws.col.Info": info("operação desconhecida 99", "status 1")
      },
      {
        // Bytes after the end of a request are shown as such, not read as a new one.
        "arquivos.op": "20",
        "arquivos.resposta": replies(1),
        "arquivos.status": "0",
        "arquivos.tamanho": String(Buffer.byteLength(laterJson)),
        "arquivos.json": laterJson,
        "_ws.col.Info": info(
          "listar | 3 bytes depois do fim da mensagem",
          `status 0, listagem de ${Buffer.byteLength(laterJson)} bytes`
        )
      }
    ])

    // The dissector's own warnings: only the bytes after a request, nothing about valid statuses.
    const experts = rows
      .flatMap((row) => (row["_ws.expert.message"] ?? "").split("|"))
      .filter((m) => /mensagem|status/.test(m))
    expect(experts).toEqual(["3 bytes depois do fim da mensagem"])

    // A second pass (as Wireshark's window does) reads every PDU the same way.
    expect(await decode(file, port, true)).toEqual(rows)

    // The server's port is not 20000: found with no "Decode As", by the
    // heuristic (in one pass and in two) and by the port preference. The
    // heuristic only claims connections that open with a known operation,
    // so the one that opened with op 99 is not among them.
    expect(port).not.toBe(20000)
    const unknownOp = rows.find((row) => row["arquivos.op"] === "99")?.["tcp.stream"]
    const known = rows.filter((row) => row["tcp.stream"] !== unknownOp)
    expect(known.length).toBeLessThan(rows.length)
    expect(await decode(file, port, false, "heuristica")).toEqual(known)
    expect(await decode(file, port, true, "heuristica")).toEqual(known)
    expect(await decode(file, port, false, "preferencia")).toEqual(rows)
  }, 90_000)

  test("found on any port by itself; warns about names PROTOCOL.md §3 refuses, and says 1 byte", async () => {
    // A hostile server: op 50 gets a manifest naming "../fora.txt"; anything else gets status 1.
    const manifest = Buffer.concat([
      Buffer.of(0),
      u32(1),
      u32(11),
      Buffer.from("../fora.txt"),
      u32(1),
      Buffer.of(0),
      u32(1),
      Buffer.from("A")
    ])
    const listener = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket, data) {
          socket.end(data[0] === 50 ? manifest : Uint8Array.of(1))
        },
        error() {}
      }
    })
    try {
      work ??= await mkdtemp(path.join(tmpdir(), "wireshark-"))
      const file = path.join(work, "nomes.pcapng")
      const capture = await startCapture(listener.port, file)
      if ("reason" in capture) {
        console.log(`test/wireshark: pulado — ${capture.reason}`)
        return
      }
      expect(await converse(listener.port, [{ send: named(10, "../x") }])).toEqual(Buffer.of(1))
      expect(await converse(listener.port, [{ send: named(30, "/etc/passwd") }])).toEqual(Buffer.of(1))
      expect(await converse(listener.port, [{ send: named(10, "C:x") }])).toEqual(Buffer.of(1))
      expect(await converse(listener.port, [{ send: named(10, "a/.ssh/k") }])).toEqual(Buffer.of(1))
      expect(await converse(listener.port, [{ send: Buffer.concat([named(10, "a.txt"), Buffer.of(0x5a)]) }])).toEqual(
        Buffer.of(1)
      )
      expect(await converse(listener.port, [{ send: named(50, "*.txt") }])).toEqual(manifest)
      await Bun.sleep(500)
      await stop(capture.child, "SIGINT")
      const rows = await decode(file, listener.port, false, "heuristica")
      const ours = rows
        .flatMap((row) => (row["_ws.expert.message"] ?? "").split("|"))
        .filter((m) => m.includes("PROTOCOL.md §3") || m.includes("depois do fim"))
      expect(ours).toEqual([
        'nome inválido pelo PROTOCOL.md §3: tem uma parte ".."',
        "nome inválido pelo PROTOCOL.md §3: começa com / (caminho absoluto)",
        "nome inválido pelo PROTOCOL.md §3: começa com letra de unidade (C:)",
        'nome inválido pelo PROTOCOL.md §3: tem uma parte oculta (".ssh")',
        "1 byte depois do fim da mensagem",
        'nome inválido pelo PROTOCOL.md §3: tem uma parte ".."'
      ])
      expect(rows.map((row) => row["_ws.col.Info"]).filter((info) => info?.includes("manifesto"))).toEqual([
        "status 0, manifesto de 1 arquivo | arquivo 1/1: status 0, 1 byte"
      ])
    } finally {
      listener.stop(true)
    }
  }, 60_000)

  test("warns about a status the reply cannot have", async () => {
    // A broken server: op 10 gets status 5, op 40 gets 00 then 07.
    const listener = Bun.listen<undefined>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket, data) {
          socket.end(data[0] === 40 ? Uint8Array.of(0, 7) : Uint8Array.of(5))
        },
        error() {}
      }
    })
    try {
      work ??= await mkdtemp(path.join(tmpdir(), "wireshark-"))
      const file = path.join(work, "quebrado.pcapng")
      const capture = await startCapture(listener.port, file)
      if ("reason" in capture) {
        console.log(`test/wireshark: pulado — ${capture.reason}`)
        return
      }
      expect(await converse(listener.port, [{ send: named(10, "a.txt") }])).toEqual(Buffer.of(5))
      expect(
        await converse(listener.port, [{ send: Buffer.concat([named(40, "a.txt"), u32(0), md5(new Uint8Array(0))]) }])
      ).toEqual(Buffer.of(0, 7))
      await Bun.sleep(500)
      await stop(capture.child, "SIGINT")
      const rows = (await decode(file, listener.port, false)).filter((row) => row["arquivos.resposta"] !== undefined)
      // TCP's own notes (a FIN in the same packet...) may sit beside ours in the field.
      const ours = (row: Row) =>
        (row["_ws.expert.message"] ?? "")
          .split("|")
          .filter((m) => m.includes("PROTOCOL.md"))
          .join("|")
      expect(rows.map((row) => [row["_ws.col.Info"], ours(row)])).toEqual([
        ["status 5", "status 5 não existe nesta resposta (PROTOCOL.md §4)"],
        ["status 0 7 (inesperado)", "status 7 não existe nesta resposta (PROTOCOL.md §4)"]
      ])
    } finally {
      listener.stop(true)
    }
  }, 60_000)
})

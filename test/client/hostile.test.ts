import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { tempDir } from "../support/harness.ts"
import { be32, type HostileScript, type HostileServer, named, send, startHostile, tree } from "../support/hostile.ts"
import { CLIENT_MAIN, type CliResult, runCli } from "./cli.ts"

/**
 * The command-line client (one-shot, as a process) against the scripted
 * misbehaving server of test/support/hostile.ts: short bodies, stalls, broken
 * or booby-trapped listings, lying manifests. The client must exit with the
 * right status, say so in one sentence, never print a raw control character
 * it received, and never write outside its folder. The client folder is
 * `<base>/client`, so anything escaping it shows up in `<base>`.
 */

let base: string
let clientDir: string
let hostile: HostileServer | undefined

beforeEach(async () => {
  base = await tempDir("cli-hostil")
  clientDir = path.join(base, "client")
  await mkdir(clientDir)
})

afterEach(async () => {
  await hostile?.close()
  hostile = undefined
  await rm(base, { recursive: true, force: true })
})

/** Starts the scripted server and runs the client against it with `args`. */
const against = async (script: HostileScript, args: ReadonlyArray<string>): Promise<CliResult> => {
  hostile = await startHostile(script)
  return runCli([`127.0.0.1:${hostile.port}`, "--pasta", clientDir, ...args], { limitMillis: 15_000 })
}

/** An op 20 reply: status 0, the length, and the JSON text as given (not re-encoded). */
const listing = (json: string) => {
  const bytes = new TextEncoder().encode(json)
  return send(0, be32(bytes.length), bytes)
}

// C0 controls other than \n, DEL and C1 controls: what a terminal might act on.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/

const noInternals = (stderr: string) => {
  expect(stderr).not.toContain("    at ")
  expect(stderr).not.toContain("Erro interno")
}

describe("baixar against a lying server", () => {
  test("fewer bytes than declared, then close: exit 3, no final file, the partial keeps what came", async () => {
    const run = await against({ reply: [send(0, be32(10), "hello")], then: "close" }, ["baixar", "a.txt"])
    expect(run.code).toBe(3)
    // A reply that stops short reads as a dropped connection, with what was kept and how to go on.
    expect(run.stderr).toContain(`caiu durante "a.txt": a resposta chegou pela metade.`)
    expect(run.stderr).toContain("retomar a.txt")
    // One sentence, then the command to paste on a line of its own.
    expect(run.stderr.trim().split("\n")).toHaveLength(2)
    expect(run.stderr.trim().split("\n")[1]).toStartWith("  bun ")
    noInternals(run.stderr)
    expect(await tree(clientDir)).toEqual(["a.txt.parcial"])
    expect(await readFile(path.join(clientDir, "a.txt.parcial"), "utf8")).toBe("hello")
  })

  test("a stall mid-body with --timeout 1: exit 3 within a few seconds, partial kept, no final file", async () => {
    const run = await against({ reply: [send(0, be32(10), "hel")], then: "stall" }, [
      "--timeout",
      "1",
      "baixar",
      "b.txt"
    ])
    expect(run.code).toBe(3)
    expect(run.millis).toBeLessThan(5_000)
    // How much was kept, and the exact command that continues (this run's address and folder).
    expect(run.stderr).toBe(
      `Nada se moveu por 1 s em "b.txt"; a operação foi cancelada. O que chegou (3 B) ficou guardado. Para continuar:\n  bun ${CLIENT_MAIN} 127.0.0.1:${hostile!.port} --pasta ${clientDir} retomar b.txt\n`
    )
    expect(await tree(clientDir)).toEqual(["b.txt.parcial"])
    expect(await readFile(path.join(clientDir, "b.txt.parcial"), "utf8")).toBe("hel")
  })

  test("a stall before any status with --timeout 1: exit 3, nothing written, no advice to resume", async () => {
    const run = await against({ reply: [], then: "stall" }, ["--timeout", "1", "baixar", "b.txt"])
    expect(run.code).toBe(3)
    expect(run.millis).toBeLessThan(5_000)
    expect(run.stderr).toBe(`Nada se moveu por 1 s em "b.txt"; a operação foi cancelada.\n`)
    expect(await tree(clientDir)).toEqual([])
  })

  test("a stall after the size, before any byte of data: no advice to resume (nothing arrived)", async () => {
    const run = await against({ reply: [send(0, be32(10))], then: "stall" }, ["--timeout", "1", "baixar", "b.txt"])
    expect(run.code).toBe(3)
    expect(run.stderr).toBe(`Nada se moveu por 1 s em "b.txt"; a operação foi cancelada.\n`)
  })

  test("an unexpected status byte: exit 3, nothing written", async () => {
    const run = await against({ reply: [send(7, be32(5), "hello")], then: "close" }, ["baixar", "a.txt"])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain("status inesperado 0x07")
    expect(await tree(clientDir)).toEqual([])
  })

  test("a server that closes before answering: exit 3", async () => {
    const run = await against({ reply: [], then: "close" }, ["baixar", "a.txt"])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain('"a.txt"')
    noInternals(run.stderr)
  })
})

describe("retomar against a lying server", () => {
  test("status 00 14 (hash mismatch): exit 1, the partial unchanged", async () => {
    await writeFile(path.join(clientDir, "v.bin.parcial"), "abc")
    const run = await against({ reply: [send(0, 0x14)], then: "close" }, ["retomar", "v.bin"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`O download parcial "v.bin.parcial" (os primeiros 3 bytes) não confere`)
    expect(await readFile(path.join(clientDir, "v.bin.parcial"), "utf8")).toBe("abc")
  })

  test("a remainder cut short: exit 3, the partial holds the old bytes and what arrived", async () => {
    await writeFile(path.join(clientDir, "v.bin.parcial"), "abc")
    const run = await against({ reply: [send(0, 0, be32(5), "de")], then: "close" }, ["retomar", "v.bin"])
    expect(run.code).toBe(3)
    expect(await tree(clientDir)).toEqual(["v.bin.parcial"])
    expect(await readFile(path.join(clientDir, "v.bin.parcial"), "utf8")).toBe("abcde")
  })
})

describe("listar against a lying server", () => {
  test("broken JSON: exit 3, nothing printed on stdout", async () => {
    const run = await against({ reply: [listing('[{"nome":"a.txt",')], then: "close" }, ["listar"])
    expect(run.code).toBe(3)
    expect(run.stdout).toBe("")
    expect(run.stderr).toContain(`O servidor 127.0.0.1:${hostile!.port} respondeu fora do protocolo`)
    noInternals(run.stderr)
  })

  test("a length beyond the listing limit: exit 3, refused before reading it", async () => {
    const run = await against({ reply: [send(0, be32(0xffff_ffff))], then: "stall" }, ["listar"])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain("passa do limite")
    expect(run.millis).toBeLessThan(5_000)
  })

  test("status 1: exit 1 and a sentence", async () => {
    const run = await against({ reply: [send(1)], then: "close" }, ["listar"])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe("O servidor não conseguiu listar a pasta. Tente de novo.\n")
  })

  test("a name with an ESC (escaped in the JSON) breaks the name rules: exit 3, no raw ESC printed", async () => {
    const json = JSON.stringify([{ nome: "\x1b[2J\x1b[31mvermelho.txt", tamanho: "1" }])
    expect(json).not.toContain("\x1b") // JSON.stringify escapes it as \u001b
    for (const extra of [[], ["--json"], ["--trace"]]) {
      const run = await against({ reply: [listing(json)], then: "close" }, ["listar", ...extra])
      expect(run.code).toBe(3)
      expect(run.stderr).not.toContain("\x1b")
      expect(run.stdout).not.toContain("\x1b")
      expect(run.stdout).not.toContain("vermelho")
      await hostile!.close()
      hostile = undefined
    }
  })

  test("a raw ESC byte inside the JSON text: exit 3, no raw ESC printed", async () => {
    const run = await against({ reply: [listing('[{"nome":"\x1b[31mx.txt","tamanho":"1"}]')], then: "close" }, [
      "listar",
      "--trace"
    ])
    expect(run.code).toBe(3)
    expect(run.stderr).not.toContain("\x1b")
    expect(run.stdout).toBe("")
  })

  test("a size that is not a decimal string: exit 3", async () => {
    const run = await against({ reply: [listing('[{"nome":"a.txt","tamanho":5}]')], then: "close" }, ["listar"])
    expect(run.code).toBe(3)
  })

  // Regression (was a bug in src/domain/listing.ts + src/programs/client/cli/runner.ts): the
  // listing Schema ignores properties it does not know (Schema.Struct's
  // default), and `listar --json` prints the server's JSON text verbatim, so
  // raw DEL and C1 control characters (U+007F, U+009B = CSI) in an extra
  // property reach the terminal. Reproduction: a server answering op 20 with
  // 00, length, `[{"nome":"a.txt","tamanho":"1","x":"<U+009B>31mRED"}]`
  // (raw character, valid JSON); `bun run cliente H:P listar --json` exits 0
  // and prints the raw U+009B. PROTOCOL.md §8 promises the client checks the
  // listing's exact format.
  test("listar --json never prints a raw control character, even from an unknown property", async () => {
    const json = '[{"nome":"a.txt","tamanho":"1","x":"\u007f\u009b31mRED\u009b0m"}]'
    const run = await against({ reply: [listing(json)], then: "close" }, ["listar", "--json"])
    expect(run.stdout).not.toMatch(RAW_CONTROL)
    expect(run.code).toBe(3)
  })

  // Regression (was a bug in src/domain/grammars.ts listReply + src/programs/client/cli/failures.ts):
  // an invalid listing is described with Effect Schema's TreeFormatter dump:
  // several lines of English ("(parseJson <-> ReadonlyArray<{ readonly nome:
  // ... }>) └─ Encoded side transformation failure ...") embedded in the
  // sentence, instead of one Portuguese sentence. Reproduction: a server
  // answering op 20 with 00, length 7, `[{nome:`; `bun run cliente H:P listar`.
  test("an invalid listing is described in one Portuguese sentence", async () => {
    const run = await against({ reply: [listing('[{"nome":"a.txt",')], then: "close" }, ["listar"])
    expect(run.stderr.trim().split("\n")).toHaveLength(1)
    expect(run.stderr).not.toContain("Transformation")
    expect(run.stderr).not.toContain("readonly")
  })
})

describe("baixar-varios against a lying server", () => {
  test('a manifest naming "../escape.txt": exit 3, nothing created anywhere', async () => {
    const run = await against(
      { reply: [send(0, be32(1), named("../escape.txt"), be32(4), 0, be32(4), "EVIL")], then: "close" },
      ["baixar-varios", "*.txt"]
    )
    expect(run.code).toBe(3)
    expect(run.stderr).toContain('"*.txt"')
    expect(run.stderr).toContain(". ou ..")
    noInternals(run.stderr)
    expect(await tree(base)).toEqual(["client"])
  })

  test("a manifest naming a file the mask does not match: exit 3, nothing written", async () => {
    const run = await against(
      { reply: [send(0, be32(1), named("segredo.key"), be32(4), 0, be32(4), "EVIL")], then: "close" },
      ["baixar-varios", "*.txt"]
    )
    expect(run.code).toBe(3)
    expect(run.stderr).toContain('"segredo.key", que não casa com a máscara')
    expect(await tree(base)).toEqual(["client"])
  })

  test("a manifest naming the same file twice: exit 3, nothing written", async () => {
    const run = await against(
      {
        reply: [send(0, be32(2), named("a.txt"), be32(1), named("a.txt"), be32(1), 0, be32(1), "A", 0, be32(1), "B")],
        then: "close"
      },
      ["baixar-varios", "*.txt"]
    )
    expect(run.code).toBe(3)
    expect(run.stderr).toContain("duas vezes")
    expect(await tree(base)).toEqual(["client"])
  })

  test("a manifest count over the limit: exit 3", async () => {
    const run = await against({ reply: [send(0, be32(10_001))], then: "stall" }, ["baixar-varios", "*.txt"])
    expect(run.code).toBe(3)
    expect(run.millis).toBeLessThan(5_000)
  })

  test("status 02 (too many matches): exit 1 with the numbers", async () => {
    const run = await against({ reply: [send(2, be32(12_000), be32(10_000))], then: "close" }, [
      "baixar-varios",
      "*.txt"
    ])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(
      `A máscara "*.txt" casou 12000 arquivos; o servidor envia no máximo 10000 por vez. Use uma máscara mais específica.\n`
    )
  })

  test("a file the server skips: the others are saved, exit 1, the skipped one named", async () => {
    const run = await against(
      {
        reply: [send(0, be32(2), named("a.txt"), be32(1), named("b.txt"), be32(1), 1, 0, be32(1), "B")],
        then: "close"
      },
      ["baixar-varios", "*.txt"]
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toBe(`[2/2] b.txt: 1 B → ${path.join(clientDir, "b.txt")}\n1 de 2 arquivos baixados.\n`)
    expect(run.stderr).toContain(`"a.txt": o servidor não conseguiu enviar (sumiu ou ficou ilegível).`)
    expect(await tree(clientDir)).toEqual(["b.txt"])
  })

  // Regression (was a bug in cosmetic, src/programs/client/downloadMany.ts + cli/progressView.ts):
  // a file the server skips never reaches the progress view, so the [i/N]
  // counter of every later file is off by one. Reproduction: manifest
  // a.txt, b.txt; a.txt skipped (01), b.txt sent; stderr shows
  // "[1/2] b.txt: 1 B em ..." instead of "[2/2] b.txt".
  test("after a skipped file, the next one is still numbered by its place in the manifest", async () => {
    const run = await against(
      {
        reply: [send(0, be32(2), named("a.txt"), be32(1), named("b.txt"), be32(1), 1, 0, be32(1), "B")],
        then: "close"
      },
      ["baixar-varios", "*.txt"]
    )
    expect(run.stdout).toContain("[2/2] b.txt: 1 B → ")
  })

  test("a manifest name with a control character (escaped here as bytes): exit 3, no raw ESC printed", async () => {
    const run = await against(
      { reply: [send(0, be32(1), named("\x1b[31mx.txt"), be32(1), 0, be32(1), "X")], then: "close" },
      ["baixar-varios", "*.txt", "--trace"]
    )
    expect(run.code).toBe(3)
    expect(run.stderr).not.toMatch(RAW_CONTROL)
    expect(await tree(base)).toEqual(["client"])
  })
})

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { humanSize } from "../../src/programs/client/cli/format.ts"
import { startServer, type TestServer, tempDir } from "../support/harness.ts"
import { be32, type HostileServer, seededBytes, send, startHostile, tree, waitFor } from "../support/hostile.ts"
import { PtySession } from "./cli.ts"

/**
 * The interactive shell, driven through a pseudo-terminal (util-linux
 * `script`, see PtySession): the prompt, Tab completion of commands, remote
 * names and local names, help, Ctrl+C during a transfer (cancels it, keeps
 * the partial, back to the prompt) and at the prompt, Ctrl+D. Every wait is
 * bounded, and every session is killed in afterEach.
 */

const PROMPT = "cliente> "
const BIG = 64 * 1024 * 1024

let single: TestServer
let large: TestServer
let bigBytes: Uint8Array<ArrayBuffer>
let clientDir: string
let stateDir: string
let session: PtySession | undefined
let hostile: HostileServer | undefined

beforeAll(async () => {
  single = await startServer()
  await writeFile(path.join(single.serverDir, "relatorio-final.txt"), "conteúdo do relatório")
  large = await startServer()
  bigBytes = seededBytes(BIG, 2024)
  await writeFile(path.join(large.serverDir, "big.bin"), bigBytes)
})

afterAll(async () => {
  await single.close()
  await large.close()
})

beforeEach(async () => {
  clientDir = await tempDir("cli-interativo")
  stateDir = await tempDir("cli-estado")
})

afterEach(async () => {
  await session?.close()
  session = undefined
  await hostile?.close()
  hostile = undefined
  await rm(clientDir, { recursive: true, force: true })
  await rm(stateDir, { recursive: true, force: true })
})

/** Opens the shell against `port` over the test's client folder and waits for the first prompt. */
const open = async (port: number): Promise<PtySession> => {
  // The history file goes to the test's own state folder, never the user's.
  session = new PtySession([`127.0.0.1:${port}`, "--pasta", clientDir], { XDG_STATE_HOME: stateDir })
  await session.waitFor(PROMPT, 0, 10_000)
  return session
}

/** Types a line and waits for the output it causes to end with a new prompt. */
const command = async (shell: PtySession, line: string, limitMillis = 5_000): Promise<string> => {
  const from = shell.mark
  shell.type(`${line}\r`)
  // The echo of the line comes first, then its output; the next prompt, on a new line, ends it.
  return shell.waitFor(new RegExp(`\\n[\\s\\S]*${PROMPT}`), from, limitMillis)
}

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false
  )

describe("interactive shell", () => {
  test("the banner and the prompt appear", async () => {
    const shell = await open(single.port)
    expect(shell.text).toContain(
      `Conectando a cada operação em 127.0.0.1:${single.port}. Digite "ajuda" para ver os comandos.`
    )
    expect(shell.text).toContain(PROMPT)
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  test('Tab after "lis" completes to "listar", and Enter runs it', async () => {
    const shell = await open(single.port)
    const from = shell.mark
    shell.type("lis\t")
    await shell.waitFor("listar ", from)
    shell.type("\r")
    const shown = await shell.waitFor(/total: 1 arquivo[\s\S]*cliente> /, from)
    expect(shown).toContain("relatorio-final.txt")
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  test('Tab after "baixar " completes the only remote name without a listar first (fetched on Tab); Enter downloads it', async () => {
    const shell = await open(single.port)
    const from = shell.mark
    shell.type("baixar \t")
    await shell.waitFor("baixar relatorio-final.txt", from)
    shell.type("\r")
    await shell.waitFor(/relatorio-final\.txt: 23 B[\s\S]*cliente> /, from)
    expect(await readFile(path.join(clientDir, "relatorio-final.txt"), "utf8")).toBe("conteúdo do relatório")
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  test('Tab after "enviar " completes a local name', async () => {
    await writeFile(path.join(clientDir, "meu-relatorio.pdf"), "pdf")
    const shell = await open(single.port)
    const from = shell.mark
    shell.type("enviar meu\t")
    await shell.waitFor("enviar meu-relatorio.pdf", from)
    shell.type("\x15")
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  test("ajuda prints every command", async () => {
    const shell = await open(single.port)
    const shown = await command(shell, "ajuda")
    for (const usage of [
      "Comandos (digite",
      "listar, ls",
      "baixar, get",
      "enviar, put",
      "retomar, reget",
      "baixar-varios, mget",
      "sair"
    ]) {
      expect(shown).toContain(usage)
    }
    shell.type("sair\r")
    expect(await shell.exit()).toBe(0)
  })

  test("a line that does not parse prints why and a new prompt; the shell goes on", async () => {
    const shell = await open(single.port)
    expect(await command(shell, "baixa x")).toContain('comando desconhecido: "baixa" (digite ajuda)')
    expect(await command(shell, 'baixar "aberto')).toContain("aspas sem fechamento")
    expect(await command(shell, "listar")).toContain("relatorio-final.txt")
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  test("Ctrl+C during a 64 MiB download cancels it: 'Cancelado', a new prompt, the partial kept; retomar finishes it", async () => {
    const shell = await open(large.port)
    const from = shell.mark
    shell.type("baixar big.bin\r")
    // The bar is drawn once the partial is open: cancel as soon as it shows.
    await shell.waitFor(/big\.bin\s+\d+% \[/, from, 10_000)
    shell.type("\x03")
    const shown = await shell.waitFor(/Cancelado[^\n]*\n[\s\S]*cliente> /, from)
    // What was kept, and the command to type at this prompt to continue.
    const kept =
      /Cancelado: "big\.bin" ficou com ([\d,]+ [KMG]?i?B) em "big\.bin\.parcial"\. Para continuar:\r?\n {2}retomar big\.bin\r?\n/.exec(
        shown
      )
    expect(kept).not.toBeNull()
    expect(shown).not.toContain("big.bin: 64 MiB")
    const partial = path.join(clientDir, "big.bin.parcial")
    expect(await exists(partial)).toBe(true)
    expect((await stat(partial)).size).toBeLessThan(BIG)
    expect(humanSize((await stat(partial)).size)).toBe(kept![1]!)
    expect(await exists(path.join(clientDir, "big.bin"))).toBe(false)
    // The shell is still usable, and the partial is good for retomar.
    const resumed = await command(shell, "retomar big.bin", 20_000)
    expect(resumed).toMatch(/big\.bin: 64 MiB \(já tinha [\d,]+ [KM]iB; recebidos/)
    expect(await tree(clientDir)).toEqual(["big.bin"])
    expect(new Uint8Array(await readFile(path.join(clientDir, "big.bin")))).toEqual(bigBytes)
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  }, 40_000)

  test("Ctrl+C during a download that stalls (scripted server): cancelled at once, partial with what arrived", async () => {
    // The server declares 64 MiB, sends 100 000 bytes and goes silent: the
    // cancel cannot race the end of the transfer.
    hostile = await startHostile({ reply: [send(0, be32(BIG), seededBytes(100_000, 5))], then: "stall" })
    const shell = await open(hostile.port)
    const from = shell.mark
    shell.type("baixar parado.bin\r")
    // Cancel once the bar shows that all that was sent has arrived (the partial
    // is written through a buffer, flushed when the transfer ends).
    await shell.waitFor(/parado\.bin\s+0% \[-+\] 98 KiB\/64 MiB/, from, 10_000)
    const partial = path.join(clientDir, "parado.bin.parcial")
    const cancelledAt = Date.now()
    shell.type("\x03")
    await shell.waitFor(/Cancelado[^\n]*\n[\s\S]*cliente> /, from, 3_000)
    expect(Date.now() - cancelledAt).toBeLessThan(2_000)
    expect(await tree(clientDir)).toEqual(["parado.bin.parcial"])
    expect((await stat(partial)).size).toBe(100_000)
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  }, 20_000)

  test("Ctrl+C at the prompt keeps the typed text visible and gives a new, empty prompt (as bash and lftp); the shell goes on", async () => {
    const shell = await open(single.port)
    const from = shell.mark
    shell.type("baixar algo-pela-metade")
    await shell.waitFor("pela-metade", from)
    shell.type("\x03")
    // What was typed stays visible before the ^C, as in bash.
    await shell.waitFor(/algo-pela-metade\^C\r?\n[\s\S]*cliente> /, from)
    // The half-typed line is gone: Enter now runs nothing.
    shell.type("\r")
    await Bun.sleep(300)
    expect(shell.text.slice(from)).not.toContain("O servidor recusou")
    expect(await command(shell, "listar")).toContain("relatorio-final.txt")
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  test("history is kept between sessions, in the user's state folder", async () => {
    let shell = await open(single.port)
    await command(shell, "lpwd")
    shell.type("sair\r")
    expect(await shell.exit()).toBe(0)
    expect(await readFile(path.join(stateDir, "arquivos-tcp", "historico"), "utf8")).toBe("lpwd\nsair\n")
    shell = await open(single.port)
    const from = shell.mark
    shell.type("\x1b[A\x1b[A") // Up twice: the line before "sair"
    await shell.waitFor("lpwd", from)
    shell.type("\r")
    await shell.waitFor(clientDir, from)
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  test("lcd moves within the client folder (never out of it); baixar -o, lls and lpwd follow it", async () => {
    await mkdir(path.join(clientDir, "dl"))
    const shell = await open(single.port)
    expect(await command(shell, "lcd ..")).toContain('".." fica fora da pasta local')
    expect(await command(shell, "lcd nada")).toContain('"nada" não é uma pasta dentro da pasta local')
    expect(await command(shell, "lcd dl")).toContain(`Pasta local: ${path.join(clientDir, "dl")}`)
    expect(await command(shell, "lpwd")).toContain(path.join(clientDir, "dl"))
    await command(shell, "baixar relatorio-final.txt -o copia.txt")
    expect(await readFile(path.join(clientDir, "dl", "copia.txt"), "utf8")).toBe("conteúdo do relatório")
    const local = await command(shell, "lls")
    expect(local).toContain("copia.txt")
    expect(local).toContain("total: 1 arquivo")
    expect(await command(shell, "lcd")).toContain(`Pasta local: ${clientDir}`)
    expect(await command(shell, "lls")).toContain("dl/copia.txt")
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  test("Ctrl+R searches the history (as bash): the newest line that holds the text, Ctrl+R for older, Enter runs it", async () => {
    await mkdir(path.join(stateDir, "arquivos-tcp"), { recursive: true })
    await writeFile(path.join(stateDir, "arquivos-tcp", "historico"), "lpwd\nlistar --json\nlistar\najuda baixar\n")
    const shell = await open(single.port)
    let from = shell.mark
    shell.type("\x12lis")
    await shell.waitFor("(busca no histórico) 'lis': listar", from)
    shell.type("\x12") // older: "listar --json"
    await shell.waitFor("'lis': listar --json", from)
    shell.type("\r")
    await shell.waitFor('"nome":"relatorio-final.txt"', from)
    await shell.waitFor(/\n[\s\S]*cliente> /, from)
    // Ctrl+G gives back the line being typed.
    from = shell.mark
    shell.type("baixar x\x12pwd")
    await shell.waitFor("'pwd': lpwd", from)
    shell.type("\x07")
    await shell.waitFor("cliente> baixar x", from)
    shell.type("\x15\x04")
    expect(await shell.exit()).toBe(0)
  })

  test("ajuda baixar shows that command with examples; lls and lpwd show the local folder", async () => {
    await writeFile(path.join(clientDir, "nota 📝.txt"), "abc")
    const shell = await open(single.port)
    const help = await command(shell, "ajuda baixar")
    expect(help).toContain("baixar NOME... [-c] [-o DESTINO]  (também: get)")
    expect(help).toContain("Exemplos:")
    expect(help).not.toContain("enviar NOME")
    expect(await command(shell, "lpwd")).toContain(clientDir)
    const local = await command(shell, "lls")
    expect(local).toContain("nota 📝.txt")
    expect(local).toContain("total: 1 arquivo")
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  test("Ctrl+D at the prompt exits 0", async () => {
    const shell = await open(single.port)
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  // Regression (was a bug in src/programs/client/cli/interactive.ts, `leave` resolves with `last`):
  // Ctrl+D, Ctrl+C at the prompt and `sair` exit with the status of the last
  // command that ran instead of 0. Reproduction: `bun run cliente
  // 127.0.0.1:PORT` in a terminal, type `baixar nada` (refused), then Ctrl+D:
  // `echo $?` prints 1 (3 after a connection error).
  test("Ctrl+D at the prompt exits 0 even after a failed command", async () => {
    const shell = await open(single.port)
    expect(await command(shell, "baixar nada")).toContain(`O servidor recusou baixar "nada"`)
    shell.type("\x04")
    expect(await shell.exit()).toBe(0)
  })

  // Regression: a remote name with a space was completed unquoted, so the
  // completed line did not parse ("uso: baixar NOME"). Readline redraws the
  // prompt while completing, so the test waits for the file, not the prompt.
  test("a remote name with a space completes to a line that downloads it", async () => {
    await writeFile(path.join(single.serverDir, "minha foto.jpg"), "x")
    try {
      const shell = await open(single.port)
      await command(shell, "listar")
      const from = shell.mark
      shell.type("baixar mi\t")
      await shell.waitFor("foto.jpg", from)
      shell.type("\r")
      expect(await waitFor(() => exists(path.join(clientDir, "minha foto.jpg")), 5_000)).toBe(true)
    } finally {
      await rm(path.join(single.serverDir, "minha foto.jpg"), { force: true })
    }
  })
})

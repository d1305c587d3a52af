import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test"
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import { startServer, type TestServer, tempDir } from "../support/harness.ts"
import { seededBytes, tree } from "../support/hostile.ts"
import { CLIENT_MAIN, closedPort, runCli } from "./cli.ts"

/**
 * The real client as a process (`bun src/programs/client/main.ts`) against a
 * real server on 127.0.0.1: one-shot commands, batch scripts from a file and
 * from a pipe, exit statuses, messages and --trace. Each test gets a fresh
 * client folder; the server folder is shared and only read, except by the
 * upload tests, which use their own names.
 */

let server: TestServer
let clientDir: string

const VIDEO = seededBytes(300_000, 7)

beforeAll(async () => {
  server = await startServer()
  await writeFile(path.join(server.serverDir, "a.txt"), "hello")
  await writeFile(path.join(server.serverDir, "b.txt"), "world!")
  await writeFile(path.join(server.serverDir, "c.bin"), seededBytes(5000, 1))
  await mkdir(path.join(server.serverDir, "sub"))
  await writeFile(path.join(server.serverDir, "sub", "d.txt"), "deep")
  await writeFile(path.join(server.serverDir, "video.bin"), VIDEO)
})

afterAll(async () => {
  await server.close()
})

beforeEach(async () => {
  clientDir = await tempDir("cli-processo")
})

afterEach(async () => {
  await rm(clientDir, { recursive: true, force: true })
})

/** The client against the test server, over `clientDir`, with `args` after the address. */
const cli = (args: ReadonlyArray<string>, stdin?: string) =>
  runCli([`127.0.0.1:${server.port}`, "--pasta", clientDir, ...args], stdin === undefined ? {} : { stdin })

const local = (name: string) => path.join(clientDir, name)
const remote = (name: string) => path.join(server.serverDir, name)
const bytesAt = async (file: string) => new Uint8Array(await readFile(file))

/** No stack trace or internal error text reached the user. */
const noInternals = (stderr: string) => {
  expect(stderr).not.toContain("    at ")
  // No errno token or internal tag in what a person reads.
  expect(stderr).not.toMatch(/\bE[A-Z]{4,}\b|\((InvalidName|Truncated|Refused|Reset)\)/)
  expect(stderr).not.toContain("Erro interno")
  expect(stderr).not.toContain("An error has occurred")
}

describe("one-shot: listar", () => {
  test("a table with sizes and the total line, exit 0", async () => {
    const run = await cli(["listar"])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(
      [
        "NOME               TAMANHO    BYTES",
        "a.txt                  5 B        5",
        "b.txt                  6 B        6",
        "c.bin              4,9 KiB    5.000",
        "sub/d.txt              4 B        4",
        "video.bin          293 KiB  300.000",
        "-----------------------------------",
        "total: 5 arquivos  298 KiB  305.015",
        ""
      ].join("\n")
    )
    expect(run.stderr).toBe("")
  })

  test("--json prints the server's JSON exactly", async () => {
    const run = await cli(["listar", "--json"])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(
      '[{"nome":"a.txt","tamanho":"5"},{"nome":"b.txt","tamanho":"6"},{"nome":"c.bin","tamanho":"5000"},' +
        '{"nome":"sub/d.txt","tamanho":"4"},{"nome":"video.bin","tamanho":"300000"}]\n'
    )
  })

  test("options after the address: HOST:PORTA -q listar", async () => {
    const run = await runCli([`127.0.0.1:${server.port}`, "-q", "--pasta", clientDir, "listar"])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("total: 5 arquivos")
    expect(run.stderr).toBe("")
  })

  test("an unknown option after the address is named as an option, not as a command", async () => {
    const run = await runCli([`127.0.0.1:${server.port}`, "-x", "listar"])
    expect(run.code).toBe(2)
    expect(run.stderr).toBe("cliente: opção desconhecida: -x\nUse --ajuda para ver as opções.\n")
  })

  test("the alias ls works and the flags may come after it", async () => {
    const run = await cli(["ls", "--json", "--silencioso"])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toHaveLength(5)
  })
})

describe("one-shot: baixar", () => {
  test("ok: the file is equal, one result line on stdout naming where it landed, nothing on stderr, no partial left", async () => {
    const run = await cli(["baixar", "c.bin"])
    expect(run.code).toBe(0)
    expect(await bytesAt(local("c.bin"))).toEqual(await bytesAt(remote("c.bin")))
    expect(await tree(clientDir)).toEqual(["c.bin"])
    // A file this small shows no rate: it would measure the connection's latency, not the link.
    expect(run.stdout).toBe(`c.bin: 4,9 KiB → ${local("c.bin")}\n`)
    expect(run.stderr).toBe("")
  })

  test("into a subfolder, with the get alias and --silencioso", async () => {
    const run = await cli(["--silencioso", "get", "sub/d.txt"])
    expect(run.code).toBe(0)
    expect(await readFile(local("sub/d.txt"), "utf8")).toBe("deep")
    expect(run.stdout).toBe(`sub/d.txt: 4 B → ${local("sub/d.txt")}\n`)
  })

  test("a missing file: exit 1 and one Portuguese sentence naming it", async () => {
    const run = await cli(["baixar", "nada.txt"])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(
      `O servidor recusou baixar "nada.txt": o arquivo pode não existir lá, ser uma pasta ou não poder ser lido; ou o servidor pode estar ocupado (limite de conexões). Use "listar" para ver os nomes.\n`
    )
    noInternals(run.stderr)
    expect(await tree(clientDir)).toEqual([])
  })

  test("--debug adds the internals", async () => {
    const run = await cli(["baixar", "nada.txt", "--debug"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('"nada.txt"')
    // The cause, labelled as a detail: not a minified stack that says nothing.
    expect(run.stderr).toContain('detalhe: ServerRefused request="Download" reason="Refused"')
    expect(run.stderr).not.toContain("    at ")
  })

  test("an invalid name is bad usage (2), and nothing is asked of the server", async () => {
    const before = server.logs.length
    const run = await cli(["baixar", "../x"])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('nome inválido "../x"')
    noInternals(run.stderr)
    expect(server.logs.length).toBe(before)
  })

  test("with a partial present: says it continues, and the file is right", async () => {
    await writeFile(local("video.bin.parcial"), VIDEO.subarray(0, 100_000))
    const run = await cli(["baixar", "video.bin"])
    expect(run.code).toBe(0)
    expect(run.stderr).toContain(`"video.bin": há um download parcial (98 KiB); continuando de onde parou.`)
    expect(run.stdout).toContain("video.bin: 293 KiB (já tinha 98 KiB; recebidos 195 KiB")
    expect(await bytesAt(local("video.bin"))).toEqual(VIDEO)
    expect(await tree(clientDir)).toEqual(["video.bin"])
  })

  test("with a corrupt partial: says it starts over, and the file is right", async () => {
    await writeFile(local("video.bin.parcial"), seededBytes(100_000, 99))
    const run = await cli(["baixar", "video.bin"])
    expect(run.code).toBe(0)
    expect(run.stderr).toContain(`"video.bin": o parcial não confere com o arquivo do servidor; baixando do zero.`)
    expect(run.stdout).not.toContain("já tinha")
    expect(await bytesAt(local("video.bin"))).toEqual(VIDEO)
    expect(await tree(clientDir)).toEqual(["video.bin"])
  })

  test("-c with the complete file already here: its MD5 is checked and it is kept, as wget -c; without -c it comes again", async () => {
    await writeFile(local("a.txt"), "hello")
    const before = server.logs.length
    const kept = await cli(["baixar", "-c", "a.txt"])
    expect(kept.code).toBe(0)
    expect(kept.stdout).toBe('"a.txt" já está completo (5 B); nada a baixar.\n')
    expect(server.logs.slice(before).join("\n")).toMatch(/retomar a\.txt ok/)
    const again = await cli(["baixar", "a.txt"])
    expect(again.code).toBe(0)
    expect(again.stdout).toStartWith("a.txt: 5 B → ")
  })

  test("with a partial longer than the server's file: starts over", async () => {
    await writeFile(local("a.txt.parcial"), "hello, and then some")
    const run = await cli(["baixar", "a.txt"])
    expect(run.code).toBe(0)
    expect(run.stderr).toContain("baixando do zero")
    expect(await readFile(local("a.txt"), "utf8")).toBe("hello")
  })
})

describe("one-shot: enviar", () => {
  test("ok: the server holds the same bytes", async () => {
    const bytes = seededBytes(70_000, 3)
    await writeFile(local("enviado-1.bin"), bytes)
    try {
      const run = await cli(["enviar", "enviado-1.bin"])
      expect(run.code).toBe(0)
      expect(await bytesAt(remote("enviado-1.bin"))).toEqual(bytes)
      expect(run.stdout).toBe("enviado-1.bin: 68 KiB\n")
      expect(run.stderr).toBe("")
    } finally {
      // The server folder is shared by every test in this file.
      await rm(remote("enviado-1.bin"), { force: true })
    }
  })

  test("a missing local file: exit 1, a sentence naming it, nothing on the server", async () => {
    const run = await cli(["put", "nao-existe.bin"])
    expect(run.code).toBe(1)
    // Said once, without the errno token: not "não foi encontrado (não encontrado (ENOENT))".
    expect(run.stderr).toBe(`"nao-existe.bin" não existe na pasta local. Use "lls" para ver os nomes.\n`)
    noInternals(run.stderr)
    expect(await Bun.file(remote("nao-existe.bin")).exists()).toBe(false)
  })

  test("../x is bad usage (2)", async () => {
    const run = await cli(["enviar", "../x"])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('nome inválido "../x": o nome contém . ou .. como parte do caminho')
  })

  test("an absolute name is bad usage (2)", async () => {
    const run = await cli(["enviar", "/etc/hostname"])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("caminho absoluto")
  })
})

describe("a server at its --max-clientes limit", () => {
  test("a download refused with status 1 says what it may be, without asserting that the file is missing", async () => {
    const busy = await startServer({ settings: { maxClients: 1 } })
    // One connection held open fills the only place.
    const holder = await new Promise<net.Socket>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port: busy.port }, () => resolve(socket))
      socket.on("error", () => {})
    })
    try {
      await Bun.sleep(200)
      const run = await runCli([`127.0.0.1:${busy.port}`, "--pasta", clientDir, "baixar", "a.txt"])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(
        "o arquivo pode não existir lá, ser uma pasta ou não poder ser lido; ou o servidor pode estar ocupado (limite de conexões)"
      )
      expect(run.stderr).not.toContain("não existe lá ou não pode ser lido")
    } finally {
      holder.destroy()
      await busy.close()
    }
  })
})

describe("one-shot: several names, and enviar-varios", () => {
  test("baixar a.txt b.txt: both, one line each; a missing one is reported and the others still come (worst status)", async () => {
    const run = await cli(["baixar", "a.txt", "nada.txt", "./b.txt"])
    expect(run.code).toBe(1)
    expect(await tree(clientDir)).toEqual(["a.txt", "b.txt"])
    expect(run.stdout).toBe(`a.txt: 5 B → ${local("a.txt")}\nb.txt: 6 B → ${local("b.txt")}\n`)
    expect(run.stderr).toStartWith('O servidor recusou baixar "nada.txt"')
    expect(run.stderr.trim().split("\n")).toHaveLength(1)
  })

  test("enviar-varios MASCARA: the local files that match, by the rules of op 50 (no partials, * does not cross /)", async () => {
    await mkdir(local("dir"))
    await writeFile(local("mput-1.txt"), "um")
    await writeFile(local("mput-2.txt"), "dois")
    await writeFile(local("mput-3.txt.parcial"), "parcial")
    await writeFile(local("dir/mput-4.txt"), "fundo")
    try {
      const run = await cli(["mput", "mput-*"])
      expect(run.code).toBe(0)
      expect(run.stdout).toBe("[1/2] mput-1.txt: 2 B\n[2/2] mput-2.txt: 4 B\n2 de 2 arquivos enviados.\n")
      expect(run.stderr).toBe("")
      expect(await readFile(remote("mput-1.txt"), "utf8")).toBe("um")
      expect(await readFile(remote("mput-2.txt"), "utf8")).toBe("dois")
    } finally {
      for (const name of ["mput-1.txt", "mput-2.txt", "mput-3.txt.parcial"]) await rm(remote(name), { force: true })
    }
  })

  test("enviar-varios with no local match: exit 1 and a sentence", async () => {
    const run = await cli(["enviar-varios", "*.nada"])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe('Nenhum arquivo da pasta local casa com "*.nada". Use "lls" para ver os nomes.\n')
  })
})

describe("one-shot: retomar", () => {
  test("a good partial: exit 0, the final file is equal, the partial is gone", async () => {
    await writeFile(local("video.bin.parcial"), VIDEO.subarray(0, 123_456))
    const run = await cli(["retomar", "video.bin"])
    expect(run.code).toBe(0)
    expect(await bytesAt(local("video.bin"))).toEqual(VIDEO)
    expect(await tree(clientDir)).toEqual(["video.bin"])
    expect(run.stdout).toContain("video.bin: 293 KiB (já tinha 121 KiB; recebidos 172 KiB")
  })

  test("from an explicit position (reget NOME POSICAO): the rest of the partial is cut and fetched again", async () => {
    await writeFile(local("video.bin.parcial"), VIDEO.subarray(0, 200_000))
    const run = await cli(["reget", "video.bin", "1000"])
    expect(run.code).toBe(0)
    expect(await bytesAt(local("video.bin"))).toEqual(VIDEO)
  })

  test("a wrong partial: exit 1, the sentence names the file, the partial is unchanged", async () => {
    const wrong = seededBytes(50_000, 42)
    await writeFile(local("video.bin.parcial"), wrong)
    const run = await cli(["retomar", "video.bin"])
    expect(run.code).toBe(1)
    expect(run.stderr).toBe(
      `O download parcial "video.bin.parcial" (os primeiros 50000 bytes) não confere com o arquivo do servidor (ou ele tem menos bytes que isso). Nada local foi alterado. Para baixar do zero, use "baixar video.bin".\n`
    )
    noInternals(run.stderr)
    expect(await bytesAt(local("video.bin.parcial"))).toEqual(wrong)
    expect(await tree(clientDir)).toEqual(["video.bin.parcial"])
  })

  test("a wrong partial beside a complete file: the advice says which was checked and that baixar replaces both", async () => {
    await writeFile(local("video.bin"), VIDEO)
    await writeFile(local("video.bin.parcial"), seededBytes(50_000, 43))
    const run = await cli(["retomar", "video.bin"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('O download parcial "video.bin.parcial" (os primeiros 50000 bytes) não confere')
    expect(run.stderr).toContain(
      '(substitui o parcial e o "video.bin" completo que está ao lado), use "baixar video.bin".'
    )
    // Following the advice leaves one file, the server's.
    expect((await cli(["baixar", "video.bin"])).code).toBe(0)
    expect(await tree(clientDir)).toEqual(["video.bin"])
    expect(await bytesAt(local("video.bin"))).toEqual(VIDEO)
  })

  test("a complete local file: exit 0 and 'já está completo', nothing changed", async () => {
    await writeFile(local("a.txt"), "hello")
    const run = await cli(["retomar", "a.txt"])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`"a.txt" já está completo (5 B); nada a baixar.`)
    expect(await tree(clientDir)).toEqual(["a.txt"])
    expect(await readFile(local("a.txt"), "utf8")).toBe("hello")
  })

  test("a partial that already holds every byte: completed and said so", async () => {
    await writeFile(local("a.txt.parcial"), "hello")
    const run = await cli(["retomar", "a.txt"])
    expect(run.code).toBe(0)
    // Exactly one final line: no transfer line after it (nothing was transferred).
    expect(run.stdout).toBe('"a.txt" já está completo (5 B); nada a baixar.\n')
    expect(run.stderr).toBe("")
    expect(await tree(clientDir)).toEqual(["a.txt"])
  })

  test("baixar with a partial that already holds every byte: one line that says it is complete", async () => {
    await writeFile(local("a.txt.parcial"), "hello")
    const run = await cli(["baixar", "a.txt"])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe('"a.txt": há um download parcial (5 B); continuando de onde parou.\n')
    expect(run.stdout).toBe('"a.txt" já estava todo no parcial (5 B); completo.\n')
    expect(await readFile(local("a.txt"), "utf8")).toBe("hello")
  })

  test("nothing local to resume: exit 1 and a sentence naming the file", async () => {
    const run = await cli(["retomar", "video.bin"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(
      `"video.bin" não foi encontrado na pasta local (não há download parcial para retomar).`
    )
  })

  test("a partial of a file the server no longer has: exit 1, partial kept", async () => {
    await writeFile(local("sumiu.bin.parcial"), "abc")
    const run = await cli(["retomar", "sumiu.bin"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`"sumiu.bin" não existe no servidor. O parcial local foi mantido.`)
    expect(await tree(clientDir)).toEqual(["sumiu.bin.parcial"])
  })
})

describe("one-shot: baixar-varios", () => {
  test('"*.txt" takes the top-level .txt files only', async () => {
    const run = await cli(["baixar-varios", "*.txt"])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(
      `[1/2] a.txt: 5 B → ${local("a.txt")}\n[2/2] b.txt: 6 B → ${local("b.txt")}\n2 de 2 arquivos baixados.\n`
    )
    expect(run.stderr).toBe("")
    expect(await tree(clientDir)).toEqual(["a.txt", "b.txt"])
    expect(await readFile(local("a.txt"), "utf8")).toBe("hello")
    expect(await readFile(local("b.txt"), "utf8")).toBe("world!")
  })

  test("several masks in one line: each in turn, one summary each", async () => {
    const run = await cli(["baixar-varios", "*.txt", "sub/*"])
    expect(run.code).toBe(0)
    const summaries = run.stdout.split("\n").filter((line) => line.includes("baixado"))
    expect(summaries).toEqual(["2 de 2 arquivos baixados.", "1 de 1 arquivo baixado."])
    expect(await tree(clientDir)).toEqual(["a.txt", "b.txt", "sub", "sub/d.txt"])
  })

  test("with a partial of a matching file at hand, continues it (as lftp mget -c) and downloads the rest", async () => {
    await writeFile(local("video.bin.parcial"), VIDEO.subarray(0, 100_000))
    await writeFile(local("c.bin.parcial"), Buffer.from("isto não confere"))
    const run = await cli(["baixar-varios", "*.bin"])
    expect(run.code).toBe(0)
    expect(run.stderr).toContain(
      '"*.bin": 2 downloads parciais encontrados; continuando de onde pararam, um arquivo por conexão.'
    )
    expect(run.stderr).toContain('"c.bin": o parcial não confere com o arquivo do servidor; baixando do zero.')
    expect(run.stdout).toEndWith("2 de 2 arquivos baixados.\n")
    expect(run.stdout).toContain("[2/2] video.bin: 293 KiB (já tinha 98 KiB; recebidos 195 KiB")
    expect(await tree(clientDir)).toEqual(["c.bin", "video.bin"])
    expect(await bytesAt(local("video.bin"))).toEqual(VIDEO)
    expect(await bytesAt(local("c.bin"))).toEqual(await bytesAt(remote("c.bin")))
  })

  test("--trace: each file's result line comes before the next file's status", async () => {
    const run = await runCli(["--trace", `127.0.0.1:${server.port}`, "--pasta", clientDir, "baixar-varios", "*.txt"], {
      merged: true
    })
    expect(run.code).toBe(0)
    const lines = run.stdout.split("\n")
    const first = lines.indexOf(`[1/2] a.txt: 5 B → ${local("a.txt")}`)
    const second = lines.indexOf(`[2/2] b.txt: 6 B → ${local("b.txt")}`)
    expect(first).toBeGreaterThan(0)
    expect(second).toBeGreaterThan(first)
    // Between them: b.txt's own status and data, nothing of a.txt.
    const between = lines.slice(first + 1, second)
    expect(between[0]).toMatch(/^← arquivo 2 +status 00/)
    expect(lines.slice(0, first).some((line) => line.startsWith("← arquivo 2"))).toBe(false)
  })

  test("a mask that matches nothing: exit 1 and says so (an error, as in sftp and lftp)", async () => {
    const run = await cli(["mget", "*.nada"])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe("")
    expect(run.stderr).toBe('Nenhum arquivo do servidor casa com "*.nada". Use "listar" para ver os nomes.\n')
    expect(await tree(clientDir)).toEqual([])
  })

  test("an invalid mask is bad usage (2)", async () => {
    const run = await cli(["baixar-varios", "../*"])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('máscara inválida "../*"')
  })
})

describe("addresses, options and the network", () => {
  test("connection refused (nothing on the port): exit 3, a sentence, no stack trace", async () => {
    const port = await closedPort()
    const run = await runCli([`127.0.0.1:${port}`, "--pasta", clientDir, "baixar", "a.txt"])
    expect(run.code).toBe(3)
    expect(run.stderr).toBe(
      `Conexão recusada por 127.0.0.1:${port} (pedido: "a.txt"): o servidor está rodando nessa porta?\n`
    )
    expect(await tree(clientDir)).toEqual([])
  })

  test("connection refused with --debug: the original network error under the sentence", async () => {
    const port = await closedPort()
    const run = await runCli([`127.0.0.1:${port}`, "--pasta", clientDir, "baixar", "a.txt", "--debug"])
    expect(run.code).toBe(3)
    const lines = run.stderr.trimEnd().split("\n")
    expect(lines[0]).toBe(
      `Conexão recusada por 127.0.0.1:${port} (pedido: "a.txt"): o servidor está rodando nessa porta?`
    )
    expect(lines[1]).toStartWith('detalhe: ConnectionFailure reason="Refused"')
    expect(lines[2]).toMatch(/^ {2}detalhe: .*errno=ECONNREFUSED$/)
    expect(run.stderr).not.toContain("    at ")
  })

  const usage: ReadonlyArray<[string, ReadonlyArray<string>, string]> = [
    ["IPv6 without brackets", ["::1:20000", "listar"], "colchetes"],
    ["a port that is not a number", ["localhost:x", "listar"], "endereço inválido"],
    ["a command where the address goes", ["listar"], 'falta o endereço do servidor antes de "listar"'],
    ["port 0", ["127.0.0.1:0", "listar"], "porta inválida"],
    ["no address", [], "falta o endereço"],
    ["unknown option", ["127.0.0.1:1", "--rapido"], "opção desconhecida: --rapido"],
    ["bad timeout", ["127.0.0.1:1", "--timeout", "0", "listar"], "timeout inválido"],
    ["--script with a command", ["127.0.0.1:1", "--script", "x.txt", "listar"], "use --script ou um comando"],
    ["unknown command", ["127.0.0.1:1", "--pasta", "/tmp", "baixa", "a.txt"], 'comando desconhecido: "baixa"']
  ]
  test.each(usage)("%s: exit 2, a message, no stack trace", async (_label, args, words) => {
    const run = await runCli(args)
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(words)
    expect(run.stdout).toBe("")
    noInternals(run.stderr)
  })

  test("--ajuda prints the usage and exits 0", async () => {
    const run = await runCli(["--ajuda"])
    expect(run.code).toBe(0)
    // The client names itself as it was started (here, a source file run by bun).
    expect(run.stdout).toContain(`Uso: bun ${CLIENT_MAIN} HOST[:PORTA]`)
    expect(run.stdout).toContain("--script ARQUIVO")
  })

  test("a --script file that cannot be read: exit 2, naming it", async () => {
    const run = await cli(["--script", path.join(clientDir, "nao-existe.txt")])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("nao-existe.txt")
  })

  test("a --pasta that is a file: exit 1, naming it", async () => {
    await writeFile(local("arquivo"), "x")
    const run = await runCli([`127.0.0.1:${server.port}`, "--pasta", local("arquivo"), "listar"])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`Não foi possível usar a pasta local "${local("arquivo")}"`)
    expect(run.stderr).toContain("é um arquivo, não uma pasta")
  })

  test("a --pasta that does not exist yet is created", async () => {
    const run = await cli(["--pasta", local("nova/pasta"), "baixar", "a.txt"])
    expect(run.code).toBe(0)
    expect(await readFile(local("nova/pasta/a.txt"), "utf8")).toBe("hello")
  })

  test("--trace shows each field, named, in hex", async () => {
    const run = await cli(["--trace", "baixar", "a.txt"])
    expect(run.code).toBe(0)
    const lines = run.stderr.split("\n")
    expect(lines).toContain(`conectado a 127.0.0.1:${server.port}`)
    expect(lines).toContain("→ operação           0a")
    expect(lines).toContain("→ tamanho do nome    00 00 00 05")
    expect(lines).toContain('→ nome               61 2e 74 78 74  "a.txt"')
    expect(lines).toContain("← status             00")
    expect(lines).toContain("← tamanho            00 00 00 05  (5)")
    expect(lines).toContain("← dados (início)     68 65 6c 6c 6f")
    expect(lines).toContain("← fim dos dados      5 bytes recebidos")
  })

  test("--trace of a refusal shows status 01", async () => {
    const run = await cli(["--trace", "listar"])
    expect(run.code).toBe(0)
    expect(run.stderr).toContain("→ operação           14")
    expect(run.stderr).toContain("← status             00")
    expect(run.stderr).toContain("← listagem JSON      5b 7b")
    const refused = await cli(["--trace", "baixar", "nada"])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("← status             01")
  })
})

describe("batch", () => {
  const SCRIPT = [
    "# a comment, never echoed",
    "",
    "listar",
    "-baixar nada",
    "baixar a.txt",
    "   # an indented comment",
    "baixar nada",
    "baixar b.txt",
    "listar --json"
  ].join("\n")

  /** Both ways of giving a script behave the same. */
  const expectStoppedAtFailure = async (run: Awaited<ReturnType<typeof cli>>) => {
    expect(run.code).toBe(1)
    const echoes = run.stdout.split("\n").filter((line) => line.startsWith("cliente> "))
    expect(echoes).toEqual(["cliente> listar", "cliente> baixar nada", "cliente> baixar a.txt", "cliente> baixar nada"])
    expect(run.stdout).not.toContain("comment")
    expect(run.stdout).not.toContain("cliente> baixar b.txt")
    expect(run.stdout).toContain("total: 5 arquivos")
    // The tolerant line failed too, and said so, then the script went on.
    const refusals = run.stderr.split("\n").filter((line) => line.includes(`O servidor recusou baixar "nada"`))
    expect(refusals).toHaveLength(2)
    expect(await tree(clientDir)).toEqual(["a.txt"])
  }

  test("--script FILE: comments skipped, a tolerant '-' line goes on, the first failure stops with its status", async () => {
    const script = path.join(clientDir, "..", `${path.basename(clientDir)}-script.txt`)
    await writeFile(script, SCRIPT)
    try {
      await expectStoppedAtFailure(await cli(["--script", script]))
    } finally {
      await rm(script, { force: true })
    }
  })

  test("the same script on stdin through a pipe", async () => {
    await expectStoppedAtFailure(await cli([], SCRIPT))
  })

  test("a script that succeeds exits 0; CRLF line ends are fine", async () => {
    const run = await cli([], "baixar a.txt\r\n-baixar nada\r\nbaixar b.txt\r\n")
    expect(run.code).toBe(0)
    expect(await tree(clientDir)).toEqual(["a.txt", "b.txt"])
  })

  test("sair stops the script with 0; later lines are not run", async () => {
    const run = await cli([], "baixar a.txt\nsair\nbaixar b.txt\n")
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("cliente> sair")
    expect(run.stdout).not.toContain("cliente> baixar b.txt")
    expect(await tree(clientDir)).toEqual(["a.txt"])
  })

  test("a line that does not parse stops with 2, naming the line", async () => {
    const run = await cli([], "baixar a.txt\nbaixar ../x\nbaixar b.txt\n")
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('linha 2: nome inválido "../x"')
    expect(run.stdout).not.toContain("cliente> baixar b.txt")
  })

  test("a tolerant line that does not parse goes on", async () => {
    const run = await cli([], "-comando-errado\nbaixar a.txt\n")
    expect(run.code).toBe(0)
    expect(run.stderr).toContain('linha 1: comando desconhecido: "comando-errado" (comandos: listar, baixar,')
    // Nobody can type "ajuda" into a script.
    expect(run.stderr).not.toContain("digite")
    expect(await tree(clientDir)).toEqual(["a.txt"])
  })

  test("a network failure stops the script with 3", async () => {
    const port = await closedPort()
    const run = await runCli([`127.0.0.1:${port}`, "--pasta", clientDir], { stdin: "listar\nbaixar a.txt\n" })
    expect(run.code).toBe(3)
    expect(run.stdout).toBe("cliente> listar\n")
  })

  test("an empty stdin is an empty script: exit 0", async () => {
    const run = await cli([], "")
    expect(run.code).toBe(0)
    expect(run.stdout).toBe("")
  })
})

import { describe, expect, test } from "bun:test"
import { Cause } from "effect"
import {
  ConnectionFailure,
  ConnectionFailureReasons,
  FileFailure,
  FileFailureReasons,
  HashMismatch,
  ProtocolViolation,
  Timeout,
  TimeoutPhases,
  ViolationReasons
} from "../../src/domain/errors.ts"
import type { RequestTag } from "../../src/domain/messages.ts"
import { parseServerAddress } from "../../src/programs/client/cli/address.ts"
import { type ClientArgs, parseClientArgs } from "../../src/programs/client/cli/args.ts"
import { COMMAND_WORDS, type Command, parseCommand, tokenize } from "../../src/programs/client/cli/commands.ts"
import { debugDetails, describeClientError, ExitCode, exitCodeOf } from "../../src/programs/client/cli/failures.ts"
import { exactBytes, humanSize, listingTable, printable } from "../../src/programs/client/cli/format.ts"
import { HELP_TEXT, helpText } from "../../src/programs/client/cli/help.ts"
import { completions } from "../../src/programs/client/cli/interactive.ts"
import {
  renderDone,
  renderHashing,
  renderProgress,
  STALL_MILLIS,
  type TransferState
} from "../../src/programs/client/cli/progress.ts"
import { makeProgressView, type ProgressOutput } from "../../src/programs/client/cli/progressView.ts"
import { type ClientError, RefusalReasons, ServerRefused, TooManyMatches } from "../../src/programs/client/errors.ts"
import { leftOf, rightOf } from "../support/effect.ts"

/**
 * The pure parts of the command-line client, as tables: address and argument
 * parsing, the command line grammar, the text shown to people (sizes, the
 * listing table, escaping), the progress bar from a fake clock, the progress
 * view over a fake output, and the error sentences and exit statuses.
 */

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

// ---------------------------------------------------------------------------

describe("parseServerAddress", () => {
  const accepted: ReadonlyArray<[string, string, number]> = [
    ["127.0.0.1:20000", "127.0.0.1", 20000],
    ["localhost:1", "localhost", 1],
    ["[::1]:20000", "::1", 20000],
    ["[fe80::1%eth0]:65535", "fe80::1%eth0", 65535],
    ["servidor.exemplo:65535", "servidor.exemplo", 65535],
    // A host alone: the server's default port.
    ["host", "host", 20000],
    ["[::1]", "::1", 20000]
  ]
  test.each(accepted)("%p is host %p, port %p", (text, host, port) => {
    expect(rightOf(parseServerAddress(text))).toEqual({ host, port })
  })

  const refused: ReadonlyArray<[string, string]> = [
    ["", "use HOST:PORTA"],
    ["h:", "use HOST:PORTA"],
    [":20000", "use HOST:PORTA"],
    ["h:abc", "use HOST:PORTA"],
    ["h:-1", "use HOST:PORTA"],
    ["h :1", "use HOST:PORTA"],
    ["::1:20000", "colchetes"],
    ["fe80::1:20000", "colchetes"],
    ["h:0", "porta inválida"],
    ["h:65536", "porta inválida"],
    ["[::1]:99999", "porta inválida"]
  ]
  test.each(refused)("%p is refused, saying %p", (text, words) => {
    const message = leftOf(parseServerAddress(text))
    expect(message).toContain(words)
    expect(message).toMatch(/^(endereço|porta) inválid[oa]: "/)
  })
})

// ---------------------------------------------------------------------------

describe("parseClientArgs", () => {
  const run = (argv: ReadonlyArray<string>): ClientArgs => {
    const parsed = rightOf(parseClientArgs(argv))
    if (parsed._tag !== "Run") throw new Error("expected Run, got Help")
    return parsed.args
  }

  test("only the address: every default", () => {
    expect(run(["127.0.0.1:20000"])).toEqual({
      server: { host: "127.0.0.1", port: 20000 },
      folder: "storage/cliente",
      timeoutSeconds: 30,
      script: undefined,
      silent: false,
      trace: false,
      debug: false,
      command: []
    })
  })

  test("flags and valued options anywhere: before the address, between, after the command", () => {
    const args = run([
      "--silencioso",
      "--pasta",
      "dl",
      "h:1",
      "--trace",
      "baixar",
      "--timeout",
      "2.5",
      "a.txt",
      "--debug"
    ])
    expect(args).toEqual({
      server: { host: "h", port: 1 },
      folder: "dl",
      timeoutSeconds: 2.5,
      script: undefined,
      silent: true,
      trace: true,
      debug: true,
      command: ["baixar", "a.txt"]
    })
  })

  const oneShot: ReadonlyArray<[ReadonlyArray<string>, ReadonlyArray<string>]> = [
    [["h:1", "listar"], ["listar"]],
    [
      ["h:1", "listar", "--json"],
      ["listar", "--json"]
    ],
    [
      ["h:1", "ls", "--json", "--trace"],
      ["ls", "--json"]
    ],
    [
      ["h:1", "baixar", "minhas fotos/a.jpg"],
      ["baixar", "minhas fotos/a.jpg"]
    ],
    [
      ["h:1", "retomar", "v.mp4", "1024"],
      ["retomar", "v.mp4", "1024"]
    ],
    [
      ["h:1", "baixar-varios", "*.txt"],
      ["baixar-varios", "*.txt"]
    ],
    // Options go after the address too, short ones included (as sftp -q).
    [["h:1", "-q", "listar"], ["listar"]],
    [
      ["h:1", "--silencioso", "baixar", "a.txt"],
      ["baixar", "a.txt"]
    ],
    // After the command word, an unknown --word belongs to the command (which then judges it).
    [
      ["h:1", "listar", "--tudo"],
      ["listar", "--tudo"]
    ]
  ]
  test.each(oneShot)("one-shot %p runs %p", (argv, command) => {
    expect(run(argv).command).toEqual(command)
  })

  test("-q and --silencioso both turn the bar off, wherever they are", () => {
    expect(run(["h:1", "-q", "listar"]).silent).toBe(true)
    expect(run(["-q", "h:1"]).silent).toBe(true)
    expect(run(["h:1", "listar", "-q"]).silent).toBe(true)
    expect(run(["h:1", "--silencioso"]).silent).toBe(true)
  })

  test("--script", () => {
    expect(run(["h:1", "--script", "cmds.txt"]).script).toBe("cmds.txt")
  })

  const timeouts: ReadonlyArray<[string, number]> = [
    ["1", 1],
    ["0.5", 0.5],
    ["0.001", 0.001],
    ["86400", 86400]
  ]
  test.each(timeouts)("--timeout %p is %p seconds", (text, seconds) => {
    expect(run(["h:1", "--timeout", text]).timeoutSeconds).toBe(seconds)
  })

  const refused: ReadonlyArray<[ReadonlyArray<string>, string]> = [
    [[], "falta o endereço do servidor"],
    [["--trace"], "falta o endereço do servidor"],
    [["h:1", "--script", "f.txt", "listar"], "use --script ou um comando, não os dois"],
    [["h:1", "listar", "--script", "f.txt"], "use --script ou um comando, não os dois"],
    [["--tudo", "h:1"], "opção desconhecida: --tudo"],
    [["h:1", "--tudo"], "opção desconhecida: --tudo"],
    [["h:1", "-x", "listar"], "opção desconhecida: -x"],
    [["h:1", "--pasta"], "--pasta precisa de um valor"],
    [["h:1", "--timeout"], "--timeout precisa de um valor"],
    [["h:1", "--script", ""], "--script precisa de um valor"],
    [["h:1", "--timeout", "0"], 'timeout inválido: "0"'],
    [["h:1", "--timeout", "-1"], 'timeout inválido: "-1"'],
    [["h:1", "--timeout", "abc"], 'timeout inválido: "abc"'],
    [["h:1", "--timeout", "1e3"], 'timeout inválido: "1e3"'],
    [["h:1", "--timeout", "86401"], 'timeout inválido: "86401"'],
    [["h:x"], "endereço inválido"],
    [["listar"], 'falta o endereço do servidor antes de "listar"'],
    [["::1:20000"], "colchetes"],
    [["h:0"], "porta inválida"]
  ]
  test.each(refused)("%p is refused: %p", (argv, words) => {
    expect(leftOf(parseClientArgs(argv))).toContain(words)
  })

  const help: ReadonlyArray<ReadonlyArray<string>> = [
    ["--ajuda"],
    ["-h"],
    ["--help"],
    ["h:1", "--ajuda"],
    // Help wins over anything wrong around it.
    ["endereço-ruim", "--timeout", "x", "-h"]
  ]
  test.each(help)("%p asks for help", (...argv) => {
    expect(rightOf(parseClientArgs(argv))).toEqual({ _tag: "Help" })
  })
})

// ---------------------------------------------------------------------------

describe("tokenize", () => {
  const words: ReadonlyArray<[string, ReadonlyArray<string>]> = [
    ["", []],
    ["   ", []],
    ["listar", ["listar"]],
    ["  baixar   a.txt  ", ["baixar", "a.txt"]],
    ["baixar\ta.txt", ["baixar", "a.txt"]],
    ['baixar "minhas fotos/a.jpg"', ["baixar", "minhas fotos/a.jpg"]],
    ["enviar 'relatório final.pdf'", ["enviar", "relatório final.pdf"]],
    [`baixar "it's.txt"`, ["baixar", "it's.txt"]],
    [`baixar 'diz "oi".txt'`, ["baixar", 'diz "oi".txt']],
    ['baixar a"b c"d', ["baixar", "ab cd"]],
    ['baixar ""', ["baixar", ""]],
    ["retomar v.mp4 1024", ["retomar", "v.mp4", "1024"]],
    // A backslash takes the next character as is, outside single quotes.
    ["baixar minhas\\ fotos/a.jpg", ["baixar", "minhas fotos/a.jpg"]],
    ['baixar "diz \\"oi\\".txt"', ["baixar", 'diz "oi".txt']],
    ["baixar 'a\\ b'", ["baixar", "a\\ b"]],
    ["baixar a\\\\b", ["baixar", "a\\b"]]
  ]
  test.each(words)("%p → %p", (line, expected) => {
    expect(rightOf(tokenize(line))).toEqual(expected)
  })

  test.each(['baixar "a.txt', "baixar 'a.txt", `baixar "a'`])("an unclosed quote in %p is refused", (line) => {
    expect(leftOf(tokenize(line))).toBe("aspas sem fechamento")
  })

  test("a backslash at the end of the line is refused", () => {
    expect(leftOf(tokenize("baixar a\\"))).toBe("barra invertida no fim da linha")
  })
})

// ---------------------------------------------------------------------------

describe("parseCommand", () => {
  const parsed: ReadonlyArray<[ReadonlyArray<string>, Command]> = [
    [["listar"], { _tag: "List", json: false }],
    [["ls"], { _tag: "List", json: false }],
    [["listar", "--json"], { _tag: "List", json: true }],
    [["ls", "--json"], { _tag: "List", json: true }],
    [["baixar", "a.txt"], { _tag: "Download", name: "a.txt" }],
    [["get", "fotos/2024/a.jpg"], { _tag: "Download", name: "fotos/2024/a.jpg" }],
    [["baixar", "minhas fotos/a.jpg"], { _tag: "Download", name: "minhas fotos/a.jpg" }],
    [["enviar", "relatorio.pdf"], { _tag: "Upload", name: "relatorio.pdf" }],
    [["put", "dir/b.bin"], { _tag: "Upload", name: "dir/b.bin" }],
    [["retomar", "video.mp4"], { _tag: "Resume", name: "video.mp4", position: undefined }],
    [["reget", "video.mp4", "1024"], { _tag: "Resume", name: "video.mp4", position: 1024 }],
    [["retomar", "video.mp4", "0"], { _tag: "Resume", name: "video.mp4", position: 0 }],
    [["retomar", "video.mp4", "4294967295"], { _tag: "Resume", name: "video.mp4", position: 4294967295 }],
    [["baixar-varios", "*.jpg"], { _tag: "DownloadMany", mask: "*.jpg" }],
    [["mget", "fotos/[ab]?.jpg"], { _tag: "DownloadMany", mask: "fotos/[ab]?.jpg" }],
    [["ajuda"], { _tag: "Help" }],
    [["help"], { _tag: "Help" }],
    [["?"], { _tag: "Help" }],
    [["sair"], { _tag: "Quit" }],
    [["quit"], { _tag: "Quit" }],
    [["exit"], { _tag: "Quit" }]
  ]
  test.each(parsed)("%p", (words, command) => {
    expect(rightOf(parseCommand(words))).toEqual(command)
  })

  test("several names or masks in one line become one command each, in order", () => {
    expect(rightOf(parseCommand(["baixar", "a.txt", "b.jpg"]))).toEqual({
      _tag: "Each",
      commands: [
        { _tag: "Download", name: "a.txt" },
        { _tag: "Download", name: "b.jpg" }
      ]
    })
    expect(rightOf(parseCommand(["mget", "*.jpg", "*.txt"]))).toEqual({
      _tag: "Each",
      commands: [
        { _tag: "DownloadMany", mask: "*.jpg" },
        { _tag: "DownloadMany", mask: "*.txt" }
      ]
    })
    expect(rightOf(parseCommand(["mput", "*.pdf"]))).toEqual({ _tag: "UploadMany", mask: "*.pdf" })
    expect(rightOf(parseCommand(["enviar-varios", "a/*", "*.txt"]))).toEqual({
      _tag: "Each",
      commands: [
        { _tag: "UploadMany", mask: "a/*" },
        { _tag: "UploadMany", mask: "*.txt" }
      ]
    })
    // One bad name or mask among several is said in its turn (status 2); the others still run.
    expect(rightOf(parseCommand(["baixar", "a.txt", "../b"]))).toEqual({
      _tag: "Each",
      commands: [
        { _tag: "Download", name: "a.txt" },
        { _tag: "Invalid", message: 'nome inválido "../b": o nome contém . ou .. como parte do caminho' }
      ]
    })
    expect(rightOf(parseCommand(["mget", "fotos/*.jpg", "**/*.jpg"]))).toMatchObject({
      _tag: "Each",
      commands: [{ _tag: "DownloadMany", mask: "fotos/*.jpg" }, { _tag: "Invalid" }]
    })
    expect(rightOf(parseCommand(["enviar", "a.txt", "b.txt"]))).toEqual({
      _tag: "Each",
      commands: [
        { _tag: "Upload", name: "a.txt" },
        { _tag: "Upload", name: "b.txt" }
      ]
    })
  })

  test("baixar NOME -o DESTINO: one file under another local name", () => {
    expect(rightOf(parseCommand(["baixar", "a.txt", "-o", "copia.txt"]))).toEqual({
      _tag: "Download",
      name: "a.txt",
      target: "copia.txt"
    })
    expect(rightOf(parseCommand(["get", "-o", "x/y.txt", "a.txt"]))).toEqual({
      _tag: "Download",
      name: "a.txt",
      target: "x/y.txt"
    })
    expect(leftOf(parseCommand(["baixar", "a.txt", "b.txt", "-o", "c"]))).toBe(
      "uso: baixar NOME -o DESTINO (um arquivo só)"
    )
    expect(leftOf(parseCommand(["baixar", "a.txt", "-o", "../fora"]))).toContain('nome inválido "../fora"')
    expect(rightOf(parseCommand(["lcd", "fotos"]))).toEqual({ _tag: "LocalChange", folder: "fotos" })
    expect(rightOf(parseCommand(["lcd"]))).toEqual({ _tag: "LocalChange" })
  })

  test("local commands and help for one command", () => {
    expect(rightOf(parseCommand(["lls"]))).toEqual({ _tag: "LocalList" })
    expect(rightOf(parseCommand(["lpwd"]))).toEqual({ _tag: "LocalFolder" })
    expect(leftOf(parseCommand(["lls", "x"]))).toBe("uso: lls")
    expect(rightOf(parseCommand(["ajuda", "get"]))).toEqual({ _tag: "Help", topic: "baixar" })
    expect(leftOf(parseCommand(["ajuda", "nada"]))).toContain('comando desconhecido: "nada"')
  })

  test("./a.txt is a.txt", () => {
    expect(rightOf(parseCommand(["baixar", "./a.txt"]))).toEqual({ _tag: "Download", name: "a.txt" })
    expect(rightOf(parseCommand(["enviar", "./sub/b.txt"]))).toEqual({ _tag: "Upload", name: "sub/b.txt" })
    expect(rightOf(parseCommand(["retomar", ".//v.mp4", "10"]))).toEqual({
      _tag: "Resume",
      name: "v.mp4",
      position: 10
    })
  })

  test("a name split at an unquoted space: the usage error shows both ways to keep it whole", () => {
    const hint =
      'um nome com espaço vai entre aspas ou com \\ antes do espaço: "minhas fotos.jpg" ou minhas\\ fotos.jpg'
    expect(leftOf(parseCommand(["retomar", "minhas", "fotos.jpg"]))).toBe(`uso: retomar NOME [POSICAO] (${hint})`)
  })

  test("from a script or the arguments, an unknown command lists the commands instead of asking to type ajuda", () => {
    const message = leftOf(parseCommand(["baixa", "a.txt"], "batch"))
    expect(message).toBe(
      'comando desconhecido: "baixa" (comandos: listar, baixar, enviar, enviar-varios, retomar, baixar-varios, lls, lcd, lpwd, ajuda, sair)'
    )
  })

  test("every command word and alias is offered for completion", () => {
    expect([...COMMAND_WORDS].sort()).toEqual(
      [
        "listar",
        "ls",
        "baixar",
        "get",
        "enviar",
        "put",
        "enviar-varios",
        "mput",
        "retomar",
        "reget",
        "baixar-varios",
        "mget",
        "lls",
        "lcd",
        "lpwd",
        "ajuda",
        "help",
        "?",
        "sair",
        "quit",
        "exit"
      ].sort()
    )
  })

  const refused: ReadonlyArray<[ReadonlyArray<string>, string]> = [
    [[], "linha vazia"],
    [["baixa", "a.txt"], 'comando desconhecido: "baixa" (digite ajuda)'],
    [["LISTAR"], 'comando desconhecido: "LISTAR" (digite ajuda)'],
    [["listar", "a"], "uso: listar [--json]"],
    [["listar", "-x"], "opção desconhecida: -x (uso: listar [--json]"],
    [["baixar"], "uso: baixar NOME..."],
    [["enviar"], "uso: enviar NOME"],
    [["put", "-r", "fotos"], "opção desconhecida: -r (pastas inteiras vão por máscara"],
    [["retomar"], "uso: retomar NOME [POSICAO]"],
    [["retomar", "a", "1", "2"], "uso: retomar NOME [POSICAO]"],
    [["retomar", "a", "-1"], 'posição inválida: "-1" (use um número de bytes)'],
    [["retomar", "a", "1k"], 'posição inválida: "1k" (use um número de bytes)'],
    [["retomar", "a", "4294967296"], 'posição inválida: "4294967296" (use um número de bytes)'],
    [["baixar-varios"], "uso: baixar-varios MASCARA..."],
    // Invalid names, each with the rule it breaks, in Portuguese.
    [["baixar", "../x"], 'nome inválido "../x": o nome contém . ou .. como parte do caminho'],
    [["baixar", "a/../../x"], 'nome inválido "a/../../x": o nome contém . ou .. como parte do caminho'],
    [["enviar", "/abs"], 'nome inválido "/abs": o nome é um caminho absoluto'],
    [["enviar", "/etc/passwd"], 'nome inválido "/etc/passwd": o nome é um caminho absoluto'],
    [["retomar", "../x", "10"], 'nome inválido "../x": o nome contém . ou .. como parte do caminho'],
    [["baixar", ".ssh/id_rsa"], 'nome inválido ".ssh/id_rsa": o nome tem uma parte oculta (começa com .)'],
    [["baixar", "a\\b"], 'nome inválido "a\\b": o nome contém barra invertida (use /)'],
    [["baixar", "C:x"], 'nome inválido "C:x": o nome começa com letra de unidade'],
    [["baixar", "a//b"], 'nome inválido "a//b": o nome tem uma parte vazia (// ou / no fim)'],
    [["baixar", ""], 'nome inválido "": o nome está vazio'],
    [["baixar", "a\x1bb"], "o nome contém caracteres de controle"],
    [["mget", "../*.txt"], 'máscara inválida "../*.txt": o nome contém . ou .. como parte do caminho'],
    [["mget", "{a,b}.txt"], 'máscara inválida "{a,b}.txt": a máscara usa sintaxe não suportada (use só *, ? e [...])'],
    [["mget", "**/x"], "a máscara usa sintaxe não suportada"]
  ]
  test.each(refused)("%p is refused: %p", (words, message) => {
    expect(leftOf(parseCommand(words))).toContain(message)
  })

  test("ajuda COMANDO shows that command only, with its examples", () => {
    const text = helpText(80, "baixar")
    expect(text.split("\n")[0]).toBe("baixar NOME... [-c] [-o DESTINO]  (também: get)")
    expect(text).toContain("Exemplos:\n  baixar fotos/praia.jpg\n  baixar a.txt b.jpg")
    expect(text).not.toContain("enviar")
  })

  test.each([40, 60, 80, 120, 200])(
    "the help at %p columns: no line longer than the width, no word broken",
    (width) => {
      // The words of the help laid out on very long lines: a narrow layout may only move them, never cut them.
      const whole = new Set(helpText(100_000).split(/\s+/))
      const text = helpText(width)
      for (const line of text.split("\n")) {
        expect(Bun.stringWidth(line)).toBeLessThan(width)
        for (const word of line.trim().split(/\s+/)) if (word !== "") expect(whole).toContain(word)
      }
    }
  )

  test("the help is one screen (24 rows at 80 columns): every command and alias, and how to see one whole", () => {
    expect(HELP_TEXT.split("\n").length).toBeLessThanOrEqual(23)
    for (const word of ["listar, ls", "baixar, get", "enviar, put", "retomar, reget", "baixar-varios, mget", "sair"]) {
      expect(HELP_TEXT).toContain(word)
    }
    expect(HELP_TEXT).toContain('"ajuda COMANDO"')
  })
})

// ---------------------------------------------------------------------------

describe("completions", () => {
  const remote = ["a.txt", "big.bin", "bolo.jpg", "fotos/praia.jpg"]
  const local = async () => ["meu-relatorio.pdf", "notas.txt"]

  const cases: ReadonlyArray<[string, ReadonlyArray<string>, string]> = [
    ["lis", ["listar "], "lis"],
    ["l", ["listar ", "ls ", "lls ", "lcd ", "lpwd "], "l"],
    ["baixar-", ["baixar-varios "], "baixar-"],
    ["zzz", [], "zzz"],
    ["baixar ", remote, ""],
    ["baixar bi", ["big.bin"], "bi"],
    ["get b", ["big.bin", "bolo.jpg"], "b"],
    ["retomar fo", ["fotos/praia.jpg"], "fo"],
    ["enviar me", ["meu-relatorio.pdf"], "me"],
    ["listar x", [], "x"],
    // baixar takes several names: the last one completes too.
    ["baixar a.txt b", ["big.bin", "bolo.jpg"], "b"],
    // enviar takes several names too.
    ["enviar notas.txt m", ["meu-relatorio.pdf"], "m"],
    ["ajuda ba", ["baixar", "baixar-varios"], "ba"],
    ['baixar "fo', ['"fotos/praia.jpg"'], '"fo']
  ]
  test.each(cases)("%p offers %p", async (line, offered, current) => {
    expect(await completions(line, remote, local)).toEqual([[...offered], current])
  })

  // Regression (was a bug in src/programs/client/cli/interactive.ts, completions): remote and
  // local names are offered raw; a name with a space completes to a line that
  // tokenizes into two words, so `baixar minha foto.jpg` fails with
  // "uso: baixar NOME". The candidate should be quoted: `"minha foto.jpg"`.
  test("remote names may come from a fetch on the first Tab (no listar needed before)", async () => {
    let fetches = 0
    const fetchNames = async () => {
      fetches++
      return remote
    }
    expect(await completions("baixar bo", fetchNames, local)).toEqual([["bolo.jpg"], "bo"])
    expect(fetches).toBe(1)
    // Local and command completions never ask the server.
    await completions("enviar n", fetchNames, local)
    await completions("li", fetchNames, local)
    expect(fetches).toBe(1)
  })

  test("lcd completes the local folders", async () => {
    const files = async () => ["fotos/2024/a.jpg", "fotos/b.jpg", "notas.txt", "docs/x.pdf"]
    expect(await completions("lcd fo", remote, files)).toEqual([["fotos/", "fotos/2024/"], "fo"])
    expect(await completions("lcd ", remote, files)).toEqual([["docs/", "fotos/", "fotos/2024/"], ""])
  })

  test("a name with a space completes to a quoted word the command accepts", async () => {
    const [offered] = await completions("baixar mi", ["minha foto.jpg"], local)
    expect(offered).toHaveLength(1)
    const words = rightOf(tokenize(`baixar ${offered[0]}`))
    expect(rightOf(parseCommand(words))).toEqual({ _tag: "Download", name: "minha foto.jpg" })
  })
})

// ---------------------------------------------------------------------------

describe("humanSize and exactBytes", () => {
  const human: ReadonlyArray<[number, string]> = [
    [0, "0 B"],
    [1, "1 B"],
    [1023, "1023 B"],
    [1024, "1,0 KiB"],
    [1536, "1,5 KiB"],
    [5000, "4,9 KiB"],
    [10 * KiB, "10 KiB"],
    [1000 * KiB, "1000 KiB"],
    [MiB, "1,0 MiB"],
    [64 * MiB, "64 MiB"],
    [GiB, "1,0 GiB"],
    [4 * GiB - 1, "4,0 GiB"],
    [1024 * GiB, "1,0 TiB"],
    [1024 * 1024 * GiB, "1024 TiB"]
  ]
  test.each(human)("humanSize(%p) is %p", (bytes, text) => {
    expect(humanSize(bytes)).toBe(text)
  })

  // Regression (was a bug in cosmetic, src/programs/client/cli/format.ts, humanSize): the unit is
  // chosen before rounding, so a value just under a unit rounds up to 1024 of
  // the smaller one: humanSize(1048575) is "1024 KiB" (expected "1,0 MiB"),
  // and humanSize(10239) is "10,0 KiB" while humanSize(10240) is "10 KiB".
  test("a size just under a unit rounds into the next unit", () => {
    expect(humanSize(MiB - 1)).toBe("1,0 MiB")
    expect(humanSize(10 * KiB - 1)).toBe("10 KiB")
  })

  const exact: ReadonlyArray<[number | bigint, string]> = [
    [0, "0"],
    [999, "999"],
    [1000, "1.000"],
    [5000, "5.000"],
    [1234567, "1.234.567"],
    [4294967295, "4.294.967.295"],
    [12345678901234567890n, "12.345.678.901.234.567.890"]
  ]
  test.each(exact)("exactBytes(%p) is %p", (bytes, text) => {
    expect(exactBytes(bytes)).toBe(text)
  })
})

describe("listingTable", () => {
  test("an empty listing says so", () => {
    expect(listingTable([])).toBe("(nenhum arquivo no servidor)")
  })

  test("emoji, accents and wide names keep the columns aligned (display width, not code units)", () => {
    const table = listingTable([
      { nome: "férias 🏖️.jpg", tamanho: "5" },
      { nome: "写真.png", tamanho: "6" },
      { nome: "👨‍👩‍👧‍👦.txt", tamanho: "7" },
      { nome: "plain.txt", tamanho: "5000" }
    ])
    const lines = table.split("\n")
    // Every row ends at the same column; the sizes are right-aligned, so every column lines up.
    const widths = new Set(lines.map((line) => Bun.stringWidth(line)))
    expect(widths.size).toBe(1)
    // The name column is padded by display width: what follows each name starts at the same column.
    // The size column ends at the same column on every row ("5 B", "6 B", "7 B", "4,9 KiB").
    const sizes = ["5 B", "6 B", "7 B", "4,9 KiB"]
    const ends = sizes.map((size, i) => {
      const line = lines[i + 1]!
      return Bun.stringWidth(line.slice(0, line.lastIndexOf(size) + size.length))
    })
    expect(new Set(ends).size).toBe(1)
  })

  test("a small listing: aligned columns, a rule and the total line", () => {
    const table = listingTable([
      { nome: "a.txt", tamanho: "5" },
      { nome: "b.txt", tamanho: "6" },
      { nome: "c.bin", tamanho: "5000" }
    ])
    expect(table).toBe(
      [
        "NOME               TAMANHO  BYTES",
        "a.txt                  5 B      5",
        "b.txt                  6 B      6",
        "c.bin              4,9 KiB  5.000",
        "---------------------------------",
        "total: 3 arquivos  4,9 KiB  5.011"
      ].join("\n")
    )
  })

  test("one file: singular total; long names and large sizes widen the columns", () => {
    expect(listingTable([{ nome: "fotos/uma-foto-com-nome-longo.jpg", tamanho: "67108864" }])).toBe(
      [
        "NOME                               TAMANHO       BYTES",
        "fotos/uma-foto-com-nome-longo.jpg   64 MiB  67.108.864",
        "------------------------------------------------------",
        "total: 1 arquivo                    64 MiB  67.108.864"
      ].join("\n")
    )
  })

  test("sizes beyond 2^53 are summed exactly", () => {
    const table = listingTable([
      { nome: "a", tamanho: "9007199254740993" },
      { nome: "b", tamanho: "1" }
    ])
    expect(table.split("\n").at(-1)).toEndWith("9.007.199.254.740.994")
  })

  test("a name with a control character is shown escaped", () => {
    const table = listingTable([{ nome: "a\x1b[31mb", tamanho: "1" }])
    expect(table).toContain("a\\x1b[31mb")
    expect(table).not.toContain("\x1b")
  })
})

describe("printable", () => {
  const cases: ReadonlyArray<[string, string]> = [
    ["a.txt", "a.txt"],
    ["relatório ação ☃ 🎉.txt", "relatório ação ☃ 🎉.txt"],
    ["\x1b[31mvermelho", "\\x1b[31mvermelho"],
    ["\x00", "\\x00"],
    ["a\tb", "a\\x09b"],
    ["a\nb\rc", "a\\x0ab\\x0dc"],
    ["\x07", "\\x07"],
    ["\x7f", "\\x7f"],
    ["\u0085", "\\x85"],
    ["\u009b31m", "\\x9b31m"]
  ]
  test.each(cases)("%p is shown as %p", (text, shown) => {
    expect(printable(text)).toBe(shown)
  })
})

// ---------------------------------------------------------------------------

describe("renderProgress from a fake clock", () => {
  const state = (overrides: Partial<TransferState> = {}): TransferState => ({
    name: "a.bin",
    total: 10 * MiB,
    from: 0,
    done: 5 * MiB,
    startedAt: 1_000,
    movedAt: 6_000,
    ...overrides
  })

  test("half way after 5 s: percent, sizes, rate and ETA; the bar takes the room left, up to 30", () => {
    const line = renderProgress(state(), 6_000)
    expect(line).toBe("a.bin  50% [##############--------------] 5,0 MiB/10 MiB  1,0 MiB/s  ETA 0:05")
  })

  test("the rate counts only the bytes moved in this transfer (a resume)", () => {
    const line = renderProgress(state({ from: 4 * MiB, done: 6 * MiB }), 3_000)
    // 2 MiB in 2 s; 4 MiB left at 1 MiB/s.
    expect(line).toContain(" 60% ")
    expect(line).toContain("6,0 MiB/10 MiB  1,0 MiB/s  ETA 0:04")
  })

  test("an ETA over an hour shows hours", () => {
    const line = renderProgress(state({ total: 10 * GiB, done: MiB, movedAt: 2_000 }), 2_000)
    // 10239 MiB left at 1 MiB/s.
    expect(line).toContain("   0% ")
    expect(line).toContain("1,0 MiB/10 GiB  1,0 MiB/s  ETA 2:50:39")
  })

  test("nothing moved yet: 0 B/s and no ETA", () => {
    const line = renderProgress(state({ done: 0, movedAt: 1_000 }), 1_000)
    expect(line).toContain("   0% [")
    expect(line).toContain("0 B/10 MiB  0 B/s  ETA --:--")
    expect(line).not.toContain("parado")
  })

  test("stalled (no byte for STALL_MILLIS): '--' as the rate instead of a falling average, and 'parado'", () => {
    const moved = state({ movedAt: 6_000 })
    const before = renderProgress(moved, 6_000 + STALL_MILLIS - 1)
    expect(before).not.toContain("parado")
    expect(before).not.toContain("--/s")
    const after = renderProgress(moved, 6_000 + STALL_MILLIS)
    expect(after).toEndWith("5,0 MiB/10 MiB  --/s  ETA --:--  parado")
    expect(STALL_MILLIS).toBe(3_000)
  })

  test("a finished transfer is never 'parado', however long ago the last byte moved", () => {
    const line = renderProgress(state({ done: 10 * MiB, movedAt: 2_000 }), 60_000)
    expect(line).toContain("100% [")
    expect(line).not.toContain("parado")
    expect(line).toContain("ETA 0:00")
  })

  test("an empty file is 100%", () => {
    const line = renderProgress(state({ total: 0, done: 0 }), 6_000)
    expect(line).toContain("100% [##########")
    expect(line).toContain("0 B/0 B")
  })

  test("a long name is cut from the left with an ellipsis, and the line fits the width", () => {
    const name = `${"pasta/".repeat(20)}fim.bin`
    const line = renderProgress(state({ name }), 6_000, 80)
    expect(Bun.stringWidth(line)).toBeLessThanOrEqual(77)
    expect(line).toStartWith("…")
    expect(line).toContain("fim.bin  50%")
  })

  const widths = [200, 120, 100, 80, 60, 45, 40, 30, 20, 12, 8, 3]
  const names = [
    "a.bin",
    `${"pasta/".repeat(20)}fim.bin`,
    "fotos/férias 🏖️ na praia 海滩照片.jpg",
    "👨‍👩‍👧‍👦".repeat(30)
  ]
  test.each(widths)("at %p columns every line leaves the last columns free, for every name, batch or not", (width) => {
    for (const name of names) {
      for (const batch of [undefined, { index: 12, count: 345, done: 7 * MiB, total: 900 * MiB }]) {
        for (const now of [6_000, 60_000]) {
          const line = renderProgress(state({ name }), now, width, batch)
          // Free columns at the edge: neither the line nor the "^C" a terminal echoes after it may wrap.
          expect(Bun.stringWidth(line)).toBeLessThanOrEqual(Math.max(1, width - 3))
          if (width >= 20) expect(line).toContain("50%")
        }
      }
    }
  })

  test("fields are kept by importance as the width shrinks (ETA, sizes, batch total, rate, bar), each one that fits", () => {
    const batch = { index: 1, count: 2, done: 5 * MiB, total: 20 * MiB }
    const at = (width: number) => renderProgress(state({ name: "relatorio.pdf" }), 6_000, width, batch)
    expect(at(120)).toBe(
      "[1/2] relatorio.pdf  50% [###############---------------] 5,0 MiB/10 MiB  1,0 MiB/s  ETA 0:05  total 25% de 20 MiB"
    )
    // At 80 columns a batch still shows the file's ETA and the batch's total.
    expect(at(90)).toBe("[1/2] relatorio.pdf  50% 5,0 MiB/10 MiB  1,0 MiB/s  ETA 0:05  total 25% de 20 MiB")
    expect(at(80)).toBe("[1/2] relatorio.pdf  50% 5,0 MiB/10 MiB  ETA 0:05  total 25% de 20 MiB")
    expect(at(60)).toBe("[1/2] relatorio.pdf  50% 5,0 MiB/10 MiB  ETA 0:05")
    expect(at(45)).toBe("[1/2] relatorio.pdf  50%  ETA 0:05")
    expect(at(30)).toBe("[1/2] relatorio.pdf  50%")
    expect(at(20)).toBe("[1/2] …o.pdf  50%")
    const single = (width: number) => renderProgress(state({ name: "relatorio.pdf" }), 6_000, width)
    expect(single(80)).toBe("relatorio.pdf  50% [##########----------] 5,0 MiB/10 MiB  1,0 MiB/s  ETA 0:05")
    expect(single(60)).toBe("relatorio.pdf  50% 5,0 MiB/10 MiB  1,0 MiB/s  ETA 0:05")
    // At 45 the ETA fits, and stays; a less important field that still fits is kept too.
    expect(single(45)).toBe("relatorio.pdf  50%  1,0 MiB/s  ETA 0:05")
  })

  test("a name of wide characters and emoji is cut between graphemes, by display width", () => {
    const name = "📁".repeat(10) + "写真.jpg"
    const line = renderProgress(state({ name }), 6_000, 40)
    expect(Bun.stringWidth(line)).toBeLessThanOrEqual(37)
    expect(line).toStartWith("…")
    expect(line).toContain("写真.jpg")
    // No half of a surrogate pair or of a joined emoji is left behind.
    expect(line).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
    const family = renderProgress(state({ name: "👨‍👩‍👧‍👦".repeat(30) }), 6_000, 40)
    for (const part of new Intl.Segmenter().segment(family))
      expect(
        ["…", "👨‍👩‍👧‍👦", " ", "%", "#", "-", "[", "]"].some((ok) => part.segment === ok) ||
          /[\w,/: ]/.test(part.segment)
      ).toBe(true)
  })

  test("a control character in the name is escaped", () => {
    const line = renderProgress(state({ name: "a\x1b[2Jb" }), 6_000)
    expect(line).toStartWith("a\\x1b[2Jb ")
    expect(line).not.toContain("\x1b")
  })
})

describe("renderHashing", () => {
  test("says the MD5 of what is held is being checked, within the width", () => {
    expect(renderHashing("v.bin", 512 * MiB, 80)).toBe("v.bin: conferindo o MD5 dos 512 MiB já baixados…")
    expect(Bun.stringWidth(renderHashing(`${"x".repeat(100)}.bin`, 512 * MiB, 45))).toBeLessThanOrEqual(42)
  })
})

describe("renderDone", () => {
  const base: TransferState = { name: "a.bin", total: 2 * MiB, from: 0, done: 2 * MiB, startedAt: 0, movedAt: 2_000 }

  test("size, seconds with a comma, and rate", () => {
    expect(renderDone(base, 2_000)).toBe("a.bin: 2,0 MiB em 2,0 s, 1,0 MiB/s")
  })

  test("a resume separates what was held from what was transferred; the rate counts only what moved", () => {
    expect(renderDone({ ...base, from: MiB }, 2_000)).toBe(
      "a.bin: 2,0 MiB (já tinha 1,0 MiB; recebidos 1,0 MiB em 2,0 s, 512 KiB/s)"
    )
  })

  test("a tiny or instant transfer shows no rate (it would measure latency, not the link)", () => {
    expect(renderDone({ ...base, done: 5, total: 5 }, 0)).toBe("a.bin: 5 B")
    expect(renderDone({ ...base, done: 5, total: 5 }, 3_000)).toBe("a.bin: 5 B")
    expect(renderDone({ ...base, from: 2, done: 5, total: 5 }, 3_000)).toBe("a.bin: 5 B (já tinha 2 B; recebidos 3 B)")
  })

  test("the name is escaped", () => {
    expect(renderDone({ ...base, name: "\x1b]0;x\x07" }, 2_000)).toStartWith("\\x1b]0;x\\x07: ")
  })
})

// ---------------------------------------------------------------------------

describe("makeProgressView over a fake output", () => {
  const fakeOutput = (live: boolean, width = 80) => {
    const writes: Array<string> = []
    let now = 0
    let resized: (() => void) | undefined
    let columns = width
    const output: ProgressOutput = {
      write: (text) => writes.push(text),
      live,
      now: () => now,
      width: () => columns,
      onResize: (redraw) => {
        resized = redraw
        return () => (resized = undefined)
      }
    }
    return {
      output,
      writes,
      tick: (millis: number) => (now += millis),
      resize: (to: number) => {
        columns = to
        resized?.()
      },
      watching: () => resized !== undefined
    }
  }

  test("not live: exactly one result line per file, once the operation confirms it, nothing else", () => {
    const { output, writes, tick } = fakeOutput(false)
    const view = makeProgressView(output)
    view.start("a.txt", 2 * MiB, 0)
    for (let i = 0; i < 20; i++) {
      tick(100)
      view.advance(MiB / 10)
    }
    tick(5_000)
    view.advance(2 * MiB - 20 * (MiB / 10))
    expect(writes).toEqual([])
    view.completed?.()
    view.finish()
    expect(writes).toEqual(["a.txt: 2,0 MiB em 7,0 s, 293 KiB/s\n"])
  })

  test("every byte arrived but the operation never confirmed (a late refusal, a cancel): no result line", () => {
    for (const live of [false, true]) {
      const { output, writes, tick } = fakeOutput(live)
      const view = makeProgressView(output)
      view.start("up.bin", 5000, 0)
      tick(200)
      view.advance(5000)
      view.finish()
      expect(writes.join("")).not.toContain("up.bin: ")
      expect(writes.join("")).not.toContain("\n")
      // Live, the bar is erased so the line that says what happened takes its place.
      if (live) expect(writes.at(-1)).toBe("\r\x1b[K")
    }
  })

  test("not live, op 50: one line per file with [i/N], each as soon as that file is confirmed", () => {
    const { output, writes, tick } = fakeOutput(false)
    const view = makeProgressView(output)
    view.batch?.(2, 3 * KiB)
    view.start("a.txt", KiB, 0)
    tick(1_000)
    view.advance(KiB)
    view.completed?.()
    expect(writes).toEqual(["[1/2] a.txt: 1,0 KiB\n"])
    view.start("b.txt", 2 * KiB, 0)
    tick(1_000)
    view.advance(2 * KiB)
    view.completed?.()
    view.finish()
    expect(writes).toEqual(["[1/2] a.txt: 1,0 KiB\n", "[2/2] b.txt: 2,0 KiB\n"])
  })

  test("not live, a resume: the line says what was held", () => {
    const { output, writes, tick } = fakeOutput(false)
    const view = makeProgressView(output)
    view.start("v.bin", 2 * MiB, MiB)
    tick(1_000)
    view.advance(MiB)
    view.completed?.()
    expect(writes).toEqual(["v.bin: 2,0 MiB (já tinha 1,0 MiB; recebidos 1,0 MiB em 1,0 s, 1,0 MiB/s)\n"])
  })

  test("finish without a transfer writes nothing", () => {
    const { output, writes } = fakeOutput(true)
    makeProgressView(output).finish()
    expect(writes).toEqual([])
  })

  test("live: a bar redrawn in place (\\r … ESC[K), at most every 100 ms, closed by the result line", () => {
    const { output, writes, tick } = fakeOutput(true)
    const view = makeProgressView(output)
    view.start("a.txt", 10 * KiB, 0)
    expect(writes).toHaveLength(1)
    expect(writes[0]).toStartWith("\ra.txt   0% [")
    expect(writes[0]).toEndWith("\x1b[K")
    tick(50)
    view.advance(KiB) // within 100 ms of the last draw: no redraw
    expect(writes).toHaveLength(1)
    tick(50)
    view.advance(KiB)
    expect(writes).toHaveLength(2)
    expect(writes[1]).toContain("  20% [")
    tick(900)
    view.advance(8 * KiB)
    view.completed?.()
    view.finish()
    const last = writes.at(-1)!
    expect(last).toBe("\ra.txt: 10 KiB\x1b[K\n")
    // Exactly one line ends: the result line.
    expect(writes.join("").split("\n")).toHaveLength(2)
  })

  test("live: a resize redraws at the new width; the view stops listening when it is done", () => {
    const { output, writes, tick, resize, watching } = fakeOutput(true, 120)
    const view = makeProgressView(output)
    view.start(`${"longo-".repeat(10)}.bin`, 10 * MiB, 0)
    tick(1_000)
    view.advance(MiB)
    expect(Bun.stringWidth(writes.at(-1)!.slice(1, -3))).toBeGreaterThan(60)
    resize(45)
    expect(Bun.stringWidth(writes.at(-1)!.slice(1, -3))).toBeLessThanOrEqual(42)
    expect(watching()).toBe(true)
    view.finish()
    expect(watching()).toBe(false)
  })

  test("live, op 50: the bar carries [i/N] and the overall percentage", () => {
    const { output, writes, tick } = fakeOutput(true)
    const view = makeProgressView(output)
    view.batch?.(2, 4 * KiB)
    view.start("a.txt", 2 * KiB, 0)
    tick(200)
    view.advance(KiB)
    expect(writes.at(-1)).toStartWith("\r[1/2] a.txt  50% ")
    expect(writes.at(-1)).toContain("  total 25% de 4,0 KiB\x1b[K")
    tick(200)
    view.advance(KiB)
    view.completed?.()
    expect(writes.at(-1)).toBe("\r[1/2] a.txt: 2,0 KiB\x1b[K\n")
    view.start("b.txt", 2 * KiB, 0)
    tick(200)
    view.advance(KiB)
    expect(writes.at(-1)).toContain("  total 75% de 4,0 KiB")
    view.finish()
  })

  test("live, while the MD5 of a partial is computed the line says so; the bar then takes its place", () => {
    const { output, writes } = fakeOutput(true)
    const view = makeProgressView(output)
    view.hashing?.("v.bin", 100 * MiB)
    expect(writes.at(-1)).toBe("\rv.bin: conferindo o MD5 dos 100 MiB já baixados…\x1b[K")
    view.start("v.bin", 200 * MiB, 100 * MiB)
    expect(writes.at(-1)).toStartWith("\rv.bin  50% [")
    view.finish()
  })
})

// ---------------------------------------------------------------------------

describe("describeClientError", () => {
  const server = "127.0.0.1:20000"
  const download: Command = { _tag: "Download", name: "a.txt" }
  const upload: Command = { _tag: "Upload", name: "a.txt" }
  const resume: Command = { _tag: "Resume", name: "a.txt", position: undefined }
  const many: Command = { _tag: "DownloadMany", mask: "*.txt" }

  /**
   * Each request that names something, with the command it comes from: a
   * Record, so a new request tag does not compile without its row here.
   * (A listing names nothing: its refusal has its own test below.)
   */
  const asked: Record<Exclude<RequestTag, "List">, { readonly command: Command; readonly name: string }> = {
    Download: { command: download, name: "a.txt" },
    Upload: { command: upload, name: "a.txt" },
    Resume: { command: resume, name: "a.txt" },
    DownloadMany: { command: many, name: "*.txt" }
  }

  // Every reason from the exported lists: a new reason gets its sentence checked here at once.
  /** [label, error, command, the name the sentence must contain] */
  const rows: ReadonlyArray<[string, ClientError, Command, string]> = [
    ...Object.entries(asked).flatMap(([request, { command, name }]) =>
      RefusalReasons.map((reason): [string, ClientError, Command, string] => [
        `ServerRefused ${request} ${reason}`,
        new ServerRefused({ request: request as RequestTag, name, reason }),
        command,
        name
      ])
    ),
    ["TooManyMatches", new TooManyMatches({ mask: "*.txt", matches: 12000, cap: 10000 }), many, "*.txt"],
    ["HashMismatch", new HashMismatch({ name: "a.txt", position: 3 }), resume, "a.txt"],
    ...FileFailureReasons.map((reason): [string, ClientError, Command, string] => [
      `FileFailure ${reason}`,
      new FileFailure({ name: "a.txt", reason, detail: "detalhe" }),
      download,
      "a.txt"
    ]),
    ...ViolationReasons.map((reason): [string, ClientError, Command, string] => [
      `ProtocolViolation ${reason}`,
      new ProtocolViolation({ reason, detail: "detalhe" }),
      download,
      "a.txt"
    ]),
    ...ConnectionFailureReasons.map((reason): [string, ClientError, Command, string] => [
      `ConnectionFailure ${reason}`,
      new ConnectionFailure({ reason, detail: "detalhe" }),
      download,
      "a.txt"
    ]),
    ...TimeoutPhases.map((phase): [string, ClientError, Command, string] => [
      `Timeout ${phase}`,
      new Timeout({ phase, seconds: 5 }),
      download,
      "a.txt"
    ])
  ]

  test.each(rows)("%s: one line naming the file", (_label, error, command, name) => {
    const sentence = describeClientError(error, { server, command })
    expect(sentence).toContain(`"${name}"`)
    expect(sentence).not.toContain("\n")
    expect(sentence).not.toContain("undefined")
    expect(sentence).toMatch(/[.?]$/)
  })

  test("the listing refusal is a sentence (there is no file to name)", () => {
    const sentence = describeClientError(new ServerRefused({ request: "List", name: "", reason: "Refused" }), {
      server,
      command: { _tag: "List", json: false }
    })
    expect(sentence).toBe("O servidor não conseguiu listar a pasta. Tente de novo.")
  })

  test("a refusal is worded from the request it carries: each request has its own sentence", () => {
    const sentences = [
      ...Object.entries(asked).map(([request, { command, name }]) =>
        describeClientError(new ServerRefused({ request: request as RequestTag, name, reason: "Refused" }), {
          server,
          command
        })
      ),
      describeClientError(new ServerRefused({ request: "List", name: "", reason: "Refused" }), {
        server,
        command: { _tag: "List", json: false }
      })
    ]
    expect(new Set(sentences).size).toBe(sentences.length)
  })

  test("a download cut by the network says the partial is kept for retomar; an upload does not", () => {
    const closed = new ConnectionFailure({ reason: "Closed", detail: "x" })
    expect(describeClientError(closed, { server, command: download, kept: 2048 })).toBe(
      `A conexão com 127.0.0.1:20000 caiu durante "a.txt". O que chegou (2,0 KiB) ficou guardado. Para continuar:\n  retomar a.txt`
    )
    expect(describeClientError(closed, { server, command: upload, kept: 2048 })).toBe(
      `A conexão com 127.0.0.1:20000 caiu durante "a.txt".`
    )
    expect(
      describeClientError(new Timeout({ phase: "Idle", seconds: 1 }), {
        server,
        command: resume,
        kept: 10,
        resumeCommand: () => "arquivos-cliente h:1 retomar a.txt"
      })
    ).toBe(
      `Nada se moveu por 1 s em "a.txt"; a operação foi cancelada. O que chegou (10 B) ficou guardado. Para continuar:\n  arquivos-cliente h:1 retomar a.txt`
    )
  })

  test("a stall or a cut before any byte arrived does not advise retomar: there is nothing to resume", () => {
    for (const kept of [undefined, 0]) {
      const stalled = describeClientError(new Timeout({ phase: "Idle", seconds: 1 }), {
        server,
        command: download,
        kept
      })
      expect(stalled).toBe(`Nada se moveu por 1 s em "a.txt"; a operação foi cancelada.`)
      expect(
        describeClientError(new ConnectionFailure({ reason: "Reset", detail: "x" }), {
          server,
          command: download,
          kept
        })
      ).not.toContain("retomar")
    }
  })

  test("exact sentences for the common refusals", () => {
    expect(
      describeClientError(new ServerRefused({ request: "Download", name: "nada", reason: "Refused" }), {
        server,
        command: download
      })
    ).toBe(
      `O servidor recusou baixar "nada": o arquivo pode não existir lá, ser uma pasta ou não poder ser lido; ou o servidor pode estar ocupado (limite de conexões). Use "listar" para ver os nomes.`
    )
    const mismatch = new HashMismatch({ name: "a.txt", position: 3 })
    expect(describeClientError(mismatch, { server, command: resume })).toBe(
      `Os primeiros 3 bytes do "a.txt" local não conferem com o arquivo do servidor (ou ele tem menos bytes que isso). Nada local foi alterado. Para baixar do zero, use "baixar a.txt".`
    )
    // A bad partial next to a complete file: which one was checked, and that baixar replaces both.
    expect(describeClientError(mismatch, { server, command: resume, kept: 3, finalExists: true })).toBe(
      `O download parcial "a.txt.parcial" (os primeiros 3 bytes) não confere com o arquivo do servidor (ou ele tem menos bytes que isso). Nada local foi alterado. Para baixar do zero (substitui o parcial e o "a.txt" completo que está ao lado), use "baixar a.txt".`
    )
  })

  test("connection refused names the server and the file", () => {
    expect(
      describeClientError(new ConnectionFailure({ reason: "Refused", detail: "x" }), { server, command: download })
    ).toBe('Conexão recusada por 127.0.0.1:20000 (pedido: "a.txt"): o servidor está rodando nessa porta?')
  })

  // Regression (was a bug in deviation from the promise "one Portuguese sentence naming the file",
  // src/programs/client/cli/failures.ts, describeClientError): the sentences for
  // ConnectionFailure "Refused" and "Unresolved" and for Timeout "Connect" name
  // the server but not the file the command was about; e.g. `baixar a.txt`
  // against a closed port prints "Conexão recusada por 127.0.0.1:1: o servidor
  // está rodando nessa porta?" with no "a.txt".
  test("connection refused, unresolved host and connect timeout also name the file", () => {
    for (const error of [
      new ConnectionFailure({ reason: "Refused", detail: "x" }),
      new ConnectionFailure({ reason: "Unresolved", detail: "x" }),
      new Timeout({ phase: "Connect", seconds: 5 })
    ]) {
      expect(describeClientError(error, { server, command: download })).toContain('"a.txt"')
    }
  })
})

describe("debugDetails (--debug)", () => {
  /** An error as the socket layer gives it: a message, a code, a syscall and an errno number. */
  const systemError = () =>
    Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED", syscall: "connect", errno: -111 })

  test("a connection failure keeps the original error as its cause: shown under it, its errno once", () => {
    const failure = new ConnectionFailure({ reason: "Refused", detail: "Failed to connect", cause: systemError() })
    expect(debugDetails(Cause.fail(failure))).toEqual([
      'detalhe: ConnectionFailure reason="Refused" detail="Failed to connect"',
      '  detalhe: Error syscall="connect" message="Failed to connect" errno=ECONNREFUSED'
    ])
  })

  test("the cause stays out of the sentence people read", () => {
    const failure = new ConnectionFailure({ reason: "Refused", detail: "Failed to connect", cause: systemError() })
    const sentence = describeClientError(failure, { server: "h:1", command: { _tag: "Download", name: "a.txt" } })
    expect(sentence).toBe('Conexão recusada por h:1 (pedido: "a.txt"): o servidor está rodando nessa porta?')
  })

  test("without a cause, one line", () => {
    expect(debugDetails(Cause.fail(new ConnectionFailure({ reason: "Closed", detail: "x" })))).toEqual([
      'detalhe: ConnectionFailure reason="Closed" detail="x"'
    ])
  })
})

describe("exitCodeOf", () => {
  const rows: ReadonlyArray<[string, ExitCode, ClientError]> = [
    ["ServerRefused", 1, new ServerRefused({ request: "Download", name: "a", reason: "Refused" })],
    ["ServerRefused NotFound", 1, new ServerRefused({ request: "Resume", name: "a", reason: "NotFound" })],
    ["TooManyMatches", 1, new TooManyMatches({ mask: "*", matches: 2, cap: 1 })],
    ["HashMismatch", 1, new HashMismatch({ name: "a", position: 1 })],
    ["FileFailure", 1, new FileFailure({ name: "a", reason: "NotFound", detail: "" })],
    ["ProtocolViolation", 3, new ProtocolViolation({ reason: "Truncated", detail: "" })],
    ["ConnectionFailure", 3, new ConnectionFailure({ reason: "Refused", detail: "" })],
    ["Timeout", 3, new Timeout({ phase: "Idle", seconds: 1 })]
  ]
  test.each(rows)("%s → %p", (_label, code, error) => {
    expect(exitCodeOf(error)).toBe(code)
  })

  test("the documented statuses", () => {
    expect(ExitCode).toEqual({ Ok: 0, Refused: 1, Usage: 2, Network: 3 })
  })
})

import { describe, expect, test } from "bun:test"
import { ConfigProvider } from "effect"
import { clientArgsFrom, clientUsage, parseClientArgs } from "../../src/programs/client/cli/args.ts"
import { type Command, parseCommand } from "../../src/programs/client/cli/commands.ts"
import { describeClientError } from "../../src/programs/client/cli/failures.ts"
import { fitMiddle, listingTable, wrapText } from "../../src/programs/client/cli/format.ts"
import { ServerRefused } from "../../src/programs/client/errors.ts"
import { invokedAs } from "../../src/programs/invocation.ts"
import { leftOf, rightOf } from "../support/effect.ts"

/**
 * The second terminal pass, as units: how each program names itself, sftp's
 * option habits, listings and messages that fit a terminal, and the causes
 * an upload refusal may have.
 */

describe("invokedAs: each program names itself as it was started", () => {
  const from = (argv0: string, entry: string, env: Record<string, string> = {}, cwd = "/projeto") => ({
    argv0,
    argv: ["bun", entry],
    env,
    cwd
  })
  test.each([
    ["an installed command", from("arquivos-cliente", "/$bunfs/root/cliente"), "arquivos-cliente"],
    ["the executable by its path", from("dist/cliente", "/$bunfs/root/cliente"), "dist/cliente"],
    [
      "a path with a space, quoted for the shell",
      from("/opt/meu app/cliente", "/$bunfs/root/cliente"),
      "'/opt/meu app/cliente'"
    ],
    [
      "bun run",
      from("bun", "/projeto/bin/cliente.ts", {
        npm_lifecycle_event: "cliente",
        npm_command: "run-script"
      }),
      "bun run cliente"
    ],
    // Started by bun run from within npm (npm test): bun's npm_command wins; npm's user agent stays.
    [
      "bun run under npm",
      from("bun", "/projeto/bin/cliente.ts", {
        npm_lifecycle_event: "cliente",
        npm_command: "run-script",
        npm_config_user_agent: "npm/11.19.1 node/v20"
      }),
      "bun run cliente"
    ],
    [
      "npm run, whose options go after --",
      from("bun", "/projeto/bin/cliente.ts", {
        npm_lifecycle_event: "cliente",
        npm_command: "run"
      }),
      "npm run cliente --"
    ],
    [
      "another npm script (a test) is not this program's",
      from("bun", "/projeto/src/programs/client/main.ts", { npm_lifecycle_event: "test" }),
      "bun src/programs/client/main.ts"
    ],
    ["a source file outside the folder, by its full path", from("bun", "/outro/main.ts"), "bun /outro/main.ts"]
  ])("%s", (_label, invocation, expected) => {
    expect(invokedAs("cliente", "arquivos-cliente", invocation)).toBe(expected)
  })

  test("the help's usage line and examples use the name; none says bun run unless started so", () => {
    const help = clientUsage("arquivos-cliente")
    expect(help).toStartWith("Uso: arquivos-cliente HOST[:PORTA]")
    expect(help).toContain("  arquivos-cliente 127.0.0.1:20000 baixar foto.jpg")
    expect(help).not.toContain("bun run")
  })
})

describe("the client's command line", () => {
  const env = (variables: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(variables)))
  test("-V is --version", () => {
    expect(rightOf(parseClientArgs(["-V"]))).toEqual({ _tag: "Version" })
    expect(rightOf(parseClientArgs(["h:1", "-V"]))).toEqual({ _tag: "Version" })
  })

  test("with the address from ARQUIVOS_CLIENTE_SERVIDOR, the command's own options stay its own (listar --json)", () => {
    const parsed = rightOf(clientArgsFrom(["listar", "--json"], env({ ARQUIVOS_CLIENTE_SERVIDOR: "127.0.0.1:2001" })))
    expect(parsed).toMatchObject({ _tag: "Run", args: { command: ["listar", "--json"], server: { port: 2001 } } })
    const download = rightOf(clientArgsFrom(["baixar", "-c", "a.txt"], env({ ARQUIVOS_CLIENTE_SERVIDOR: "h:1" })))
    expect(download).toMatchObject({ args: { command: ["baixar", "-c", "a.txt"] } })
  })

  test("a host alone means the server's default port", () => {
    expect(rightOf(parseClientArgs(["192.168.0.10", "listar"]))).toMatchObject({
      args: { server: { host: "192.168.0.10", port: 20000 }, command: ["listar"] }
    })
  })
})

describe("options inside commands, as sftp and lftp take them", () => {
  test("-c (continue) and -o are understood; -- ends the options", () => {
    expect(rightOf(parseCommand(["baixar", "-c", "a.txt"]))).toEqual({
      _tag: "Download",
      name: "a.txt",
      continued: true
    })
    expect(rightOf(parseCommand(["get", "a.txt", "-c", "-o", "b.txt"]))).toEqual({
      _tag: "Download",
      name: "a.txt",
      target: "b.txt",
      continued: true
    })
    expect(rightOf(parseCommand(["mget", "-c", "*.jpg"]))).toEqual({ _tag: "DownloadMany", mask: "*.jpg" })
    expect(rightOf(parseCommand(["baixar", "--", "-c"]))).toEqual({ _tag: "Download", name: "-c" })
    expect(rightOf(parseCommand(["ls", "-l"]))).toEqual({ _tag: "List", json: false })
  })

  test.each([
    [["baixar", "-x", "a.txt"], "opção desconhecida: -x (uso: baixar NOME... [-c] [-o DESTINO]"],
    [["get", "-r", "fotos"], "opção desconhecida: -r (pastas inteiras vão por máscara: baixar-varios 'PASTA/*'"],
    [["enviar", "-p", "a.txt"], "opção desconhecida: -p (uso: enviar NOME..."],
    [["mput", "-r", "fotos"], "opção desconhecida: -r"],
    [["retomar", "-f", "a.txt"], "opção desconhecida: -f"],
    [["lcd", "-P"], "opção desconhecida: -P"],
    [["baixar", "a.txt", "-o"], "-o precisa de um valor"]
  ])("%p is refused, and nothing named -x reaches the server: %p", (words, message) => {
    expect(leftOf(parseCommand(words))).toStartWith(message)
  })

  test("enviar with a path outside the client folder says where enviar reads from and how to send it", () => {
    for (const word of ["/etc/hostname", "../fora.txt"]) {
      const message = leftOf(parseCommand(["enviar", word]))
      expect(message).toContain("pasta local do cliente")
      expect(message).toContain("--pasta")
    }
  })

  test.each([
    ["cd", "lcd"],
    ["pwd", "lpwd"],
    ["rm", "não tem operação para apagar"],
    ["mkdir", "criar pastas"],
    ["bye", "sair"]
  ])("the sftp command %p says what to use instead (%p)", (word, hint) => {
    const message = leftOf(parseCommand([word, "x"]))
    expect(message).toStartWith(`"${word}" não existe aqui: `)
    expect(message).toContain(hint)
  })

  test("one bad mask among several does not cancel the others", () => {
    const line = rightOf(parseCommand(["mget", "fotos/*.jpg", "**/*.jpg", "*.txt"])) as Extract<
      Command,
      { _tag: "Each" }
    >
    expect(line.commands.map((command) => command._tag)).toEqual(["DownloadMany", "Invalid", "DownloadMany"])
  })
})

describe("fitting the terminal", () => {
  test("fitMiddle keeps the start and the end (the extension), by display width", () => {
    const name = "relatorio-final-do-projeto-integrador-versao-corrigida.pdf"
    const fitted = fitMiddle(name, 30)
    expect(Bun.stringWidth(fitted)).toBe(30)
    expect(fitted).toStartWith("relatorio-fina")
    expect(fitted).toEndWith("corrigida.pdf")
    expect(fitted).toContain("…")
    expect(fitMiddle("curto.txt", 30)).toBe("curto.txt")
    expect(Bun.stringWidth(fitMiddle("写真".repeat(20), 11))).toBeLessThanOrEqual(11)
  })

  const entries = [
    { nome: `${"relatorio-final-do-projeto-".repeat(2)}integrador-versao-corrigida-2026.pdf`, tamanho: "3145728" },
    { nome: "a.txt", tamanho: "5" }
  ]
  test.each([80, 45, 30])("a listing with a long name fits %p columns, numbers whole", (width) => {
    const table = listingTable(entries, width)
    for (const line of table.split("\n")) expect(Bun.stringWidth(line)).toBeLessThan(width)
    const row = table.split("\n")[1]!
    expect(row).toContain("…")
    expect(row).toMatch(/2026\.pdf +3,0 MiB/)
    if (width >= 45) expect(row).toEndWith("3.145.728")
  })

  test("without a width (not a terminal), the names are whole", () => {
    expect(listingTable(entries)).toContain(entries[0]!.nome)
  })

  test("wrapText breaks between words below the width; an indented command line is never broken", () => {
    const text =
      'O servidor recusou ou não conseguiu gravar "relatorio.pdf". Pode ser: o arquivo já existe e o servidor não sobrescreve.\n  arquivos-cliente 127.0.0.1:20000 --pasta /uma/pasta/bem/comprida/de/verdade retomar video.mp4'
    const wrapped = wrapText(text, 45).split("\n")
    const command = wrapped.at(-1)!
    expect(command).toStartWith("  arquivos-cliente")
    for (const line of wrapped.slice(0, -1)) expect(Bun.stringWidth(line)).toBeLessThan(45)
    expect(wrapped.slice(0, -1).join(" ")).toBe(text.split("\n")[0]!)
    expect(wrapText(text, undefined)).toBe(text)
  })
})

test("an upload refusal names every cause the server may have, the existing file first", () => {
  const message = describeClientError(new ServerRefused({ request: "Upload", name: "a.txt", reason: "Refused" }), {
    server: "h:1",
    command: { _tag: "Upload", name: "a.txt" }
  })
  const causes = [
    "o arquivo já existe e o servidor não sobrescreve (--sem-sobrescrever)",
    "somente leitura",
    "pasta com esse nome",
    "tamanho máximo",
    "espaço livre",
    "ocupado",
    "não atende o seu endereço"
  ]
  for (const cause of causes) expect(message).toContain(cause)
  expect(message.indexOf(causes[0]!)).toBeLessThan(message.indexOf(causes[1]!))
})

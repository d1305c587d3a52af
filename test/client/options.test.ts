import { afterAll, afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { ConfigProvider, Either } from "effect"
import {
  CLIENT_ENVIRONMENT,
  CLIENT_USAGE,
  type ClientArgs,
  clientArgsFrom,
  parseClientArgs
} from "../../src/programs/client/cli/args.ts"
import { freePort, run, spawnDaemon, stopAll } from "../bin/processes.ts"

/** The client's `--opcao=valor`, `--`, --version and ARQUIVOS_CLIENTE_* variables. */

const env = (variables: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(variables)))

const argsOf = (parsed: ReturnType<typeof parseClientArgs>): ClientArgs => {
  if (Either.isLeft(parsed)) throw new Error(`refused: ${parsed.left}`)
  if (parsed.right._tag !== "Run") throw new Error(parsed.right._tag)
  return parsed.right.args
}
const errorOf = (parsed: ReturnType<typeof parseClientArgs>): string => {
  if (Either.isRight(parsed)) throw new Error(`accepted: ${JSON.stringify(parsed.right)}`)
  return parsed.left
}

describe("--opcao=valor, -- and --version", () => {
  test("options with a value also take it after =", () => {
    const args = argsOf(parseClientArgs(["--pasta=/tmp/a=b", "--timeout=2", "127.0.0.1:2000", "--script=x.txt"]))
    expect([args.folder, args.timeoutSeconds, args.script, args.server]).toEqual([
      "/tmp/a=b",
      2,
      "x.txt",
      { host: "127.0.0.1", port: 2000 }
    ])
    expect(errorOf(parseClientArgs(["--pasta=", "127.0.0.1:2000"]))).toBe("--pasta precisa de um valor")
  })

  test("a command's own words are left as they are, = included", () => {
    expect(argsOf(parseClientArgs(["127.0.0.1:2000", "enviar", "--pasta=x"])).command).toEqual(["enviar", "--pasta=x"])
  })

  test("after --, every word is positional", () => {
    expect(argsOf(parseClientArgs(["--", "127.0.0.1:2000", "baixar", "--debug"])).command).toEqual([
      "baixar",
      "--debug"
    ])
    expect(argsOf(parseClientArgs(["127.0.0.1:2000", "--", "baixar", "-x"]))).toMatchObject({
      debug: false,
      command: ["baixar", "-x"]
    })
  })

  test("--version before the command; after it, a command's word", () => {
    expect(parseClientArgs(["--version"])).toEqual(Either.right({ _tag: "Version" }))
    expect(parseClientArgs(["127.0.0.1:2000", "--version"])).toEqual(Either.right({ _tag: "Version" }))
    expect(argsOf(parseClientArgs(["127.0.0.1:2000", "enviar", "--version"])).command).toEqual(["enviar", "--version"])
  })

  test("the usage text names --version and the environment", () => {
    for (const word of ["--version", "ARQUIVOS_CLIENTE_SERVIDOR", "--opcao=valor"]) expect(CLIENT_USAGE).toContain(word)
  })
})

describe("ARQUIVOS_CLIENTE_* variables (Effect Config), the command line winning", () => {
  test("each variable is ARQUIVOS_CLIENTE_ plus its option in capitals", () => {
    for (const entry of CLIENT_ENVIRONMENT) {
      expect(entry.variable).toBe(`ARQUIVOS_CLIENTE_${entry.option.slice(2).toUpperCase().replaceAll("-", "_")}`)
    }
  })

  test("each variable sets its option", () => {
    const args = argsOf(
      clientArgsFrom(
        [],
        env({
          ARQUIVOS_CLIENTE_SERVIDOR: "[::1]:2001",
          ARQUIVOS_CLIENTE_PASTA: "/tmp/local",
          ARQUIVOS_CLIENTE_TIMEOUT: "4",
          ARQUIVOS_CLIENTE_SILENCIOSO: "1",
          ARQUIVOS_CLIENTE_TRACE: "sim",
          ARQUIVOS_CLIENTE_DEBUG: "true"
        })
      )
    )
    expect(args).toEqual({
      server: { host: "::1", port: 2001 },
      folder: "/tmp/local",
      timeoutSeconds: 4,
      script: undefined,
      silent: true,
      trace: true,
      debug: true,
      command: []
    })
  })

  test("the TLS variables set their options; any of the files turns TLS on", () => {
    const args = argsOf(
      clientArgsFrom(
        ["127.0.0.1:2001"],
        env({
          ARQUIVOS_CLIENTE_TLS_CA: "/etc/ca.pem",
          ARQUIVOS_CLIENTE_TLS_CERTIFICADO: "/etc/ana.pem",
          ARQUIVOS_CLIENTE_TLS_CHAVE: "/etc/ana.key"
        })
      )
    )
    expect(args.tls).toEqual({ ca: "/etc/ca.pem", certificate: "/etc/ana.pem", key: "/etc/ana.key" })
    expect(argsOf(clientArgsFrom(["127.0.0.1:2001"], env({ ARQUIVOS_CLIENTE_TLS: "1" }))).tls).toEqual({})
    expect(argsOf(clientArgsFrom(["127.0.0.1:2001"], env({}))).tls).toBeUndefined()
  })

  test("with ARQUIVOS_CLIENTE_SERVIDOR, the command may come first; an address on the line wins", () => {
    const provider = env({ ARQUIVOS_CLIENTE_SERVIDOR: "127.0.0.1:2001" })
    expect(argsOf(clientArgsFrom(["baixar", "a:b.txt"], provider))).toMatchObject({
      server: { host: "127.0.0.1", port: 2001 },
      command: ["baixar", "a:b.txt"]
    })
    expect(argsOf(clientArgsFrom(["127.0.0.1:3001", "listar"], provider))).toMatchObject({
      server: { host: "127.0.0.1", port: 3001 },
      command: ["listar"]
    })
  })

  test("flags win over variables", () => {
    const provider = env({ ARQUIVOS_CLIENTE_PASTA: "/tmp/env", ARQUIVOS_CLIENTE_TIMEOUT: "4" })
    const args = argsOf(clientArgsFrom(["127.0.0.1:2000", "--pasta", "/tmp/flag"], provider))
    expect([args.folder, args.timeoutSeconds]).toEqual(["/tmp/flag", 4])
    expect(argsOf(clientArgsFrom(["--timeout=9", "127.0.0.1:2000"], provider)).timeoutSeconds).toBe(9)
  })

  test("a bad variable is refused with its name", () => {
    expect(errorOf(clientArgsFrom(["127.0.0.1:2000"], env({ ARQUIVOS_CLIENTE_TIMEOUT: "x" })))).toBe(
      `ARQUIVOS_CLIENTE_TIMEOUT: timeout inválido: "x" (use segundos, de 0.001 a 86400)`
    )
    expect(errorOf(clientArgsFrom([], env({ ARQUIVOS_CLIENTE_SERVIDOR: "h:porta" })))).toStartWith(
      `ARQUIVOS_CLIENTE_SERVIDOR: endereço inválido: "h:porta"`
    )
    expect(errorOf(clientArgsFrom(["127.0.0.1:2000"], env({ ARQUIVOS_CLIENTE_DEBUG: "2" })))).toBe(
      `ARQUIVOS_CLIENTE_DEBUG="2" inválido (use 1 para ligar ou 0 para desligar)`
    )
  })

  test("without the variable the address is still required", () => {
    expect(errorOf(clientArgsFrom(["listar"], env({})))).toContain('falta o endereço do servidor antes de "listar"')
    expect(errorOf(clientArgsFrom([], env({})))).toBe("falta o endereço do servidor (HOST:PORTA)")
  })
})

describe("the client process reads its environment", () => {
  const dirs: Array<string> = []
  afterEach(() => stopAll())
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  test("ARQUIVOS_CLIENTE_SERVIDOR and ARQUIVOS_CLIENTE_PASTA: `cliente baixar a.txt` with no address", async () => {
    const served = mkdtempSync(path.join(tmpdir(), "client-env-served-"))
    const local = mkdtempSync(path.join(tmpdir(), "client-env-local-"))
    dirs.push(served, local)
    writeFileSync(path.join(served, "a.txt"), "pelo ambiente")
    const port = await freePort()
    const server = spawnDaemon([
      process.execPath,
      "src/programs/server/main.ts",
      String(port),
      "--endereco",
      "127.0.0.1",
      "--pasta",
      served
    ])
    await server.waitFor(/Ctrl\+C/)
    const result = await run([process.execPath, "src/programs/client/main.ts", "baixar", "a.txt"], {
      env: {
        ARQUIVOS_CLIENTE_SERVIDOR: `127.0.0.1:${port}`,
        ARQUIVOS_CLIENTE_PASTA: local,
        ARQUIVOS_CLIENTE_SILENCIOSO: "1"
      }
    })
    expect(result.code).toBe(0)
    expect(readFileSync(path.join(local, "a.txt"), "utf8")).toBe("pelo ambiente")
  }, 30_000)
})

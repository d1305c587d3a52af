import { afterAll, afterEach, describe, expect, test } from "bun:test"
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { CLIENT_EXE, freePort, ROOT, run, SERVER_EXE, spawnDaemon, stopAll, waitListening } from "./processes.ts"

/**
 * What `npm ci` leaves (the prepare script runs `npm run build`): the two
 * single-file executables in dist/, the package's `bin` commands, and
 * `bun run servidor|cliente` that print nothing of their own.
 */

const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  version: string
  bin: Record<string, string>
  scripts: Record<string, string>
  engines: Record<string, string>
  packageManager: string
}
const BUN = process.execPath

const dirs: Array<string> = []
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}
afterEach(() => stopAll())
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe("package.json", () => {
  test("npm ci builds the executables: prepare runs the build, which compiles the one entry point of every program with bytecode", () => {
    expect(pkg.scripts.prepare).toBe("npm run build")
    expect(pkg.scripts.build).toContain("bun build --compile --bytecode --minify src/conformance/multicall.ts")
  })

  test("bin names the commands, and they are the executables that exist after npm ci", () => {
    expect(pkg.bin).toEqual({
      "arquivos-servidor": "dist/servidor",
      "arquivos-cliente": "dist/cliente",
      "arquivos-conformidade": "dist/conformidade",
      "arquivos-conformidade-cliente": "dist/conformidade-cliente"
    })
    for (const file of Object.values(pkg.bin)) accessSync(path.join(ROOT, file), constants.X_OK)
  })

  test("engines and packageManager are declared", () => {
    expect(pkg.engines.node).toMatch(/^>=\d+/)
    expect(pkg.packageManager).toMatch(/^npm@\d+\.\d+\.\d+$/)
  })
})

describe("installing as commands", () => {
  test("npm install -g . (into a temporary prefix) gives arquivos-servidor and arquivos-cliente", async () => {
    const prefix = tempDir("npm-prefix-")
    const installed = await run(
      ["npm", "install", "-g", ".", "--prefix", prefix, "--no-audit", "--no-fund", "--offline"],
      {
        millis: 120_000
      }
    )
    expect(installed.code).toBe(0)
    for (const [command, name] of [
      ["arquivos-servidor", "arquivos-servidor"],
      ["arquivos-cliente", "arquivos-cliente"]
    ]) {
      const result = await run([path.join(prefix, "bin", command!), "--version"], { cwd: prefix })
      expect(result).toEqual({ code: 0, stdout: `${name} ${pkg.version}\n`, stderr: "" })
    }
  }, 130_000)
})

describe("--version", () => {
  test.each([
    [[SERVER_EXE], "arquivos-servidor"],
    [[CLIENT_EXE], "arquivos-cliente"],
    [[BUN, "bin/servidor.ts"], "arquivos-servidor"],
    [[BUN, "bin/cliente.ts"], "arquivos-cliente"]
  ])("%j --version prints the package's version", async (cmd, name) => {
    const result = await run([...cmd, "--version"])
    expect(result).toEqual({ code: 0, stdout: `${name} ${pkg.version}\n`, stderr: "" })
  })
})

describe("bun run prints only the program's own output (no echo of the script, no 'error: script')", () => {
  test("success: exactly the program's output", async () => {
    const result = await run([BUN, "run", "cliente", "--version"])
    expect(result).toEqual({ code: 0, stdout: `arquivos-cliente ${pkg.version}\n`, stderr: "" })
  })

  test("failure: the program's message and its exit status, nothing else", async () => {
    const client = await run([BUN, "run", "cliente", "h:porta"])
    expect(client.code).toBe(2)
    expect(client.stdout).toBe("")
    expect(client.stderr).toBe(
      `cliente: endereço inválido: "h:porta" (use HOST:PORTA, por exemplo 127.0.0.1:20000)\nUse --ajuda para ver as opções.\n`
    )
    const server = await run([BUN, "run", "servidor", "--xyz"])
    expect(server.code).toBe(2)
    expect(server.stderr).toStartWith("servidor: opção desconhecida: --xyz\n")
    for (const text of [client.stderr, server.stderr]) {
      expect(text).not.toContain("$ bun")
      expect(text).not.toContain("error: script")
    }
  })
})

describe("the executables do the job", () => {
  test("dist/servidor serves a folder and dist/cliente uploads, lists and downloads through it", async () => {
    const served = tempDir("exe-served-")
    const local = tempDir("exe-local-")
    writeFileSync(path.join(served, "a.txt"), "conteúdo do servidor\n")
    writeFileSync(path.join(local, "b.txt"), "conteúdo do cliente\n")
    const port = await freePort()
    // Run from an unrelated folder: the executables need nothing from the project.
    const elsewhere = tempDir("exe-cwd-")
    const server = spawnDaemon([SERVER_EXE, String(port), "--pasta", served], { cwd: elsewhere })
    await waitListening("127.0.0.1", port)
    const client = (...command: Array<string>) =>
      run([CLIENT_EXE, `127.0.0.1:${port}`, "--pasta", local, "--silencioso", ...command], { cwd: elsewhere })
    expect((await client("baixar", "a.txt")).code).toBe(0)
    expect(readFileSync(path.join(local, "a.txt"), "utf8")).toBe("conteúdo do servidor\n")
    expect((await client("enviar", "b.txt")).code).toBe(0)
    expect(readFileSync(path.join(served, "b.txt"), "utf8")).toBe("conteúdo do cliente\n")
    const listed = await client("listar", "--json")
    expect(JSON.parse(listed.stdout)).toEqual([
      { nome: "a.txt", tamanho: String(Buffer.byteLength("conteúdo do servidor\n")) },
      { nome: "b.txt", tamanho: String(Buffer.byteLength("conteúdo do cliente\n")) }
    ])
    await server.stop()
  }, 60_000)
})

describe("the executables name themselves as they were started (no `bun run` outside the project)", () => {
  test("dist/cliente --ajuda and the same executable as arquivos-cliente on the PATH", async () => {
    const byPath = await run([CLIENT_EXE, "--ajuda"])
    expect(byPath.code).toBe(0)
    expect(byPath.stdout).toStartWith(`Uso: ${CLIENT_EXE} HOST[:PORTA]`)
    expect(byPath.stdout).not.toContain("bun run")
    const bin = tempDir("exe-bin-")
    symlinkSync(CLIENT_EXE, path.join(bin, "arquivos-cliente"))
    const installed = await run(["sh", "-c", "arquivos-cliente --ajuda"], {
      env: { PATH: `${bin}:${process.env.PATH}` }
    })
    expect(installed.stdout).toStartWith("Uso: arquivos-cliente HOST[:PORTA]")
    expect(installed.stdout).toContain("\n  arquivos-cliente 127.0.0.1:20000 baixar foto.jpg\n")
    expect(installed.stdout).not.toContain("bun run")
  })

  test("dist/servidor --ajuda names itself by its path", async () => {
    const help = await run([SERVER_EXE, "--ajuda"])
    expect(help.stdout).toStartWith(`Uso: ${SERVER_EXE} [PORTA] [opções]`)
    expect(help.stdout).not.toContain("bun run")
  })

  test("-V answers like --version, on both", async () => {
    for (const [exe, name] of [
      [CLIENT_EXE, "arquivos-cliente"],
      [SERVER_EXE, "arquivos-servidor"]
    ] as const) {
      expect(await run([exe, "-V"])).toEqual({ code: 0, stdout: `${name} ${pkg.version}\n`, stderr: "" })
    }
  })

  test("dist/servidor on a port in use suggests itself, and does not say it shut down", async () => {
    const holder = Bun.listen({ hostname: "::", port: 0, socket: { data() {} } })
    try {
      const result = await run([SERVER_EXE, String(holder.port), "--pasta", tempDir("exe-busy-")])
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(`por exemplo "${SERVER_EXE} ${holder.port + 1}"`)
      expect(result.stderr).not.toContain("bun run")
      expect(result.stdout + result.stderr).not.toContain("encerrado")
    } finally {
      holder.stop(true)
    }
  })

  test("dist/cliente's advice after a stalled download is a command that starts with dist/cliente", async () => {
    // A server that announces 10 bytes, sends 3 and goes silent: the client gives up after 1 s.
    const stalled = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { data: (socket) => void socket.write(new Uint8Array([0, 0, 0, 0, 10, 104, 101, 108])) }
    })
    try {
      const local = tempDir("exe-stall-")
      const result = await run([
        CLIENT_EXE,
        `127.0.0.1:${stalled.port}`,
        "--pasta",
        local,
        "--timeout",
        "1",
        "baixar",
        "b.txt"
      ])
      expect(result.code).toBe(3)
      expect(result.stderr).toContain(
        `Para continuar:\n  ${CLIENT_EXE} 127.0.0.1:${stalled.port} --pasta ${local} retomar b.txt\n`
      )
    } finally {
      stalled.stop(true)
    }
  })
})

import { afterAll, afterEach, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { freePort, ROOT, run, SERVER_EXE, spawnDaemon, stopAll } from "../bin/processes.ts"
import { eventually } from "../support/waiting.ts"

/**
 * deploy/arquivos-servidor.service: sandboxed as the issue asks, accepted by
 * `systemd-analyze verify` (and rated by `systemd-analyze security`) when
 * systemd's tools are installed, and its environment really configures the
 * server.
 */

const UNIT = path.join(ROOT, "deploy", "arquivos-servidor.service")
const text = readFileSync(UNIT, "utf8")
const INSTALLED_AT = "/usr/local/bin/arquivos-servidor"

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

/** Every value of `key=` in the unit, in order. */
const values = (key: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1))

const analyze = Bun.which("systemd-analyze")

/** The unit with ExecStart pointing at this checkout's executable (verify wants the binary to exist). */
const localUnit = () => {
  const dir = tempDir("unit-")
  const file = path.join(dir, "arquivos-servidor.service")
  writeFileSync(file, text.replace(`ExecStart=${INSTALLED_AT}`, `ExecStart=${SERVER_EXE}`))
  return file
}

describe("the unit's contents", () => {
  test("runs the installed executable, with the served folder as its state directory", () => {
    expect(values("ExecStart")).toEqual([INSTALLED_AT])
    expect(values("StateDirectory")).toEqual(["arquivos-servidor"])
    expect(values("Environment")).toContain("ARQUIVOS_PASTA=%S/arquivos-servidor")
  })

  test("is sandboxed: dynamic user, read-only system but the served folder, no new privileges, only IP sockets", () => {
    expect(values("DynamicUser")).toEqual(["yes"])
    expect(values("ProtectSystem")).toEqual(["strict"])
    expect(values("ReadWritePaths")).toEqual(["%S/arquivos-servidor"])
    expect(values("NoNewPrivileges")).toEqual(["yes"])
    expect(values("CapabilityBoundingSet")).toEqual([""])
    const families = values("RestrictAddressFamilies").join(" ").split(/\s+/)
    expect(families.sort()).toEqual(["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"])
    // The JIT needs writable-executable memory: this one would break the server.
    expect(values("MemoryDenyWriteExecute")).toEqual([])
  })
})

describe("the unit as a daemon's", () => {
  test("is Type=notify (the server sends READY=1 itself) and reloads with SIGHUP", () => {
    expect(values("Type")).toEqual(["notify"])
    expect(values("NotifyAccess")).toEqual(["main"])
    expect(values("ExecReload")).toEqual(["/bin/kill -HUP $MAINPID"])
  })
})

describe("systemd-analyze", () => {
  test.skipIf(analyze === null)(
    "verify accepts the unit with no warning",
    async () => {
      const result = await run([analyze!, "verify", localUnit()], { millis: 30_000 })
      expect(result.stderr).toBe("")
      expect(result.code).toBe(0)
    },
    40_000
  )

  test.skipIf(analyze === null)(
    "verify does catch a mistake (so the test above can fail)",
    async () => {
      const file = localUnit()
      writeFileSync(file, readFileSync(file, "utf8").replace("ProtectSystem=strict", "ProtectSystem=estrito"))
      const result = await run([analyze!, "verify", file], { millis: 30_000 })
      expect(result.stderr).toContain("Failed to parse protect system value, ignoring: estrito")
    },
    40_000
  )

  test.skipIf(analyze === null)(
    "security rates the sandbox's exposure as OK (at most 2.0 of 10)",
    async () => {
      const result = await run([analyze!, "security", "--offline=true", "--no-pager", localUnit()], { millis: 30_000 })
      const level = /Overall exposure level for \S+: (\d+\.\d+)/.exec(result.stdout + result.stderr)
      expect(level).not.toBeNull()
      expect(Number(level![1])).toBeLessThanOrEqual(2)
    },
    40_000
  )

  if (analyze === null)
    console.log("systemd-analyze não está instalado: o teste da unidade com systemd-analyze foi pulado")
})

describe("the unit's environment configures the server", () => {
  test("with the unit's Environment= lines (%S a temporary folder), the executable serves the state directory", async () => {
    const state = tempDir("state-")
    const served = path.join(state, "arquivos-servidor")
    mkdirSync(served)
    writeFileSync(path.join(served, "a.txt"), "servido")
    const env: Record<string, string> = {}
    for (const line of values("Environment")) {
      const [key, ...rest] = line.split("=")
      env[key!] = rest.join("=").replaceAll("%S", state)
    }
    expect(env.ARQUIVOS_PORTA).toBe("20000")
    // A free loopback port instead of 20000, which may be in use on this machine.
    const port = await freePort()
    const server = spawnDaemon([SERVER_EXE], {
      env: { ...env, ARQUIVOS_PORTA: String(port), ARQUIVOS_ENDERECO: "127.0.0.1" }
    })
    // ARQUIVOS_LOG=json: every line is an object on stdout, the start-up ones too.
    await eventually(() => server.stdout.includes("Ctrl+C"), { millis: 15_000 })
    expect(server.stdout).toContain(`"pasta":${JSON.stringify(served)}`)
    const client = await run([path.join(ROOT, "dist", "cliente"), `127.0.0.1:${port}`, "listar", "--json"])
    expect(JSON.parse(client.stdout)).toEqual([{ nome: "a.txt", tamanho: "7" }])
    // ARQUIVOS_LOG=json: the operation is one JSON line on stdout.
    await server.waitFor(/"op":"listar".*\n/)
    expect(JSON.parse(server.stdout.trim().split("\n").at(-1)!)).toMatchObject({
      evento: "operacao",
      op: "listar",
      resultado: "ok"
    })
  }, 40_000)
})

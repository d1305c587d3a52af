import { afterAll, afterEach, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { spawnDaemon, stopAll } from "../bin/processes.ts"
import { eventually } from "../support/waiting.ts"

/**
 * Type=notify: the server tells systemd READY=1 once it listens, RELOADING=1
 * and READY=1 around a SIGHUP, STOPPING=1 when it starts to drain, with
 * datagrams to $NOTIFY_SOCKET. A python3 receiver stands in for systemd.
 */

const dirs: Array<string> = []
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ops-notify-"))
  dirs.push(dir)
  return dir
}
afterEach(() => stopAll())
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("pronto", flush=True)
s.settimeout(25)
while True:
    print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
`

const python = Bun.which("python3")
if (python === null) console.log("python3 ausente: o teste do sd_notify é pulado")

describe("sd_notify", () => {
  test.skipIf(python === null)(
    "READY=1 at start, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM",
    async () => {
      const dir = tempDir()
      const socketPath = path.join(dir, "notify.sock")
      const systemd = spawnDaemon([python!, "-c", RECEIVER, socketPath])
      await systemd.waitFor(/pronto/)
      const server = spawnDaemon(
        [process.execPath, "bin/servidor.ts", "0", "--endereco", "127.0.0.1", "--pasta", path.join(dir, "pasta")],
        { env: { NOTIFY_SOCKET: socketPath } }
      )
      await systemd.waitFor(/READY=1\|STATUS=aceitando conexões\n/)
      server.process.kill("SIGHUP")
      await systemd.waitFor(/RELOADING=1\nREADY=1\n/)
      server.process.kill("SIGTERM")
      expect(await server.process.exited).toBe(0)
      expect(await eventually(() => systemd.stdout.includes("STOPPING=1\n"))).toBe(true)
      expect(systemd.stdout.split("\n").slice(1, 5)).toEqual([
        "READY=1|STATUS=aceitando conexões",
        "RELOADING=1",
        "READY=1",
        "STOPPING=1"
      ])
    },
    30_000
  )
})

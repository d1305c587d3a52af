import { freePort, spawnDaemon } from "../bin/processes.ts"
import { eventually } from "../support/waiting.ts"

/**
 * The server started with an HTTP option (`--metricas`, `--painel`) at a port
 * another socket holds: its exit status, and whether its error line named the
 * option and the address as taken.
 */
export const startAtTakenPort = async (option: string, folder: string) => {
  const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  try {
    const port = await freePort()
    const server = spawnDaemon([
      process.execPath,
      "src/programs/server/main.ts",
      String(port),
      "--pasta",
      folder,
      option,
      `127.0.0.1:${taken.port}`
    ])
    const status = await server.process.exited
    const said = `${option}: 127.0.0.1:${taken.port} já está em uso`
    return { status, named: await eventually(() => server.stderr.includes(said)) }
  } finally {
    taken.stop(true)
  }
}

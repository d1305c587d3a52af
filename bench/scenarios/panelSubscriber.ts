import { startOurServer } from "../peers.ts"
import { freePort } from "../system.ts"
import type { Bench } from "./common.ts"

/**
 * Our server with the live page on (--painel) and one subscriber reading
 * GET /eventos the whole time, as a projector's browser would: what the page
 * costs the small operations. `stop` ends the subscriber and the server.
 */
export const startPanelServer = async (bench: Bench) => {
  const panelPort = await freePort()
  const server = await startOurServer(bench.repo, bench.serverDir, bench.tmp, {
    name: "servidor-painel",
    args: ["--painel", `127.0.0.1:${panelPort}`]
  })
  const subscriber = new AbortController()
  const response = await fetch(`http://127.0.0.1:${panelPort}/eventos`, { signal: subscriber.signal })
  if (!response.ok || response.body === null) throw new Error(`GET /eventos respondeu ${response.status}`)
  const reader = response.body.getReader()
  // Reads (and drops) every event until stopped, as the page does.
  const reading = (async () => {
    for (;;) if ((await reader.read()).done) return
  })().catch(() => {})
  return {
    server,
    stop: async () => {
      subscriber.abort()
      await reading
      await server.daemon.stop()
    }
  }
}

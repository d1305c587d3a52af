import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { acceptOurDownload, ourDownloadRequest, runSocketLoad } from "./load.ts"
import { startDesignFloor, startOurServer, startRawBunServer } from "./peers.ts"
import { groupCpuSeconds, stopAll } from "./system.ts"

/**
 * `bun bench/probe.ts [REPO...]`: the small-operations scenario alone, for an
 * A/B of a change: 1 KiB downloads, one connection each, 32 in flight, the
 * server of each REPO (default: this one), the design's floor and the Bun limit measured in
 * interleaved rounds, after PROBE_WARMUP requests each. Prints op/s, the
 * server's CPU per operation and p99.
 */

const repos = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [path.resolve(import.meta.dir, "..")]
const ROUNDS = Number(process.env.PROBE_ROUNDS ?? 5)
const OPS = Number(process.env.PROBE_OPS ?? 5000)
// Until the JIT has compiled the per-connection path (it is still compiling after 3,000).
const WARMUP = Number(process.env.PROBE_WARMUP ?? 15_000)
const SIZE = 1024

const tmp = mkdtempSync(path.join(tmpdir(), "probe-"))
const folder = path.join(tmp, "pasta")
await Bun.write(path.join(folder, "x"), "")
writeFileSync(path.join(folder, "pequeno.bin"), new Uint8Array(SIZE).fill(7))
try {
  const servers = [
    ...(await Promise.all(repos.map((repo) => startOurServer(repo, folder, tmp)))).map((server, i) => ({
      label: repos[i]!,
      server
    })),
    { label: "piso-desenho", server: await startDesignFloor(repos[0]!, folder, tmp) },
    { label: "bun-cru", server: await startRawBunServer(repos[0]!, folder, tmp) }
  ]
  const load = (port: number, total: number) =>
    runSocketLoad({
      port,
      request: ourDownloadRequest("pequeno.bin"),
      accept: acceptOurDownload(SIZE),
      total,
      concurrency: 32
    })
  for (const { server } of servers) await load(server.port, WARMUP)
  const rows = new Map<string, Array<string>>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const { label, server } of servers) {
      const before = groupCpuSeconds(server.daemon.pid)
      const result = await load(server.port, OPS)
      const cpu = groupCpuSeconds(server.daemon.pid) - before
      const line = `${Math.round(OPS / result.seconds)} op/s ${((cpu / OPS) * 1e6).toFixed(0)} us/op p99 ${result.p99Millis.toFixed(1)} ms${result.errors > 0 ? ` FAILED ${result.errors}` : ""}`
      rows.set(label, [...(rows.get(label) ?? []), line])
    }
  }
  for (const [label, lines] of rows) console.log(`${label}\n  ${lines.join("\n  ")}`)
} finally {
  await stopAll()
  rmSync(tmp, { recursive: true, force: true })
}

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import * as fs from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Cause, Exit } from "effect"
import { u32 } from "../../src/domain/encode.ts"
import { encodeRequest } from "../../src/domain/operations.ts"
import { encodeProxyV2 } from "../../src/domain/proxyHeader.ts"
import { download } from "../../src/programs/client/download.ts"
import { downloadMany } from "../../src/programs/client/downloadMany.ts"
import { list } from "../../src/programs/client/list.ts"
import { resume } from "../../src/programs/client/resume.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { MARKS_FOLDER, ownerOf } from "../../src/services/files/owners.ts"
import { ROOT as PROJECT } from "../client/cli.ts"
import { type Balancer, findHaproxy, startHaproxy } from "../support/haproxy.ts"
import { bytesOf, type ClientRunner, clientFor, hexOf, seededBytes, waitFor } from "../support/hostile.ts"
import { freePort } from "../support/ports.ts"
import { type Instance, startInstance, stop } from "../support/processes.ts"
import { holdOpen } from "../support/rawClient.ts"
import { rawExchange } from "../support/rawExchange.ts"

/**
 * Scale-out with the real HAProxy: three server processes on one shared
 * folder, with --protocolo-proxy, behind an HAProxy whose configuration is
 * deploy/haproxy.cfg with loopback ports and a faster health check. Every
 * process is started here and stopped by its pid.
 */

const haproxy = findHaproxy()
if ("missing" in haproxy) console.log(`[haproxy] testes pulados: ${haproxy.missing}`)
const suite = "missing" in haproxy ? describe.skip : describe

const MAX_PER_ADDRESS = 4

let work: string
let shared: string
let clientDir: string
let front: number
let single: number
let balancer: Balancer
let client: ClientRunner
const instances: Array<Instance> = []
const names = ["i1", "i2", "i3"] as const

/** Each instance's --metricas port, where the health check asks GET /saude. */
const metricsPorts: Array<number> = []

/** deploy/haproxy.cfg with test ports, a stats socket, checks every 200 ms, and a second frontend to i1 alone. */
const configFrom = (shipped: string, socketPath: string, ports: ReadonlyArray<number>) => {
  let config = shipped
    .replace(/^global\n/m, `global\n    stats socket ${socketPath} mode 600 level admin\n`)
    .replace(/^\s*bind :20000$/m, `    bind 127.0.0.1:${front}`)
    .replace(/inter 2s/, "inter 200ms")
    .replace(/^\s*#?\s*server .*$/gm, "")
  if (config === shipped || !config.includes(`127.0.0.1:${front}`) || !config.includes("inter 200ms")) {
    throw new Error("deploy/haproxy.cfg no longer has the lines this test adapts")
  }
  config += ports.map((port, i) => `    server ${names[i]} 127.0.0.1:${port} port ${metricsPorts[i]}\n`).join("")
  // Everything the shipped backend does, for i1 alone: where a per-address limit can be seen.
  const backend = config.slice(config.search(/^backend instancias$/m))
  config += `\nfrontend unica\n    bind 127.0.0.1:${single}\n    default_backend primeira\n\n`
  config += backend.replace(/^backend instancias$/m, "backend primeira").replace(/^\s*server i[23] .*$/gm, "")
  return config
}

const instanceArgs = (i: number) => [
  "--metricas",
  `127.0.0.1:${metricsPorts[i]}`,
  "--pasta",
  shared,
  "--protocolo-proxy",
  "--max-por-ip",
  String(MAX_PER_ADDRESS),
  "--timeout",
  "30"
]

/** Lines of operations (not refusals) in an instance's log. */
const operations = (instance: Instance, op: string) =>
  instance.stdout.lines().filter((line) => new RegExp(`^\\S+ \\S+ ${op} `).test(line))

const temporariesIn = async (dir: string): Promise<Array<string>> =>
  (await fs.readdir(dir, { recursive: true }))
    .map(String)
    .filter((entry) => ownerOf(path.basename(entry)) !== undefined)

const ok = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(`operation failed: ${Cause.pretty(exit.cause)}`)
  return exit.value
}

/**
 * Runs `work` over the items two at a time: the client connects from
 * 127.0.0.1, as the health checks do, and each instance takes at most
 * MAX_PER_ADDRESS connections from one address (two checks, from the two
 * backends that reach i1, plus two of ours fit).
 */
const twoAtATime = async <T>(items: ReadonlyArray<T>, work: (item: T) => Promise<void>) => {
  for (let i = 0; i < items.length; i += 2) await Promise.all(items.slice(i, i + 2).map(work))
}

suite("through the real HAProxy, three instances on one folder", () => {
  beforeAll(async () => {
    if ("missing" in haproxy) return
    work = await fs.mkdtemp(path.join(tmpdir(), "haproxy-"))
    shared = path.join(work, "compartilhada")
    clientDir = path.join(work, "cliente")
    await fs.mkdir(shared)
    await fs.mkdir(clientDir)
    front = await freePort()
    single = await freePort()
    const ports = [await freePort(), await freePort(), await freePort()]
    for (const _ of ports) metricsPorts.push(await freePort())
    for (const [i, port] of ports.entries()) instances.push(await startInstance(port, instanceArgs(i)))
    const socketPath = path.join(work, "haproxy.sock")
    const configPath = path.join(work, "haproxy.cfg")
    await fs.writeFile(
      configPath,
      configFrom(await fs.readFile(path.join(PROJECT, "deploy/haproxy.cfg"), "utf8"), socketPath, ports)
    )
    balancer = await startHaproxy(haproxy.path, configPath, socketPath, front)
    for (const name of names) await balancer.waitStatus("instancias", name, "UP", 10_000)
    client = await clientFor(front, clientDir, 10)
  }, 60_000)

  afterAll(async () => {
    if (balancer !== undefined) await stop(balancer.process)
    for (const instance of instances) await stop(instance.process)
    if (work !== undefined) await fs.rm(work, { recursive: true, force: true })
  })

  test("the health check asks each instance's /saude (HTTP on its --metricas port), never its file port", async () => {
    for (const [i, instance] of instances.entries()) {
      expect((await fetch(`http://127.0.0.1:${metricsPorts[i]}/saude`)).status).toBe(200)
      expect(instance.stdout.lines().filter((line) => / listar | recusado/.test(line))).toEqual([])
    }
  })

  test("mixed operations of every kind succeed byte-exact, and reach every instance", async () => {
    const files: Record<string, Uint8Array> = {}
    for (let i = 0; i < 6; i++) files[`misto/f${i}.txt`] = seededBytes(1000 + i * 40_000, 50 + i)
    files["grande.bin"] = seededBytes(3 * 1024 * 1024 + 5, 99)
    for (const [name, bytes] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(clientDir, name)), { recursive: true })
      await fs.writeFile(path.join(clientDir, name), bytes)
    }
    await twoAtATime(Object.keys(files), async (name) => void ok(await client(upload(name))))
    for (const [name, bytes] of Object.entries(files))
      expect(hexOf(await fs.readFile(path.join(shared, name)))).toBe(hexOf(bytes))

    const listed = ok(await client(list))
    expect(listed.entries).toEqual(
      Object.keys(files)
        .sort()
        .map((name) => ({ nome: name, tamanho: String(files[name]!.length) }))
    )

    // Downloads, until every instance has served some (bounded).
    for (
      let round = 0;
      round < 20 && !instances.every((instance) => operations(instance, "baixar").length > 0);
      round++
    ) {
      await twoAtATime(Object.keys(files), async (name) => {
        await fs.rm(path.join(clientDir, name), { force: true })
        ok(await client(download(name)))
        expect(hexOf(await fs.readFile(path.join(clientDir, name)))).toBe(hexOf(files[name]!))
      })
    }
    expect(await waitFor(() => instances.every((instance) => operations(instance, "baixar").length > 0))).toBe(true)
    for (const instance of instances)
      expect(operations(instance, "enviar").length + operations(instance, "baixar").length).toBeGreaterThan(0)

    // Resume from a partial holding the first MiB.
    await fs.rm(path.join(clientDir, "grande.bin"))
    await fs.writeFile(path.join(clientDir, "grande.bin.parcial"), files["grande.bin"]!.subarray(0, 1024 * 1024))
    ok(await client(resume("grande.bin")))
    expect(hexOf(await fs.readFile(path.join(clientDir, "grande.bin")))).toBe(hexOf(files["grande.bin"]!))

    // By mask.
    await fs.rm(path.join(clientDir, "misto"), { recursive: true })
    ok(await client(downloadMany("misto/*.txt")))
    for (let i = 0; i < 6; i++) {
      expect(hexOf(await fs.readFile(path.join(clientDir, `misto/f${i}.txt`)))).toBe(hexOf(files[`misto/f${i}.txt`]!))
    }
    // A download's line is written once the client's close reaches the instance, through the balancer.
    for (const op of ["retomar", "baixar-varios"])
      expect(await waitFor(() => instances.some((instance) => operations(instance, op).length > 0))).toBe(true)
    expect(await temporariesIn(shared)).toEqual([])
  }, 60_000)

  test("concurrent uploads of one name from many clients leave exactly one whole version and no temporary; listings and op 50 meanwhile see whole versions only", async () => {
    const versions = Array.from({ length: 24 }, (_, i) => seededBytes(200 * 1024 + i, 300 + i))
    const sizes = new Set(versions.map((bytes) => String(bytes.length)))
    const whole = new Set(versions.map(hexOf))
    let uploading = true
    const observed = { listings: 0, fetched: 0 }
    // Readers on other instances while the uploads go on: every version they see is whole.
    const readers = (async () => {
      while (uploading) {
        const { entries } = ok(await client(list))
        for (const entry of entries) {
          expect(entry.nome.startsWith(".")).toBe(false)
          if (entry.nome === "disputado.bin") expect(sizes.has(entry.tamanho)).toBe(true)
        }
        observed.listings++
        await fs.rm(path.join(clientDir, "disputado.bin"), { force: true })
        ok(await client(downloadMany("disputado.*")))
        const got = await fs.readFile(path.join(clientDir, "disputado.bin")).catch(() => undefined)
        if (got !== undefined) {
          expect(whole.has(hexOf(got))).toBe(true)
          observed.fetched++
        }
      }
    })()
    const replies = await Promise.all(
      versions.map((bytes, i) =>
        rawExchange(
          front,
          bytesOf(encodeRequest({ _tag: "Upload", name: "disputado.bin" }), u32(bytes.length), bytes),
          {
            localAddress: `127.0.0.${20 + i}`,
            limitMillis: 30_000
          }
        )
      )
    )
    uploading = false
    await readers
    expect(observed.listings).toBeGreaterThan(0)
    expect(replies.map(({ reply, timedOut }) => ({ reply: hexOf(reply), timedOut }))).toEqual(
      versions.map(() => ({ reply: "0000", timedOut: false }))
    )
    const stored = hexOf(await fs.readFile(path.join(shared, "disputado.bin")))
    expect(versions.filter((bytes) => hexOf(bytes) === stored)).toHaveLength(1)
    // They went through more than one process.
    expect(
      instances.filter((instance) => operations(instance, "enviar").some((line) => line.includes("disputado.bin")))
        .length
    ).toBeGreaterThan(1)
    expect(await waitFor(async () => (await temporariesIn(shared)).length === 0)).toBe(true)
    expect(await waitFor(async () => !(await fs.readdir(shared)).includes(MARKS_FOLDER))).toBe(true)
  }, 60_000)

  test("the log line names the real client address (127.0.0.7), not the balancer", async () => {
    await fs.writeFile(path.join(shared, "a.txt"), "hello")
    const { reply } = await rawExchange(front, encodeRequest({ _tag: "Download", name: "a.txt" }), {
      localAddress: "127.0.0.7"
    })
    expect(hexOf(reply)).toBe(hexOf(bytesOf(0, u32(5), "hello")))
    expect(
      await waitFor(() =>
        instances.some((instance) =>
          operations(instance, "baixar").some((line) => / 127\.0\.0\.7:\d+ baixar a\.txt ok 5 bytes/.test(line))
        )
      )
    ).toBe(true)
  })

  test(`--max-por-ip ${MAX_PER_ADDRESS} counts each real client: 127.0.0.7 is stopped at ${MAX_PER_ADDRESS + 1}, 127.0.0.8 is served`, async () => {
    const held = []
    try {
      for (let i = 0; i < MAX_PER_ADDRESS; i++) {
        held.push(
          await holdOpen(
            single,
            bytesOf(encodeRequest({ _tag: "Upload", name: `lento${i}.bin` }), u32(100)),
            "127.0.0.7"
          )
        )
      }
      for (const connection of held) expect(await waitFor(() => connection.received().length >= 1, 5_000)).toBe(true)
      expect(held.map((connection) => hexOf(connection.received()))).toEqual(held.map(() => "00"))
      const over = await rawExchange(single, encodeRequest({ _tag: "Download", name: "a.txt" }), {
        localAddress: "127.0.0.7",
        limitMillis: 5_000
      })
      expect(hexOf(over.reply)).toBe("01")
      await instances[0]!.stdout.waitFor(/127\.0\.0\.7:\d+ \? - recusado: limite de 4 por endereço 0 bytes 0 ms/)
      const other = await rawExchange(single, encodeRequest({ _tag: "Download", name: "a.txt" }), {
        localAddress: "127.0.0.8"
      })
      expect(hexOf(other.reply)).toBe(hexOf(bytesOf(0, u32(5), "hello")))
    } finally {
      for (const connection of held) connection.socket.destroy()
    }
    expect(await waitFor(async () => (await temporariesIn(shared)).length === 0, 5_000)).toBe(true)
  }, 30_000)

  test("a direct connection without a PROXY header is not served", async () => {
    const instance = instances[1]!
    const { reply, timedOut } = await rawExchange(instance.port, encodeRequest({ _tag: "Download", name: "a.txt" }), {
      limitMillis: 5_000
    })
    expect({ reply: hexOf(reply), timedOut }).toEqual({ reply: "", timedOut: false })
    expect(await instance.stdout.waitFor(/recusado: sem cabeçalho PROXY válido/, 3_000)).toBeTruthy()
  })

  test("an instance killed with SIGKILL mid-transfer is taken out; the others serve; its restart disturbs no upload in flight", async () => {
    const [first, second, third] = instances as [Instance, Instance, Instance]
    const body = (seed: number) => seededBytes(2 * 1024 * 1024, seed)
    // Uploads in flight on the two others (with a header, as the balancer would write it), half sent.
    const inFlight = [second, third].map(async (instance, i) => {
      const bytes = body(700 + i)
      const header = bytesOf(
        encodeProxyV2({
          source: { address: `127.0.0.${60 + i}`, port: 5000 },
          destination: { address: "127.0.0.1", port: front }
        }),
        encodeRequest({ _tag: "Upload", name: `em-voo-${i}.bin` }),
        u32(bytes.length)
      )
      const connection = await holdOpen(instance.port, bytesOf(header, bytes.subarray(0, 1024 * 1024)))
      return { connection, bytes, name: `em-voo-${i}.bin` }
    })
    const others = await Promise.all(inFlight)
    // And one through the balancer on the first instance, half sent when it dies.
    const doomed = seededBytes(2 * 1024 * 1024, 777)
    const victim = await holdOpen(
      single,
      bytesOf(
        encodeRequest({ _tag: "Upload", name: "interrompido.bin" }),
        u32(doomed.length),
        doomed.subarray(0, 1024 * 1024)
      ),
      "127.0.0.9"
    )
    try {
      expect(await waitFor(async () => (await temporariesIn(shared)).length === 3, 5_000)).toBe(true)
      const before = await temporariesIn(shared)

      first.process.kill("SIGKILL")
      await first.process.exited
      expect(await waitFor(() => victim.closed(), 5_000)).toBe(true)
      await balancer.waitStatus("instancias", "i1", "DOWN", 5_000)

      // Later operations through the balancer succeed on the others.
      await fs.writeFile(path.join(clientDir, "depois.txt"), "depois da queda")
      for (let i = 0; i < 6; i++) {
        ok(await client(upload("depois.txt")))
        await fs.rm(path.join(clientDir, "depois.txt"))
        ok(await client(download("depois.txt")))
        expect(await fs.readFile(path.join(clientDir, "depois.txt"), "utf8")).toBe("depois da queda")
      }

      // Restarted on the same port and folder: its start-up sweep takes only the dead process's temporary.
      const restarted = await startInstance(first.port, instanceArgs(0))
      instances[0] = restarted
      const after = await temporariesIn(shared)
      expect(after).toHaveLength(2)
      expect(before.filter((name) => !after.includes(name))).toHaveLength(1)
      expect(await fs.readdir(shared)).not.toContain("interrompido.bin")

      // The uploads in flight on the others finish whole.
      for (const { connection, bytes } of others) connection.socket.write(bytes.subarray(1024 * 1024))
      for (const { connection } of others)
        expect(await waitFor(() => connection.received().length >= 2, 10_000)).toBe(true)
      expect(others.map(({ connection }) => hexOf(connection.received()))).toEqual(["0000", "0000"])
      for (const { bytes, name } of others) expect(hexOf(await fs.readFile(path.join(shared, name)))).toBe(hexOf(bytes))

      // The health check brings it back, and it serves again.
      await balancer.waitStatus("primeira", "i1", "UP", 10_000)
      const { reply } = await rawExchange(single, encodeRequest({ _tag: "Download", name: "a.txt" }), {
        localAddress: "127.0.0.9"
      })
      expect(hexOf(reply)).toBe(hexOf(bytesOf(0, u32(5), "hello")))
      expect(await temporariesIn(shared)).toEqual([])
    } finally {
      victim.socket.destroy()
      for (const { connection } of others) connection.socket.destroy()
    }
  }, 60_000)
  test("an instance stopped with SIGTERM answers 503 on /saude through its drain: HAProxy takes it out before it closes", async () => {
    const third = instances[2]!
    const bytes = seededBytes(64 * 1024, 901)
    // An upload in flight on it, half sent: it holds the drain open.
    const held = await holdOpen(
      third.port,
      bytesOf(
        encodeProxyV2({
          source: { address: "127.0.0.70", port: 5000 },
          destination: { address: "127.0.0.1", port: front }
        }),
        encodeRequest({ _tag: "Upload", name: "drenando.bin" }),
        u32(bytes.length),
        bytes.subarray(0, 1024)
      )
    )
    try {
      await third.stdout.waitFor(/Ctrl\+C/)
      // In flight once accepted (its first status): a SIGTERM before the server read the request would find none.
      expect(await waitFor(() => held.received().length >= 1, 5_000)).toBe(true)
      third.process.kill("SIGTERM")
      await third.stdout.waitFor(/Encerrando: novas conexões recusadas; aguardando 1 operação/, 5_000)
      await balancer.waitStatus("instancias", "i3", "DOWN", 4_000)
      // Taken out while it still drains.
      expect(third.process.exitCode).toBeNull()
      held.socket.write(bytes.subarray(1024))
      expect(await waitFor(() => held.received().length >= 2, 5_000)).toBe(true)
      expect(hexOf(held.received())).toBe("0000")
      expect(await third.process.exited).toBe(0)
    } finally {
      held.socket.destroy()
    }
  }, 30_000)
})

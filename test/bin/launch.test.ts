import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { cacheDirs, compiled, compiledIn, fingerprint, type LaunchPlan } from "../../bin/launch.ts"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A tiny project: an entry that imports a second module and prints what it exports. */
const project = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "launch-"))
  dirs.push(dir)
  const src = path.join(dir, "src")
  Bun.spawnSync(["mkdir", "-p", src])
  writeFileSync(path.join(src, "word.ts"), `export const word: string = "primeira"\n`)
  writeFileSync(path.join(src, "main.ts"), `import { word } from "./word.ts"\nconsole.log(word)\n`)
  const plan: LaunchPlan = {
    name: "prog",
    entry: path.join(src, "main.ts"),
    sources: [src],
    cacheDir: path.join(dir, "cache")
  }
  return { dir, src, plan }
}

const runOutput = (file: string) => {
  const result = Bun.spawnSync([process.execPath, file], { stdout: "pipe", stderr: "pipe", timeout: 20_000 })
  return result.stdout.toString().trim()
}

/** Moves a file's mtime forward, so a change is seen even within the same clock tick. */
const touchLater = (file: string) => {
  const later = new Date(statSync(file).mtimeMs + 5_000)
  utimesSync(file, later, later)
}

describe("bin/launch: the compiled copy of an entry point", () => {
  test("the first launch builds a bundle with its bytecode, and the bundle runs like the source", async () => {
    const { plan } = project()
    const output = await compiled(plan)
    expect(output).toBe(path.join(plan.cacheDir, "prog.js"))
    expect(existsSync(`${output}.jsc`)).toBe(true)
    expect(runOutput(output!)).toBe("primeira")
    // No build folder is left behind.
    expect(Bun.spawnSync(["ls", "-A", plan.cacheDir]).stdout.toString().split("\n").filter(Boolean).sort()).toEqual([
      "prog.js",
      "prog.js.jsc",
      "prog.stamp"
    ])
  }, 30_000)

  test("an unchanged source reuses the copy without building again", async () => {
    const { plan } = project()
    const output = await compiled(plan)
    const builtAt = statSync(output!).mtimeMs
    const stamp = readFileSync(path.join(plan.cacheDir, "prog.stamp"), "utf8")
    await Bun.sleep(20)
    expect(await compiled(plan)).toBe(output)
    expect(statSync(output!).mtimeMs).toBe(builtAt)
    expect(readFileSync(path.join(plan.cacheDir, "prog.stamp"), "utf8")).toBe(stamp)
  }, 30_000)

  test("a change to an imported module makes the copy stale, and the next launch rebuilds it", async () => {
    const { src, plan } = project()
    expect(runOutput((await compiled(plan))!)).toBe("primeira")
    const word = path.join(src, "word.ts")
    writeFileSync(word, `export const word: string = "segunda"\n`)
    touchLater(word)
    expect(runOutput((await compiled(plan))!)).toBe("segunda")
  }, 30_000)

  test("a new file in a source folder changes the fingerprint", () => {
    const { src } = project()
    const before = fingerprint([src])
    expect(fingerprint([src])).toBe(before)
    writeFileSync(path.join(src, "extra.ts"), "export {}\n")
    expect(fingerprint([src])).not.toBe(before)
  })

  test("an entry that does not build gives undefined (the caller runs the source) and leaves no build folder", async () => {
    const { src, plan } = project()
    writeFileSync(path.join(src, "main.ts"), `import { nothing } from "./missing.ts"\nconsole.log(nothing)\n`)
    expect(await compiled(plan)).toBeUndefined()
    expect(existsSync(path.join(plan.cacheDir, "prog.stamp"))).toBe(false)
    expect(Bun.spawnSync(["ls", "-A", plan.cacheDir]).stdout.toString().trim()).toBe("")
  }, 30_000)
})

describe("bin/cliente.ts and bin/servidor.ts", () => {
  test.each([
    // Each names itself as it was started: here, bun and the launcher.
    ["bin/cliente.ts", "Uso: bun bin/cliente.ts"],
    ["bin/servidor.ts", "Uso: bun bin/servidor.ts"]
  ])(
    "%s runs the program compiled, with its own arguments",
    (launcher, usage) => {
      const cache = mkdtempSync(path.join(tmpdir(), "launch-cache-"))
      dirs.push(cache)
      const run = () =>
        Bun.spawnSync([process.execPath, launcher, "--ajuda"], {
          env: { ...process.env, ARQUIVOS_CACHE: cache },
          stdout: "pipe",
          stderr: "pipe",
          timeout: 30_000
        })
      const first = run()
      expect(first.exitCode).toBe(0)
      expect(first.stdout.toString()).toStartWith(usage)
      const name = path.basename(launcher, ".ts")
      expect(existsSync(path.join(cache, `${name}.js.jsc`))).toBe(true)
      const second = run()
      expect(second.stdout.toString()).toBe(first.stdout.toString())
    },
    60_000
  )
})

describe("where the compiled copy lives", () => {
  test("ARQUIVOS_CACHE alone when set; else node_modules/.cache, then the user's cache folder named after the checkout", () => {
    expect(cacheDirs({ ARQUIVOS_CACHE: "/x" })).toEqual(["/x"])
    const [project, user] = cacheDirs({ HOME: "/home/ana" })
    expect(project).toEndWith(path.join("node_modules", ".cache", "arquivos-tcp"))
    expect(user).toMatch(/^\/home\/ana\/\.cache\/arquivos-tcp\/\d+$/)
    expect(cacheDirs({ HOME: "/home/ana", XDG_CACHE_HOME: "/var/cache/ana" })[1]).toStartWith(
      "/var/cache/ana/arquivos-tcp/"
    )
    expect(cacheDirs({})).toHaveLength(1)
  })

  test("a cache folder that cannot be written falls through to the next one, which gets the copy", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "launch-fallback-"))
    dirs.push(dir)
    // A folder under a regular file cannot be created, whoever runs the test (root included).
    const blocker = path.join(dir, "arquivo")
    writeFileSync(blocker, "")
    const found = await compiledIn("cliente", "src/programs/client/main.ts", [
      path.join(blocker, "cache"),
      path.join(dir, "user")
    ])
    expect(found.output).toBe(path.join(dir, "user", "cliente.js"))
    expect(existsSync(path.join(dir, "user", "cliente.js.jsc"))).toBe(true)
    const none = await compiledIn("cliente", "src/programs/client/main.ts", [path.join(blocker, "cache")])
    expect(none.output).toBeUndefined()
    expect(none.entry).toEndWith("src/programs/client/main.ts")
  }, 60_000)
})

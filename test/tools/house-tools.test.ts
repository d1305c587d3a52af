import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { ROOT, run } from "../bin/processes.ts"

/**
 * The house tools that .ci/run runs: Biome (`npm run lint`) and the Effect
 * language service's diagnostics (`npm run diagnostics`). Each is shown to
 * catch what it is there for, on a probe file in a scratch folder (which the
 * project's own runs do not include).
 */

const SCRATCH = path.join(ROOT, ".scratch", `house-tools-${process.pid}`)
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }))

const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
const tsconfig = JSON.parse(readFileSync(path.join(ROOT, "tsconfig.json"), "utf8")) as {
  compilerOptions: Record<string, unknown>
}
const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name)

describe("tsconfig", () => {
  test("loads @effect/language-service and refuses unused locals and parameters", () => {
    expect(tsconfig.compilerOptions.plugins).toEqual([{ name: "@effect/language-service" }])
    expect(tsconfig.compilerOptions.noUnusedLocals).toBe(true)
    expect(tsconfig.compilerOptions.noUnusedParameters).toBe(true)
  })
})

describe("Effect language service diagnostics", () => {
  test("npm run diagnostics checks the whole project", () => {
    expect(pkg.scripts.diagnostics).toBe("effect-language-service diagnostics --project tsconfig.json --format text")
  })

  test("an Effect that is neither yielded nor used is an error", async () => {
    mkdirSync(SCRATCH, { recursive: true })
    writeFileSync(
      path.join(SCRATCH, "tsconfig.json"),
      JSON.stringify({ extends: "../../tsconfig.json", include: ["probe.ts"] })
    )
    writeFileSync(
      path.join(SCRATCH, "probe.ts"),
      [
        'import * as Effect from "effect/Effect"',
        "",
        "export const program = Effect.gen(function* () {",
        '  Effect.log("nunca roda")',
        "  yield* Effect.void",
        "})",
        ""
      ].join("\n")
    )
    const result = await run(
      [
        bin("effect-language-service"),
        "diagnostics",
        "--project",
        path.join(SCRATCH, "tsconfig.json"),
        "--format",
        "text"
      ],
      {
        millis: 120_000
      }
    )
    expect(result.stdout).toContain("probe.ts(4,3): error effect(floatingEffect)")
    expect(result.code).not.toBe(0)
  }, 130_000)
})

describe("Biome", () => {
  test("npm run lint runs biome check on the project", () => {
    expect(pkg.scripts.lint).toBe("biome check .")
  })

  test("the house style: no semicolons, double quotes, 2 spaces; a lint error fails", async () => {
    // The project's configuration in a folder of its own (no git there, so no ignore file), with a probe.
    const dir = mkdtempSync(path.join(tmpdir(), "biome-"))
    try {
      const config = JSON.parse(readFileSync(path.join(ROOT, "biome.json"), "utf8")) as Record<string, unknown>
      delete config.$schema
      writeFileSync(path.join(dir, "biome.json"), JSON.stringify({ ...config, vcs: { enabled: false } }))
      const probe = path.join(dir, "estilo.ts")
      writeFileSync(probe, "export const a = 'x';\nexport const b = (c: number) => {\n    return c == 1\n}\n")
      const checked = await run([bin("biome"), "check", "estilo.ts"], { cwd: dir, millis: 60_000 })
      const output = checked.stdout + checked.stderr
      expect(checked.code).not.toBe(0)
      expect(output).toContain("lint/suspicious/noDoubleEquals")
      expect(output).toContain("format")
      const formatted = await run([bin("biome"), "format", "--write", "estilo.ts"], { cwd: dir, millis: 60_000 })
      expect(formatted.code).toBe(0)
      expect(readFileSync(probe, "utf8")).toBe(
        'export const a = "x"\nexport const b = (c: number) => {\n  return c == 1\n}\n'
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 70_000)
})

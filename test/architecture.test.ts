import { describe, expect, test } from "bun:test"
import { readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"

/**
 * The shape of the code, checked: no import cycle among the sources, every
 * declared dependency imported somewhere, the transport free of what belongs
 * to the programs, and each operation registered once.
 */

const ROOT = path.resolve(import.meta.dir, "..")
const SRC = path.join(ROOT, "src")

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry)
    return statSync(full).isDirectory() ? filesUnder(full) : full.endsWith(".ts") ? [full] : []
  })

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^"'`;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g

/** The specifiers a file imports or re-exports from. */
const specifiersOf = (file: string): Array<string> =>
  [...readFileSync(file, "utf8").matchAll(IMPORT)].map((match) => (match[1] ?? match[2])!)

/** The project files a file imports (relative specifiers, resolved). */
const localImportsOf = (file: string): Array<string> =>
  specifiersOf(file)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => path.resolve(path.dirname(file), specifier))

/** Every cycle in the graph, each as the path that closes it (empty when there is none). */
const cyclesIn = (graph: Map<string, Array<string>>): Array<Array<string>> => {
  const cycles: Array<Array<string>> = []
  const state = new Map<string, "visiting" | "done">()
  const stack: Array<string> = []
  const visit = (node: string) => {
    state.set(node, "visiting")
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "visiting") cycles.push([...stack.slice(stack.indexOf(next)), next])
      else if (state.get(next) === undefined) visit(next)
    }
    stack.pop()
    state.set(node, "done")
  }
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node)
  return cycles
}

const sources = filesUnder(SRC)
const graph = new Map(sources.map((file) => [file, localImportsOf(file)]))
const relative = (file: string) => path.relative(ROOT, file)

describe("the shape of the code", () => {
  test("the cycle finder finds a planted cycle (a → b → a), and none in a chain", () => {
    expect(
      cyclesIn(
        new Map([
          ["a", ["b"]],
          ["b", ["a"]]
        ])
      )
    ).toEqual([["a", "b", "a"]])
    expect(
      cyclesIn(
        new Map([
          ["a", ["b"]],
          ["b", ["c"]],
          ["c", []]
        ])
      )
    ).toEqual([])
  })

  test("no import cycle in src/", () => {
    expect(sources.length).toBeGreaterThan(50)
    expect(cyclesIn(graph).map((cycle) => cycle.map(relative).join(" → "))).toEqual([])
  })

  test("every declared dependency is imported by src/ or bin/", () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>
    }
    const imported = new Set(
      [...sources, ...filesUnder(path.join(ROOT, "bin"))]
        .flatMap(specifiersOf)
        .filter((specifier) => !specifier.startsWith(".") && !specifier.startsWith("node:"))
        .map((specifier) =>
          specifier
            .split("/")
            .slice(0, specifier.startsWith("@") ? 2 : 1)
            .join("/")
        )
    )
    const unused = Object.keys(manifest.dependencies ?? {}).filter((name) => !imported.has(name))
    expect(unused).toEqual([])
  })

  test("the transport moves bytes: it imports nothing of the programs, the protocol's rules or the log", () => {
    const transport = sources.filter((file) => file.includes(`${path.sep}services${path.sep}transport${path.sep}`))
    expect(transport.length).toBeGreaterThan(5)
    const reaching = transport.flatMap((file) =>
      localImportsOf(file)
        .filter(
          (target) =>
            target.includes(`${path.sep}programs${path.sep}`) ||
            /domain[/\\](operations|grammars|statuses|describe|names|messages)\.ts$/.test(target)
        )
        .map((target) => `${relative(file)} → ${relative(target)}`)
    )
    expect(reaching).toEqual([])
    // No answer, limit or log line is written by the transport itself.
    const speaking = transport.filter((file) =>
      /Effect\.log|console\.|encodeStatus|Status\./.test(readFileSync(file, "utf8"))
    )
    expect(speaking.map(relative)).toEqual([])
  })

  test("each opcode has one operation, one handler and one reply grammar", async () => {
    const { OPERATIONS, operationOf } = await import("../src/domain/operations.ts")
    const { HANDLERS } = await import("../src/programs/server/handlers/index.ts")
    const { Opcode } = await import("../src/domain/protocol.ts")
    const tags = Object.keys(OPERATIONS).sort()
    expect(Object.keys(HANDLERS).sort()).toEqual(tags)
    expect(
      Object.values(OPERATIONS)
        .map((operation) => operation.opcode)
        .sort()
    ).toEqual(Object.values(Opcode).sort())
    for (const opcode of Object.values(Opcode)) expect(operationOf(opcode)?.opcode).toBe(opcode)
    expect(new Set(Object.values(OPERATIONS).map((operation) => operation.word)).size).toBe(tags.length)
  })
})

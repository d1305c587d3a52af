import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { JsonLogger, loggerFor, operationFields, PlainLogger } from "../../src/programs/logger.ts"
import { flushLogLines, logOutput } from "../../src/programs/logLines.ts"

/** The two log formats of the server: the text line (default) and `--log json`. */

let printed: Array<string>
const stdout = logOutput.write
beforeEach(() => {
  printed = []
  logOutput.write = (text) => void printed.push(...text.slice(0, -1).split("\n"))
})
afterEach(() => {
  logOutput.write = stdout
})

/** Runs `effect`, then writes the lines it queued for the end of this turn. */
const runLogged = (effect: Effect.Effect<void>) => {
  Effect.runSync(effect)
  flushLogLines()
}

const fields = operationFields({
  started: Date.UTC(2026, 10, 25, 16, 13, 13, 932),
  client: "127.0.0.1:46190",
  op: "baixar",
  name: "fotos/á b.jpg",
  result: "ok",
  bytes: 6,
  millis: 32
})
const line = "2026-11-25T16:13:13.932Z 127.0.0.1:46190 baixar fotos/á b.jpg ok 6 bytes 32 ms"
const logged = Effect.logInfo(line).pipe(Effect.annotateLogs(fields))

describe("server logs", () => {
  test("texto: the line as written, nothing else", () => {
    runLogged(logged.pipe(Effect.provide(PlainLogger)))
    expect(printed).toEqual([line])
  })

  test("json: one object with the operation's fields, in order", () => {
    runLogged(logged.pipe(Effect.provide(JsonLogger)))
    expect(printed).toHaveLength(1)
    expect(printed[0]).toBe(
      '{"hora":"2026-11-25T16:13:13.932Z","cliente":"127.0.0.1:46190","op":"baixar","nome":"fotos/á b.jpg","resultado":"ok","bytes":6,"ms":32}'
    )
  })

  test("json: a request that never arrived has op and name null", () => {
    const unknown = operationFields({
      started: 0,
      client: "[::1]:5",
      op: "?",
      name: "-",
      result: "falha",
      bytes: 0,
      millis: 1
    })
    expect([unknown.op, unknown.nome]).toEqual([null, null])
  })

  test("json: a line without fields (a refusal's own fields aside) is the time and the message", () => {
    runLogged(Effect.logInfo("outra coisa").pipe(Effect.provide(JsonLogger)))
    const record = JSON.parse(printed[0]!) as Record<string, unknown>
    expect(Object.keys(record)).toEqual(["hora", "mensagem"])
    expect(record.mensagem).toBe("outra coisa")
    printed.length = 0
    runLogged(
      Effect.logInfo("x").pipe(
        Effect.annotateLogs({ hora: "h", cliente: "127.0.0.2:9", resultado: "recusado" }),
        Effect.provide(JsonLogger)
      )
    )
    expect(JSON.parse(printed[0]!)).toEqual({ hora: "h", cliente: "127.0.0.2:9", resultado: "recusado" })
  })

  test("loggerFor picks the format", () => {
    expect(loggerFor("json")).toBe(JsonLogger)
    expect(loggerFor("texto")).toBe(PlainLogger)
  })
})

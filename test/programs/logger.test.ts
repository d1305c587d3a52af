import { afterEach, beforeEach, describe, expect, spyOn, test } from "bun:test"
import { Effect } from "effect"
import { JsonLogger, loggerFor, operationFields, PlainLogger } from "../../src/programs/logger.ts"

/** The two log formats of the server: the text line (default) and `--log json`. */

let printed: Array<string>
let spy: ReturnType<typeof spyOn>
beforeEach(() => {
  printed = []
  spy = spyOn(console, "log").mockImplementation(
    (...args: Array<unknown>) => void printed.push(args.map(String).join(" "))
  )
})
afterEach(() => spy.mockRestore())

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
    Effect.runSync(logged.pipe(Effect.provide(PlainLogger)))
    expect(printed).toEqual([line])
  })

  test("json: one object with the level, the event and the operation's fields, in order", () => {
    Effect.runSync(logged.pipe(Effect.annotateLogs({ evento: "operacao" }), Effect.provide(JsonLogger)))
    expect(printed).toHaveLength(1)
    expect(printed[0]).toBe(
      '{"hora":"2026-11-25T16:13:13.932Z","nivel":"info","evento":"operacao","cliente":"127.0.0.1:46190","op":"baixar","nome":"fotos/á b.jpg","resultado":"ok","bytes":6,"ms":32}'
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

  test("json: a line without fields is the time, the level, the event and the message", () => {
    Effect.runSync(Effect.logInfo("outra coisa").pipe(Effect.provide(JsonLogger)))
    const record = JSON.parse(printed[0]!) as Record<string, unknown>
    expect(record).toEqual({ hora: record.hora, nivel: "info", evento: "mensagem", mensagem: "outra coisa" })
    printed.length = 0
    Effect.runSync(Effect.logError("quebrou", new Error("x")).pipe(Effect.provide(JsonLogger)))
    expect(JSON.parse(printed[0]!)).toMatchObject({ nivel: "erro", evento: "erro" })
    printed.length = 0
    Effect.runSync(
      Effect.logWarning("x").pipe(
        Effect.annotateLogs({ hora: "h", evento: "recusa", cliente: "127.0.0.2:9", resultado: "recusado" }),
        Effect.provide(JsonLogger)
      )
    )
    // A refusal's fields say it all: no mensagem.
    expect(printed[0]).toBe(
      '{"hora":"h","nivel":"aviso","evento":"recusa","cliente":"127.0.0.2:9","resultado":"recusado"}'
    )
  })

  test("loggerFor picks the format", () => {
    expect(loggerFor("json")).toBe(JsonLogger)
    expect(loggerFor("texto")).toBe(PlainLogger)
  })
})

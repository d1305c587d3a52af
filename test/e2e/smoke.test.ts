import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFile, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { Exit } from "effect"
import { download } from "../../src/programs/client/download.ts"
import { list } from "../../src/programs/client/list.ts"
import { startServer, type TestServer } from "../support/harness.ts"
import { eventually } from "../support/waiting.ts"

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server.close())

describe("smoke", () => {
  test("download and list", async () => {
    await writeFile(path.join(server.serverDir, "a.txt"), "hello")
    const exit = await server.client(download("a.txt"))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(await readFile(path.join(server.clientDir, "a.txt"), "utf8")).toBe("hello")
    const listed = await server.client(list)
    expect(listed).toEqual(
      Exit.succeed({ entries: [{ nome: "a.txt", tamanho: "5" }], json: '[{"nome":"a.txt","tamanho":"5"}]' })
    )
    // A download's line is written once the client's close reaches the server.
    expect(await eventually(() => server.logs.length === 2, { millis: 2_000 })).toBe(true)
  })
})

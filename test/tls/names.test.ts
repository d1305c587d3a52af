import { describe, expect, test } from "bun:test"
import { clientWord, formatLogLine } from "../../src/programs/server/logLine.ts"
import { subjectName } from "../../src/services/transport/bunTls.ts"

/** How a client certificate is named in the log: its CN, or its whole subject without one; quoted like a file name. */
describe("the certificate's name in the log line", () => {
  test.each([
    [{ CN: "ana", O: "Turma" }, "ana"],
    [{ O: "Escola", OU: "Turma A" }, "O=Escola,OU=Turma A"],
    [{ CN: ["primeiro", "segundo"] }, "primeiro"],
    [{ CN: "", O: "Escola" }, "O=Escola"],
    [{}, undefined],
    [undefined, undefined]
  ] as const)("%j → %j", (subject, name) => {
    expect(subjectName(subject)).toBe(name)
  })

  test("the CLIENT word: NAME@ADDRESS:PORT, the name quoted when it has a space; the address alone without one", () => {
    expect(clientWord("10.0.0.7:5000", "ana")).toBe("ana@10.0.0.7:5000")
    expect(clientWord("[::1]:5000", "Prof Maria")).toBe('"Prof Maria"@[::1]:5000')
    expect(clientWord("10.0.0.7:5000", undefined)).toBe("10.0.0.7:5000")
    const line = formatLogLine(
      0,
      clientWord("10.0.0.7:5000", "ana"),
      { op: "listar", name: "-", bytes: 9, result: "ok" },
      3
    )
    // The last four words are still the counts; the second is still the client.
    expect(line.split(" ")).toEqual([
      "1970-01-01T00:00:00.000Z",
      "ana@10.0.0.7:5000",
      "listar",
      "-",
      "ok",
      "9",
      "bytes",
      "3",
      "ms"
    ])
  })
})

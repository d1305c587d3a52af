import { describe, expect, test } from "bun:test"
import { Effect, Either, Exit, Scope } from "effect"
import { parseCidr } from "../../src/domain/cidr.ts"
import { encodeRequest } from "../../src/domain/operations.ts"
import { fullDiskAfter, systemFailure } from "../../src/services/FileStoreMemory.ts"
import { be32, bytesOf, hexOf, named, seededBytes } from "../support/hostile.ts"
import { md5 } from "../support/md5.ts"
import { exchange, inMemory, readBytes, settle, type World, type WorldOptions } from "../support/memory.ts"

/**
 * Every handler of the real server (`serveFolder`), in process: raw requests
 * over the in-memory transport, the served folder in memory. Each case checks
 * the reply byte for byte, the folder afterwards and the operation's log line.
 */

const golden = (...parts: ReadonlyArray<Uint8Array | string | number>) => hexOf(bytesOf(...parts))
const utf8 = (text: string) => new TextEncoder().encode(text)

const download = (name: string) => encodeRequest({ _tag: "Download", name })
const uploadOf = (name: string, body: Uint8Array | string) =>
  bytesOf(
    encodeRequest({ _tag: "Upload", name }),
    be32(typeof body === "string" ? utf8(body).length : body.length),
    body
  )
const resumeOf = (name: string, position: number, hash: Uint8Array) =>
  encodeRequest({ _tag: "Resume", name, position, md5: hash })
const many = (mask: string) => encodeRequest({ _tag: "DownloadMany", mask })

/** The reply to one request, in hex, and the server's log. */
const ask = (options: WorldOptions, request: Uint8Array) =>
  inMemory(options, (world) =>
    Effect.map(exchange(world, request), (reply) => ({
      reply: hexOf(reply),
      logs: world.logs,
      files: Object.fromEntries(
        [...world.server.files].map(([name, bytes]) => [name, new TextDecoder().decode(bytes)])
      ),
      temporaries: world.server.temporaries()
    }))
  )

const FILES = { "a.txt": "hello", "dir/b.txt": "bee" }

describe("download (op 10)", () => {
  test("a small file: 00, size, data; one log line", async () => {
    const { reply, logs } = await ask({ serverFiles: FILES }, download("a.txt"))
    expect(reply).toBe(golden(0, be32(5), "hello"))
    expect(logs).toEqual([expect.stringMatching(/ 127\.0\.0\.1:\d+ baixar a\.txt ok 5 bytes 0 ms$/)])
  })

  test("a large file sent through the pump, the request arriving byte by byte and the reply in small pieces", async () => {
    const body = seededBytes(1024 * 1024 + 1, 3)
    await inMemory(
      {
        serverFiles: { "grande.bin": body },
        links: { toServer: { segments: 1 }, toClient: { segments: 1500, capacity: 4096 } }
      },
      (world) =>
        Effect.gen(function* () {
          const reply = yield* exchange(world, download("grande.bin"))
          expect(hexOf(reply.subarray(0, 5))).toBe(golden(0, be32(body.length)))
          expect(reply.subarray(5)).toEqual(body)
          expect(world.logged(`baixar grande.bin ok ${body.length} bytes`).length).toBe(1)
        })
    )
  })

  test("a missing file, a folder, a hidden or escaping name: 01, and the log says why", async () => {
    const cases = [
      ["nada.txt", "baixar nada.txt falha: nada.txt: não existe 0 bytes"],
      ["dir", "baixar dir falha: dir: não é um arquivo comum 0 bytes"],
      [".oculto", "baixar .oculto falha: fora do protocolo"],
      ["../fora.txt", "baixar ../fora.txt falha: fora do protocolo"]
    ] as const
    for (const [name, line] of cases) {
      const { reply, logs } = await ask({ serverFiles: FILES }, download(name))
      expect({ name, reply }).toEqual({ name, reply: "01" })
      expect(logs).toEqual([expect.stringContaining(line)])
    }
  })

  test("a read that fails once the data has started: the reply stops short and the connection closes", async () => {
    const body = seededBytes(300_000, 4)
    const { reply, logs } = await ask(
      {
        serverFiles: { "ruim.bin": body },
        serverStore: {
          fail: (at) =>
            at.operation === "read" && (at.offset ?? 0) >= 128 * 1024 ? systemFailure(at.name, "Io", "EIO") : undefined
        }
      },
      download("ruim.bin")
    )
    expect(reply.slice(0, 10)).toBe(golden(0, be32(body.length)))
    expect(reply.length / 2 - 5).toBe(128 * 1024)
    expect(logs).toEqual([
      expect.stringContaining("baixar ruim.bin falha: ruim.bin: erro de leitura ou escrita (erro de entrada e saída)")
    ])
  })
})

describe("list (op 20)", () => {
  test("00, length, the JSON listing of every file, sorted; the log counts them", async () => {
    const json = '[{"nome":"a.txt","tamanho":"5"},{"nome":"dir/b.txt","tamanho":"3"}]'
    const { reply, logs } = await ask({ serverFiles: FILES }, Uint8Array.of(20))
    expect(reply).toBe(golden(0, be32(json.length), json))
    expect(logs).toEqual([expect.stringContaining(`listar - ok (2 arquivos) ${json.length} bytes`)])
  })

  test("an empty folder lists as []", async () => {
    expect((await ask({}, Uint8Array.of(20))).reply).toBe(golden(0, be32(2), "[]"))
  })

  test("a folder that cannot be read: 01", async () => {
    const { reply, logs } = await ask(
      {
        serverStore: {
          fail: (at) => (at.operation === "list" ? systemFailure(".", "PermissionDenied", "EACCES") : undefined)
        }
      },
      Uint8Array.of(20)
    )
    expect(reply).toBe("01")
    expect(logs).toEqual([expect.stringContaining("listar - falha: .: sem permissão 0 bytes")])
  })
})

describe("upload (op 30)", () => {
  test("stored under its name (a new subfolder too): 00 00, nothing temporary left", async () => {
    const { reply, logs, files, temporaries } = await ask(
      { serverFiles: FILES, links: { toServer: { segments: 3 } } },
      uploadOf("nova/pasta/x.txt", "dados")
    )
    expect(reply).toBe("0000")
    expect(files["nova/pasta/x.txt"]).toBe("dados")
    expect(temporaries).toEqual([])
    expect(logs).toEqual([expect.stringContaining("enviar nova/pasta/x.txt ok 5 bytes")])
  })

  test("an existing file is replaced; an empty upload stores an empty file", async () => {
    const replaced = await ask({ serverFiles: FILES }, uploadOf("a.txt", "novo"))
    expect([replaced.reply, replaced.files["a.txt"]]).toEqual(["0000", "novo"])
    const empty = await ask({}, uploadOf("vazio.txt", ""))
    expect([empty.reply, empty.files["vazio.txt"]]).toEqual(["0000", ""])
  })

  test("the disk fills up in the middle of the data: 00 01, no file and no temporary left", async () => {
    const body = seededBytes(200_000, 5)
    const { reply, logs, files, temporaries } = await ask(
      { serverStore: { fail: fullDiskAfter(64 * 1024) } },
      uploadOf("cheio.bin", body)
    )
    expect(reply).toBe("0001")
    expect(files).toEqual({})
    expect(temporaries).toEqual([])
    expect(logs).toEqual([expect.stringContaining("enviar cheio.bin falha: cheio.bin: sem espaço em disco")])
  })

  test("a size over the free space is refused before any data (00 01); the client need not send it", async () => {
    await inMemory({ serverStore: { capacity: 1000 } }, (world) =>
      Effect.gen(function* () {
        const connection = yield* world.connect()
        // The name and the size only: the refusal must not wait for data.
        yield* connection.write(bytesOf(encodeRequest({ _tag: "Upload", name: "grande.bin" }), be32(5000)))
        expect(hexOf(yield* readBytes(connection, 2))).toBe("0001")
        expect(world.server.temporaries()).toEqual([])
        expect(
          world.logged("enviar grande.bin falha: grande.bin: sem espaço em disco (5000 bytes; há 1000 livres)").length
        ).toBe(1)
      })
    )
  })

  test("--tamanho-maximo: a larger size is refused before any data (00 01)", async () => {
    const { reply, logs, files } = await ask({ settings: { maxUploadBytes: 4 } }, uploadOf("x.txt", "12345"))
    expect(reply).toBe("0001")
    expect(files).toEqual({})
    expect(logs).toEqual([
      expect.stringContaining("enviar x.txt falha: x.txt: é grande demais (5 bytes; o limite é 4)")
    ])
    expect((await ask({ settings: { maxUploadBytes: 4 } }, uploadOf("x.txt", "1234"))).reply).toBe("0000")
  })

  test("--somente-leitura: 01 at the first status, nothing stored", async () => {
    const { reply, logs, files } = await ask(
      { serverFiles: FILES, settings: { readOnly: true } },
      uploadOf("x.txt", "a")
    )
    expect(reply).toBe("01")
    expect(files["x.txt"]).toBeUndefined()
    expect(logs).toEqual([
      expect.stringContaining("enviar x.txt falha: x.txt: sem permissão (o servidor está em modo somente leitura)")
    ])
  })

  test("--sem-sobrescrever: an existing name gets 01; a new one is stored", async () => {
    const options = { serverFiles: FILES, settings: { noOverwrite: true } }
    const existing = await ask(options, uploadOf("a.txt", "outro"))
    expect([existing.reply, existing.files["a.txt"]]).toEqual(["01", "hello"])
    expect((await ask(options, uploadOf("novo.txt", "n"))).reply).toBe("0000")
  })

  test("a name that is a folder, or lies under a file: 01, nothing changes", async () => {
    for (const name of ["dir", "a.txt/x"]) {
      const { reply, files } = await ask({ serverFiles: FILES }, uploadOf(name, "x"))
      expect({ name, reply, files }).toEqual({ name, reply: "01", files: FILES })
    }
  })

  test("the commit fails: 00 01, no file", async () => {
    const { reply, files } = await ask(
      { serverStore: { fail: (at) => (at.operation === "commit" ? systemFailure(at.name, "Io", "EIO") : undefined) } },
      uploadOf("x.txt", "abc")
    )
    expect([reply, files]).toEqual(["0001", {}])
  })

  test("a client that goes away in the middle of the data: logged as a cancel, nothing stored", async () => {
    await inMemory({}, (world) =>
      Effect.gen(function* () {
        const connection = yield* world.connect()
        yield* connection.write(bytesOf(encodeRequest({ _tag: "Upload", name: "meio.bin" }), be32(1000), "parte"))
        expect(hexOf(yield* readBytes(connection, 1))).toBe("00")
        world.lastLink().reset()
        yield* settle
        expect(
          world.logged("enviar meio.bin cancelado: o cliente fechou a conexão no meio da operação 5 bytes").length
        ).toBe(1)
        expect(world.server.files.size).toBe(0)
        expect(world.server.temporaries()).toEqual([])
      })
    )
  })
})

describe("resume (op 40)", () => {
  test("the right MD5: 00 00, the remaining size, the rest; the log notes the position", async () => {
    const { reply, logs } = await ask({ serverFiles: FILES }, resumeOf("a.txt", 2, md5("he")))
    expect(reply).toBe(golden(0, 0, be32(3), "llo"))
    expect(logs).toEqual([expect.stringContaining("retomar a.txt ok (a partir de 2) 3 bytes")])
  })

  test("from 0 and from the end", async () => {
    expect((await ask({ serverFiles: FILES }, resumeOf("a.txt", 0, md5("")))).reply).toBe(
      golden(0, 0, be32(5), "hello")
    )
    expect((await ask({ serverFiles: FILES }, resumeOf("a.txt", 5, md5("hello")))).reply).toBe(golden(0, 0, be32(0)))
  })

  test("a missing file: 00 0a", async () => {
    const { reply, logs } = await ask({ serverFiles: FILES }, resumeOf("nada.txt", 0, md5("")))
    expect(reply).toBe("000a")
    expect(logs).toEqual([expect.stringContaining("retomar nada.txt falha: nada.txt: não existe")])
  })

  test("another MD5, or a position past the end: 00 14", async () => {
    const wrong = await ask({ serverFiles: FILES }, resumeOf("a.txt", 2, md5("xx")))
    expect(wrong.reply).toBe("0014")
    expect(wrong.logs).toEqual([expect.stringContaining("a.txt: o MD5 dos primeiros 2 bytes não confere")])
    const past = await ask({ serverFiles: FILES }, resumeOf("a.txt", 9, md5("")))
    expect(past.reply).toBe("0014")
    expect(past.logs).toEqual([expect.stringContaining("a.txt: a posição 9 passa do fim do arquivo (5 bytes)")])
  })
})

describe("download many (op 50)", () => {
  test("the manifest, then each matching file; the log counts what was sent", async () => {
    const { reply, logs } = await ask({ serverFiles: { ...FILES, "c.txt": "sea", "d.bin": "no" } }, many("*.txt"))
    expect(reply).toBe(
      golden(0, be32(2), named("a.txt"), be32(5), named("c.txt"), be32(3), 0, be32(5), "hello", 0, be32(3), "sea")
    )
    expect(logs).toEqual([expect.stringContaining("baixar-varios *.txt ok (2 de 2 arquivos enviados) 8 bytes")])
  })

  test("a file that cannot be opened gets 01 in its place and the rest goes on", async () => {
    const { reply, logs } = await ask(
      {
        serverFiles: { ...FILES, "c.txt": "sea" },
        serverStore: {
          fail: (at) =>
            at.operation === "openRead" && at.name === "a.txt" ? systemFailure("a.txt", "Io", "EIO") : undefined
        }
      },
      many("*.txt")
    )
    expect(reply).toBe(golden(0, be32(2), named("a.txt"), be32(5), named("c.txt"), be32(3), 1, 0, be32(3), "sea"))
    expect(logs).toEqual([expect.stringContaining("baixar-varios *.txt ok (1 de 2 arquivos enviados) 3 bytes")])
  })

  test("more matches than --max-arquivos: 02, the count and the cap", async () => {
    const { reply, logs } = await ask(
      { serverFiles: { ...FILES, "c.txt": "sea" }, settings: { maxMatches: 1 } },
      many("*.txt")
    )
    expect(reply).toBe(golden(2, be32(2), be32(1)))
    expect(logs).toEqual([
      expect.stringContaining("baixar-varios *.txt recusado (limite: 2 arquivos casam, o máximo é 1)")
    ])
  })

  test("no match: an empty manifest; a folder that cannot be read: 01", async () => {
    expect((await ask({ serverFiles: FILES }, many("*.zip"))).reply).toBe(golden(0, be32(0)))
    const failed = await ask(
      { serverStore: { fail: (at) => (at.operation === "list" ? systemFailure(".", "Io", "EIO") : undefined) } },
      many("*")
    )
    expect(failed.reply).toBe("01")
  })
})

describe("requests that break the protocol", () => {
  test.each([
    ["an unknown opcode", Uint8Array.of(0x63), "op-0x63 - falha: fora do protocolo"],
    ["a name of length 0", bytesOf(10, be32(0)), `baixar "" falha: fora do protocolo: nome: comprimento 0`],
    [
      "a name longer than 4096 bytes",
      bytesOf(10, be32(4097)),
      `baixar "…(4097 bytes anunciados)" falha: fora do protocolo: nome: comprimento 4097`
    ],
    [
      "an invalid mask",
      bytesOf(50, named("a/**/b")),
      "baixar-varios a/**/b falha: fora do protocolo: a máscara usa sintaxe não suportada"
    ]
  ] as const)("%s: 01 at once, and the log says what came", async (_, request, line) => {
    const { reply, logs } = await ask({ serverFiles: FILES }, request)
    expect(reply).toBe("01")
    expect(logs).toEqual([expect.stringContaining(line)])
  })

  test("a request sent one byte at a time is answered as if sent whole", async () => {
    const request = resumeOf("a.txt", 2, md5("he"))
    const { reply } = await ask({ serverFiles: FILES, links: { toServer: { segments: 1 } } }, request)
    expect(reply).toBe(golden(0, 0, be32(3), "llo"))
  })

  test("a client that half-closes after its request still gets the whole reply", async () => {
    const body = seededBytes(600_000, 8)
    await inMemory({ serverFiles: { "big.bin": body } }, (world) =>
      Effect.gen(function* () {
        const reply = yield* exchange(world, download("big.bin"), { halfClose: true })
        expect(reply.subarray(5)).toEqual(body)
        const stored = yield* exchange(world, uploadOf("u.txt", "abc"), { halfClose: true })
        expect(hexOf(stored)).toBe("0000")
        expect(world.server.text("u.txt")).toBe("abc")
      })
    )
  })
})

describe("who is served", () => {
  /** A connection held open, silent (it waits for its request deadline), from `address`. */
  /** A connection that has sent the first byte of a request and waits: it holds its places. */
  const hold = (world: World) => Effect.tap(world.connect(), (connection) => connection.write(Uint8Array.of(10)))
  const holdFrom = (world: World, address: string) =>
    Effect.suspend(() => {
      world.network.clientAddress = address
      return hold(world)
    })

  test("--max-clientes: over the limit, 01 at once and a refusal line; a freed place is served again", () =>
    inMemory({ serverFiles: FILES, settings: { maxClients: 1 } }, (world) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        yield* Scope.extend(hold(world), scope)
        yield* settle
        expect(hexOf(yield* exchange(world, download("a.txt")))).toBe("01")
        expect(world.logged("recusado: limite de 1 conexão ao mesmo tempo").length).toBe(1)
        yield* Scope.close(scope, Exit.void)
        yield* settle
        expect(hexOf(yield* exchange(world, download("a.txt")))).toBe(golden(0, be32(5), "hello"))
      })
    ))

  test("--max-por-ip: the second connection from one address gets 01; another address is served", () =>
    inMemory({ serverFiles: FILES, settings: { maxPerAddress: 1 } }, (world) =>
      Effect.gen(function* () {
        yield* holdFrom(world, "192.0.2.1")
        yield* settle
        expect(hexOf(yield* exchange(world, download("a.txt")))).toBe("01")
        expect(world.logged("192.0.2.1:50001 ? - recusado: limite de 1 por endereço").length).toBe(1)
        world.network.clientAddress = "192.0.2.2"
        expect(hexOf(yield* exchange(world, download("a.txt")))).toBe(golden(0, be32(5), "hello"))
      })
    ))

  test("--permitir: an address outside the blocks gets 01 before its request is read", () =>
    inMemory({ serverFiles: FILES, settings: { allow: [Either.getOrThrow(parseCidr("10.0.0.0/8"))] } }, (world) =>
      Effect.gen(function* () {
        world.network.clientAddress = "192.0.2.9"
        expect(hexOf(yield* exchange(world, download("a.txt")))).toBe("01")
        expect(world.logged("192.0.2.9:50000 ? - recusado: endereço fora de --permitir").length).toBe(1)
        world.network.clientAddress = "10.1.2.3"
        expect(hexOf(yield* exchange(world, download("a.txt")))).toBe(golden(0, be32(5), "hello"))
      })
    ))
})

import { describe, expect, setDefaultTimeout, test } from "bun:test"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Exit } from "effect"
import { download } from "../../src/programs/client/download.ts"
import { downloadMany } from "../../src/programs/client/downloadMany.ts"
import { list } from "../../src/programs/client/list.ts"
import { resume } from "../../src/programs/client/resume.ts"
import { upload } from "../../src/programs/client/upload.ts"
import { runCli } from "../client/cli.ts"
import { failureOf } from "../support/effect.ts"
import { type ClientRunner, clientFor, type HostileScript, pause, send, startHostile } from "../support/hostile.ts"
import {
  be32,
  bytesOf,
  containsMarker,
  type Jail,
  md5Raw,
  NORMAL,
  rawName,
  SECRET,
  snapshot,
  utf8,
  withJail
} from "./support.ts"

/**
 * The client programs against a hostile server (test/support/hostile.ts),
 * with the jail's layout around the client folder: `cliente/` is the client
 * folder and `fora/` (with the sentinel) sits next to it. The client must
 * refuse names that escape, names the mask does not match and duplicates;
 * never write through a link already in its folder; survive lying sizes
 * and hostile JSON; and never send the sentinel's bytes (or their MD5) to
 * anyone. After each case `assertIntact` also checks the real server of the
 * jail still serves. Stalls, which only wait for the client's idle deadline,
 * are tested in process on the TestClock (test/programs/deadlines.test.ts).
 */

setDefaultTimeout(30_000)

const violation = (reason: string) => expect.objectContaining({ _tag: "ProtocolViolation", reason })

/** Runs `body` with a hostile server playing `script` and a client over the jail's client folder. */
const againstHostile = async (
  jail: Jail,
  script: HostileScript,
  body: (client: ClientRunner, received: Array<Uint8Array>) => Promise<void>,
  timeoutSeconds = 2
) => {
  const hostile = await startHostile(script)
  try {
    await body(await clientFor(hostile.port, jail.clientDir, timeoutSeconds), hostile.received)
    // The hostile server never received the sentinel's bytes.
    for (const bytes of hostile.received) expect(containsMarker(bytes)).toBe(false)
  } finally {
    await hostile.close()
  }
}

const clientTree = async (jail: Jail) => Object.keys(await snapshot(jail.clientDir)).sort()

/** An op 50 reply announcing one file under a raw name, then its 5 bytes. */
const manifestOf = (...names: ReadonlyArray<Uint8Array | string>) =>
  send(
    0,
    be32(names.length),
    ...names.flatMap((name) => [rawName(name), be32(5)]),
    ...names.flatMap(() => [Uint8Array.of(0), be32(5), utf8("EVIL!")])
  )

describe("op 50 manifests that try to escape or lie", () => {
  const cases: ReadonlyArray<readonly [string, string, Uint8Array | string, string]> = [
    ["parent ..", "*", "../fora/pwned", "InvalidName"],
    [".. in the middle", "*/*/*", "sub/../../pwned", "InvalidName"],
    ["absolute path", "*", "/tmp/pwned", "InvalidName"],
    ["backslash", "*", "..\\fora\\pwned", "InvalidName"],
    ["drive letter", "*", "C:pwned", "InvalidName"],
    ["NUL", "*", bytesOf(utf8("a.txt"), 0, utf8("../x")), "InvalidName"],
    ["terminal escape", "*", "\u001b]0;pwned\u0007\u001b[2Ja", "InvalidName"],
    ["C1 control CSI", "*", "a\u009b31m", "InvalidName"],
    ["invalid UTF-8", "*", Uint8Array.of(0x61, 0xff, 0x62), "InvalidName"],
    ["overlong '/'", "*", Uint8Array.of(0x2e, 0x2e, 0xc0, 0xaf, 0x78), "InvalidName"],
    ["hidden", "*", ".bashrc", "InvalidName"],
    ["empty (length 0)", "*", "", "BadLength"],
    ["4097 bytes", "*", "a".repeat(4097), "BadLength"],
    ["look-alike slash not matching a top-level mask", "*.txt", "x\u2215..\u2215pwned.txt/a.txt", "UnexpectedName"],
    ["a subfolder for a top-level mask", "*.txt", "sub/a.txt", "UnexpectedName"],
    ["a name the mask does not match", "*.txt", "a.bin", "UnexpectedName"]
  ]

  test.each(cases)("%s (mask %s): ProtocolViolation, nothing written", (_, mask, name, reason) =>
    withJail(async (jail) =>
      againstHostile(jail, { reply: [manifestOf(name)], then: "close" }, async (client) => {
        expect(failureOf(await client(downloadMany(mask)))).toEqual(violation(reason))
        expect(await clientTree(jail)).toEqual([])
      })
    )
  )

  test("duplicates, exact and after a valid first file: UnexpectedName before any data is written", () =>
    withJail(async (jail) =>
      againstHostile(jail, { reply: [manifestOf("a.txt", "b.txt", "a.txt")], then: "close" }, async (client) => {
        expect(failureOf(await client(downloadMany("*.txt")))).toEqual(violation("UnexpectedName"))
        expect(await clientTree(jail)).toEqual([])
      })
    ))

  test("a size in the manifest that differs from the one before the data: the data's own size wins, inside", () =>
    withJail(async (jail) =>
      againstHostile(
        jail,
        { reply: [send(0, be32(1), rawName("a.txt"), be32(3), 0, be32(10), "0123456789")], then: "close" },
        async (client) => {
          expect(Exit.isSuccess(await client(downloadMany("*.txt")))).toBe(true)
          expect(await fs.readFile(path.join(jail.clientDir, "a.txt"), "utf8")).toBe("0123456789")
        }
      )
    ))
})

describe("links and special files already in the client folder", () => {
  test("x.parcial → the outside sentinel: the download fails locally, the sentinel is not truncated or written", () =>
    withJail(async (jail) => {
      await fs.symlink(jail.sentinel, path.join(jail.clientDir, "normal.txt.parcial"))
      expect(failureOf(await jail.client(download("normal.txt")))).toMatchObject({ _tag: "FileFailure" })
      expect((await fs.lstat(path.join(jail.clientDir, "normal.txt.parcial"))).isSymbolicLink()).toBe(true)
    }))

  test("x → the outside sentinel: the download replaces the link with the file, never writes through it", () =>
    withJail(async (jail) => {
      await fs.symlink("../fora/segredo.txt", path.join(jail.clientDir, "normal.txt"))
      expect(await jail.client(download("normal.txt"))).toEqual(
        Exit.succeed({ name: "normal.txt", size: utf8(NORMAL).length })
      )
      expect((await fs.lstat(path.join(jail.clientDir, "normal.txt"))).isFile()).toBe(true)
      expect(await fs.readFile(path.join(jail.clientDir, "normal.txt"), "utf8")).toBe(NORMAL)
    }))

  test("a client subfolder linked to the outside folder: downloads into it fail, nothing lands outside", () =>
    withJail(async (jail) => {
      await fs.symlink("../fora", path.join(jail.clientDir, "sub"))
      expect(failureOf(await jail.client(download("sub/interno.txt")))).toMatchObject({
        _tag: "FileFailure",
        reason: "OutsideRoot"
      })
      const many = await jail.client(downloadMany("sub/*"))
      expect(Exit.isSuccess(many)).toBe(true)
      if (Exit.isSuccess(many)) expect(many.value.results.map((result) => result._tag)).toEqual(["LocalFailure"])
    }))

  test("resume of x.parcial → outside: refused locally, and not even the MD5 of the outside bytes is sent", () =>
    withJail(async (jail) => {
      await fs.symlink(jail.sentinel, path.join(jail.clientDir, "segredo.txt.parcial"))
      await againstHostile(jail, { reply: [send(0, 0, be32(0))], then: "close" }, async (client, received) => {
        expect(failureOf(await client(resume("segredo.txt")))).toMatchObject({
          _tag: "FileFailure",
          reason: "OutsideRoot"
        })
        expect(failureOf(await client(resume("segredo.txt", 64)))).toMatchObject({ _tag: "FileFailure" })
        // No connection at all: the MD5 of the sentinel never left the client.
        const leaked = Buffer.from(md5Raw(SECRET))
        for (const bytes of received) expect(Buffer.from(bytes).indexOf(leaked)).toBe(-1)
        expect(received).toEqual([])
      })
    }))

  test("resume of a finished x → outside: refused locally, nothing sent", () =>
    withJail(async (jail) => {
      await fs.symlink(jail.sentinel, path.join(jail.clientDir, "segredo.txt"))
      await againstHostile(jail, { reply: [send(0, 0, be32(0))], then: "close" }, async (client, received) => {
        expect(failureOf(await client(resume("segredo.txt")))).toMatchObject({ _tag: "FileFailure" })
        expect(received).toEqual([])
      })
    }))

  test("upload of a local name that links outside: refused locally, the sentinel's bytes are never sent", () =>
    withJail(async (jail) => {
      await fs.symlink(jail.sentinel, path.join(jail.clientDir, "enviar.txt"))
      await fs.symlink("../fora", path.join(jail.clientDir, "pasta"))
      await againstHostile(jail, { reply: [send(0), pause(50), send(0)], then: "close" }, async (client, received) => {
        expect(failureOf(await client(upload("enviar.txt")))).toMatchObject({
          _tag: "FileFailure",
          reason: "OutsideRoot"
        })
        expect(failureOf(await client(upload("pasta/segredo.txt")))).toMatchObject({
          _tag: "FileFailure",
          reason: "OutsideRoot"
        })
        expect(received).toEqual([])
      })
    }))

  test("a FIFO planted as x.parcial: the download fails at once instead of blocking", () =>
    withJail(async (jail) => {
      expect(Bun.spawnSync(["mkfifo", path.join(jail.clientDir, "normal.txt.parcial")]).exitCode).toBe(0)
      expect(failureOf(await jail.client(download("normal.txt")))).toMatchObject({ _tag: "FileFailure" })
    }))
})

describe("a hostile server that agrees to any name the client asks for", () => {
  test.each([
    ["../fora/pwned", "OutsideRoot"],
    ["sub/../../fora/pwned", "OutsideRoot"],
    ["..", "IsDirectory"]
  ] as const)("download(%s): refused by the client's own folder jail (%s)", (name, reason) =>
    withJail(async (jail) =>
      againstHostile(jail, { reply: [send(0, be32(5), "EVIL!")], then: "close" }, async (client) => {
        expect(failureOf(await client(download(name)))).toMatchObject({ _tag: "FileFailure", reason })
      })
    )
  )

  test("download of an absolute name lands inside the client folder, never at that path", () =>
    withJail(async (jail) =>
      againstHostile(jail, { reply: [send(0, be32(5), "EVIL!")], then: "close" }, async (client) => {
        const target = path.join(jail.outside, `pwned-${jail.token}`)
        await client(download(target))
        // Whatever happened, the absolute target was never written (assertIntact checks fora/ too).
        expect(
          await fs.lstat(target).then(
            () => true,
            () => false
          )
        ).toBe(false)
        await fs.rm(path.join(jail.clientDir, target.split("/")[1]!), { recursive: true, force: true })
      })
    ))
})

describe("sizes that lie", () => {
  test("a download declaring 5 bytes and sending 5000: exactly 5 are written", () =>
    withJail(async (jail) =>
      againstHostile(jail, { reply: [send(0, be32(5), "hello", "X".repeat(4995))], then: "close" }, async (client) => {
        expect(await client(download("a.txt"))).toEqual(Exit.succeed({ name: "a.txt", size: 5 }))
        expect(await fs.readFile(path.join(jail.clientDir, "a.txt"), "utf8")).toBe("hello")
      })
    ))

  test("a download declaring 0xFFFFFFFF bytes and sending 1 KiB: Truncated, the partial holds 1 KiB, nothing allocated", () =>
    withJail(async (jail) =>
      againstHostile(jail, { reply: [send(0, be32(0xffff_ffff), "z".repeat(1024))], then: "close" }, async (client) => {
        expect(failureOf(await client(download("a.txt")))).toEqual(violation("Truncated"))
        expect((await fs.stat(path.join(jail.clientDir, "a.txt.parcial"))).size).toBe(1024)
        expect(await clientTree(jail)).toEqual(["a.txt.parcial"])
      })
    ))

  test("a resume whose remainder is declared 0xFFFFFFFF and cut: Truncated, the old bytes kept", () =>
    withJail(async (jail) => {
      await fs.writeFile(path.join(jail.clientDir, "a.txt.parcial"), "abc")
      await againstHostile(jail, { reply: [send(0, 0, be32(0xffff_ffff), "def")], then: "close" }, async (client) => {
        expect(failureOf(await client(resume("a.txt")))).toEqual(violation("Truncated"))
        expect(await fs.readFile(path.join(jail.clientDir, "a.txt.parcial"), "utf8")).toBe("abcdef")
      })
    }))

  test("an op 50 manifest announcing 10 000 files, then closing: Truncated, nothing written", () =>
    withJail(async (jail) =>
      againstHostile(
        jail,
        { reply: [send(0, be32(10_000), rawName("a.txt"), be32(1))], then: "close" },
        async (client) => {
          expect(failureOf(await client(downloadMany("*")))).toEqual(violation("Truncated"))
          expect(await clientTree(jail)).toEqual([])
        }
      )
    ))
})

describe("hostile listings", () => {
  const listing = (json: string | Uint8Array) => {
    const bytes = typeof json === "string" ? utf8(json) : json
    return send(0, be32(bytes.length), bytes)
  }

  test.each([
    ["nested 10 000 levels deep", "[".repeat(10_000) + "]".repeat(10_000)],
    ["an escaping name", '[{"nome":"../fora/segredo.txt","tamanho":"1"}]'],
    ["an absolute name", '[{"nome":"/etc/passwd","tamanho":"1"}]'],
    ["a terminal escape in a name", '[{"nome":"\\u001b[2Jx","tamanho":"1"}]'],
    ["a __proto__ property", '[{"nome":"a","tamanho":"1","__proto__":{"polluted":true}}]'],
    ["a constructor property", '[{"nome":"a","tamanho":"1","constructor":{"prototype":{"polluted":true}}}]'],
    ["a number for tamanho", '[{"nome":"a","tamanho":1}]'],
    ["a negative tamanho", '[{"nome":"a","tamanho":"-1"}]'],
    ["an object, not a list", '{"nome":"a","tamanho":"1"}'],
    ["null", "null"],
    ["empty text", ""],
    ["trailing garbage", '[]{"x":1}'],
    ["single quotes and a trailing comma (the statement's example)", "[{'nome': 'a.txt', 'tamanho': '1'}, ]"]
  ] as const)("%s: InvalidListing, no pollution, nothing written", (_, json) =>
    withJail(async (jail) =>
      againstHostile(jail, { reply: [listing(json)], then: "close" }, async (client) => {
        expect(failureOf(await client(list))).toEqual(violation("InvalidListing"))
        expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
        expect(await clientTree(jail)).toEqual([])
      })
    )
  )

  /**
   * BUG (src/domain/listing.ts, `parseListing`): JSON.parse accepts a listing
   * nested 100 000 levels deep (200 KB), but the Schema failure is then
   * formatted with the offending value, recursively, and throws
   * "RangeError: Maximum call stack size exceeded" out of the decoder
   * (`new Decoder(listReply()).feed(bytes)` throws instead of returning
   * Left(ProtocolViolation)). The client program dies with a defect instead of
   * failing with InvalidListing; the command-line client prints "Erro interno"
   * (exit 3) instead of the listing sentence. 10 000 levels still fail
   * cleanly (the case above). A fix: catch around the Schema decode and its
   * formatting in parseListing (or reject nesting deeper than the format's
   * two levels before decoding) and return the Portuguese sentence.
   */
  test("a listing nested 100 000 levels deep: InvalidListing, not a defect", () =>
    withJail(async (jail) => {
      const json = "[".repeat(100_000) + "]".repeat(100_000)
      await againstHostile(jail, { reply: [listing(json)], then: "close" }, async (client) => {
        expect(failureOf(await client(list))).toEqual(violation("InvalidListing"))
      })
    }))

  test("a huge but valid listing (100 000 entries, about 4 MiB) is accepted whole", () =>
    withJail(async (jail) => {
      const entries = Array.from({ length: 100_000 }, (_, i) => ({ nome: `arquivo-${i}.bin`, tamanho: String(i) }))
      await againstHostile(jail, { reply: [listing(JSON.stringify(entries))], then: "close" }, async (client) => {
        const exit = await client(list)
        expect(Exit.isSuccess(exit)).toBe(true)
        if (Exit.isSuccess(exit)) expect(exit.value.entries.length).toBe(100_000)
      })
    }))
})

describe("the command-line client and names with terminal escapes", () => {
  test("baixar with an OSC/ESC sequence in the name: usage error (exit 2), no request sent", () =>
    withJail(async (jail) => {
      const before = jail.logs.length
      const result = await runCli(
        [`127.0.0.1:${jail.port}`, "--pasta", jail.clientDir, "baixar", "\u001b]0;pwned\u0007x"],
        {
          limitMillis: 10_000
        }
      )
      expect(result.code).toBe(2)
      expect(result.stderr).toContain("caracteres de controle")
      expect(jail.logs.length).toBe(before)
      expect(await clientTree(jail)).toEqual([])
    }))

  /**
   * BUG (minor; src/programs/client/cli/commands.ts line 27, and the echo in
   * src/programs/client/cli/batch.ts): a name refused for its control
   * characters is quoted back RAW in the error ("nome inválido \"<ESC>]0;...\"")
   * and batch mode echoes every line raw ("cliente> ..."), so an OSC/CSI
   * sequence typed, piped or read from a --script file reaches the terminal
   * (window title, screen clear...). Everywhere else names go through
   * `printable` (format.ts). Fix: printable(args[0]) in the message, and
   * printable(line) in the batch echo.
   */
  test("the refusal message and the batch echo never print a raw ESC or BEL", () =>
    withJail(async (jail) => {
      const name = "\u001b]0;pwned\u0007x"
      const oneShot = await runCli([`127.0.0.1:${jail.port}`, "--pasta", jail.clientDir, "baixar", name], {
        limitMillis: 10_000
      })
      const batch = await runCli([`127.0.0.1:${jail.port}`, "--pasta", jail.clientDir], {
        stdin: `baixar "${name}"\n`,
        limitMillis: 10_000
      })
      for (const output of [oneShot.stdout, oneShot.stderr, batch.stdout, batch.stderr]) {
        expect(output).not.toContain("\u001b")
        expect(output).not.toContain("\u0007")
      }
    }))
})

import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Decoder } from "../../src/domain/decoder.ts"
import { downloadManyReply } from "../../src/domain/grammars.ts"
import type { ServerEvent } from "../../src/domain/messages.ts"
import {
  download,
  downloadMany,
  hexOf,
  type Jail,
  md5Raw,
  pathExists,
  resume,
  SECRET,
  snapshot,
  startJail,
  temporaries,
  upload,
  utf8,
  waitFor
} from "./support.ts"

/**
 * Every escape trick in a name, sent raw for ops 10, 30, 40 and 50. Each
 * case is annotated by hand (not by asking src/domain/names.ts):
 *
 * - "invalid": the name rules refuse it: op 10/30/50 answer 01, op 40 answers 01;
 * - "literal": a valid name that only looks like an escape (a look-alike
 *   character, a trailing dot, a BOM...): it must stay a literal name INSIDE
 *   the folder — op 10 answers 01 (no such file, and no aliasing of
 *   normal.txt), op 40 answers 00 0a, op 50 answers an empty manifest, and
 *   op 30 stores the file at exactly that literal path under the folder;
 * - "fs": valid by the rules but refused by the file system (a component
 *   over 255 bytes, a path over PATH_MAX): 01, or 00 0a for op 40, and
 *   nothing left behind.
 *
 * `{T}` is replaced by the jail's token and `{FORA}` by the absolute path
 * of the outside folder, so an escaped upload would be found by
 * `assertIntact`, which runs after every case.
 */

setDefaultTimeout(20_000)

type Kind = "invalid" | "literal" | "fs"
interface NameCase {
  readonly label: string
  readonly name: string | Uint8Array
  readonly kind: Kind
}

const b = (...parts: ReadonlyArray<string | ReadonlyArray<number>>): Uint8Array =>
  new Uint8Array(
    Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part, "utf8") : Buffer.from(part))))
  )

const invalid = (label: string, name: string | Uint8Array): NameCase => ({ label, name, kind: "invalid" })
const literal = (label: string, name: string | Uint8Array): NameCase => ({ label, name, kind: "literal" })
const fsRefused = (label: string, name: string | Uint8Array): NameCase => ({ label, name, kind: "fs" })

const CASES: ReadonlyArray<NameCase> = [
  // `..` in every position
  invalid(".. alone", ".."),
  invalid(".. first, to a sibling file", "../segredo-base.txt"),
  invalid(".. first, into the outside folder", "../fora/segredo.txt"),
  invalid(".. first, a new outside file", "../fora/pwned-{T}"),
  invalid(".. twice, into the temp dir", "../../pwned-{T}"),
  invalid(".. in the middle, escaping", "sub/../../fora/segredo.txt"),
  invalid(".. in the middle, staying inside", "sub/../normal.txt"),
  invalid(".. last", "sub/.."),
  invalid(".. after a file", "normal.txt/.."),
  invalid(".. repeated 64 times", `${"../".repeat(64)}etc/passwd`),
  invalid(". first", "./normal.txt"),
  invalid(". in the middle", "sub/./interno.txt"),
  invalid(". last", "sub/interno.txt/."),
  invalid("... (hidden)", ".../fora"),
  // absolute paths
  invalid("absolute /etc/passwd", "/etc/passwd"),
  invalid("absolute path of the sentinel", "{FORA}/segredo.txt"),
  invalid("absolute new outside file", "{FORA}/pwned-{T}"),
  invalid("double slash", "//etc/passwd"),
  invalid("a lone slash", "/"),
  invalid("/proc/self/root", "/proc/self/root/etc/passwd"),
  // backslashes and drive letters
  invalid("backslash ..\\", "..\\fora\\segredo.txt"),
  invalid("backslash in the middle", "sub\\..\\..\\fora\\segredo.txt"),
  invalid("UNC path", "\\\\servidor\\share\\x"),
  invalid("trailing backslash", "normal.txt\\"),
  invalid("drive letter C:\\", "C:\\Windows\\win.ini"),
  invalid("drive letter C:/", "C:/pwned-{T}"),
  invalid("drive-relative c:name", "c:normal.txt"),
  invalid("bare drive Z:", "Z:"),
  // NUL and control characters
  invalid("NUL truncation after a real name", b("normal.txt", [0], "../../fora/segredo.txt")),
  invalid("NUL at the end", b("../fora/segredo.txt", [0])),
  invalid("NUL alone", b([0])),
  invalid("NUL as a component", b("sub/", [0], "/interno.txt")),
  invalid("newline", "normal.txt\n../fora"),
  invalid("ESC (terminal escape)", "\u001b[2J\u001b]0;pwned\u0007x"),
  invalid("DEL", "normal\u007f.txt"),
  invalid("C1 control CSI U+009B", "x\u009b2J"),
  invalid("C1 control NEL U+0085", "x\u0085y"),
  // invalid UTF-8 and overlong encodings
  invalid("overlong '/' (c0 af)", b("..", [0xc0, 0xaf], "fora", [0xc0, 0xaf], "segredo.txt")),
  invalid("overlong '.' (c0 ae)", b([0xc0, 0xae, 0xc0, 0xae], "/fora/segredo.txt")),
  invalid("3-byte overlong '.' (e0 80 ae)", b([0xe0, 0x80, 0xae, 0xe0, 0x80, 0xae], "/fora/segredo.txt")),
  invalid("4-byte overlong '/' (f0 80 80 af)", b("..", [0xf0, 0x80, 0x80, 0xaf], "fora")),
  invalid("overlong NUL (c0 80, modified UTF-8)", b("normal.txt", [0xc0, 0x80])),
  invalid("bytes ff fe", b([0xff, 0xfe], "x")),
  invalid("lone surrogate (ed a0 80)", b("x", [0xed, 0xa0, 0x80])),
  invalid("CESU-8 surrogate pair", b([0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80])),
  invalid("truncated sequence at the end", b("normal.txt", [0xc3])),
  invalid("5-byte form (f8 ...)", b([0xf8, 0x88, 0x80, 0x80, 0x80])),
  invalid("above U+10FFFF (f4 90 80 80)", b([0xf4, 0x90, 0x80, 0x80])),
  invalid("latin-1 byte, not UTF-8", b("caf", [0xe9])),
  // Unicode look-alikes: literal names, never separators or dots
  literal("U+2024 ONE DOT LEADER as ..", "\u2024\u2024/fora/segredo.txt"),
  literal("U+2025 TWO DOT LEADER", "\u2025/fora/pwned-{T}"),
  literal("U+FF0E fullwidth full stop", "\uff0e\uff0e/fora/segredo.txt"),
  literal("U+FE52 small full stop", "\ufe52\ufe52/pwned-{T}"),
  invalid("U+FF0F fullwidth solidus after a real ..", "..\uff0ffora\uff0fsegredo.txt"),
  literal("U+FF0F fullwidth solidus", "x\uff0f..\uff0f..\uff0ffora\uff0fpwned-{T}"),
  literal("U+2215 division slash", "x\u2215..\u2215..\u2215fora\u2215pwned-{T}"),
  literal("U+2044 fraction slash", "x\u2044..\u2044pwned-{T}"),
  literal("U+29F8 big solidus", "x\u29f8..\u29f8pwned-{T}"),
  literal("U+FF3C fullwidth reverse solidus", "x\uff3c..\uff3cpwned-{T}"),
  literal("BOM before ..", "\ufeff../fora/pwned-{T}"),
  literal("zero-width space before ..", "\u200b../fora/segredo.txt"),
  literal("RTL override", "gpj.\u202etxt"),
  literal("percent-encoded ../ (not decoded)", "%2e%2e%2ffora%2fsegredo.txt"),
  literal("double percent-encoded", "%252e%252e%252fpwned-{T}"),
  literal("tilde", "~/pwned-{T}"),
  // trailing dots and spaces (Windows would strip them; here they are literal)
  literal("trailing dot does not alias normal.txt", "normal.txt."),
  literal("trailing dots", "normal.txt..."),
  literal("trailing space", "normal.txt "),
  literal("space before ..", " ../fora/segredo.txt"),
  literal("space after a folder", "sub /interno.txt"),
  literal("upper case does not alias normal.txt", "NORMAL.TXT"),
  literal("a single space", " "),
  invalid("space after .. (hidden)", ".. /fora/segredo.txt"),
  // empty names and empty components
  invalid("empty name (length 0)", ""),
  invalid("empty component", "sub//interno.txt"),
  invalid("trailing slash", "sub/"),
  invalid("hidden file", ".ssh/authorized_keys"),
  invalid("hidden upload temporary", ".envio-0123456789abcdef.tmp"),
  invalid("hidden component in the middle", "sub/.git/config"),
  // very long names
  fsRefused("4096 bytes in one component", "a".repeat(4096)),
  invalid("4097 bytes", "a".repeat(4097)),
  fsRefused("256-byte component", "a".repeat(256)),
  literal("255-byte component (the file system's maximum)", "p".repeat(255)),
  fsRefused("2048 two-byte characters (4096 bytes)", "\u00e9".repeat(2048)),
  invalid("2049 two-byte characters (4098 bytes)", "\u00e9".repeat(2049)),
  fsRefused("past PATH_MAX through 370 folders", `${"dddddddddd/".repeat(370)}f`),
  invalid("1365 × ../ (4095 bytes)", "../".repeat(1365))
]

let jail: Jail

beforeAll(async () => {
  jail = await startJail({ timeoutSeconds: 5 })
})

afterAll(() => jail.close())

afterEach(() => jail.assertIntact())

const concrete = (name: string | Uint8Array): Uint8Array =>
  typeof name === "string" ? utf8(name.replaceAll("{T}", jail.token).replaceAll("{FORA}", jail.outside)) : name

const textOf = (name: Uint8Array) => Buffer.from(name).toString("utf8")

/** Removes what a literal upload created: the first component of its path under the folder. */
const removeUpload = (name: Uint8Array) =>
  fs.rm(path.join(jail.root, textOf(name).split("/")[0]!), { recursive: true, force: true })

const FIXTURE = ["normal.txt", "sub", "sub/interno.txt"]

/**
 * After a refused upload: no temporary and no new file. A name refused by the
 * rules creates nothing at all; one refused by the file system may leave the
 * empty folders created on the way (see the report), which are removed here.
 */
const checkRefusedUpload = async (kind: Kind) => {
  const entries = await snapshot(jail.root)
  const added = Object.keys(entries).filter((entry) => !FIXTURE.includes(entry))
  if (kind === "invalid") expect(added).toEqual([])
  expect(added.filter((entry) => entries[entry] !== "dir")).toEqual([])
  for (const top of new Set(added.map((entry) => entry.split("/")[0]!))) {
    // `rm -rf` copes with deep trees much faster than fs.rm.
    expect(Bun.spawnSync(["rm", "-rf", "--", path.join(jail.root, top)]).exitCode).toBe(0)
  }
}

describe("op 10 download", () => {
  test.each(CASES.map((c) => [c.label, c] as const))("%s", async (_, c) => {
    const { reply, timedOut } = await jail.exchange(download(concrete(c.name)))
    expect(timedOut).toBe(false)
    expect(hexOf(reply)).toBe("01")
  })
})

describe("op 40 resume", () => {
  test.each(CASES.map((c) => [c.label, c] as const))("%s", async (_, c) => {
    // The MD5 is the real one of the sentinel's first 64 bytes: a hash oracle on an outside file must not answer 00 or 14.
    const { reply, timedOut } = await jail.exchange(resume(concrete(c.name), 64, md5Raw(SECRET.slice(0, 64))))
    expect(timedOut).toBe(false)
    expect(hexOf(reply)).toBe(c.kind === "invalid" ? "01" : "000a")
  })
})

describe("op 50 download many (the name as a mask)", () => {
  test.each(CASES.map((c) => [c.label, c] as const))("%s", async (_, c) => {
    const { reply, timedOut } = await jail.exchange(downloadMany(concrete(c.name)))
    expect(timedOut).toBe(false)
    expect(hexOf(reply)).toBe(c.kind === "invalid" ? "01" : "0000000000")
  })
})

describe("op 30 upload", () => {
  test.each(CASES.map((c) => [c.label, c] as const))("%s", async (_, c) => {
    const name = concrete(c.name)
    try {
      const { reply, timedOut } = await jail.exchange(upload(name, "carga"))
      expect(timedOut).toBe(false)
      if (c.kind === "literal") {
        expect(hexOf(reply)).toBe("0000")
        // Stored under the folder at exactly the literal path, with exactly the bytes sent.
        expect(await fs.readFile(path.join(jail.root, textOf(name)), "utf8")).toBe("carga")
      } else if (c.kind === "fs") {
        // Refused when the name arrives, or accepted and then failed (01) when the rename hits the limit.
        expect(["01", "0001"]).toContain(hexOf(reply))
      } else {
        expect(hexOf(reply)).toBe("01")
      }
    } finally {
      await waitFor(async () => (await temporaries(jail.root)).length === 0)
      expect(await temporaries(jail.root)).toEqual([])
      if (c.kind === "literal") await removeUpload(name)
      else await checkRefusedUpload(c.kind)
      expect((await fs.readdir(jail.root)).sort()).toEqual(["normal.txt", "sub"])
    }
  })
})

describe("op 50 masks that try to escape", () => {
  const masks: ReadonlyArray<readonly [string, string, "refused" | "manifest"]> = [
    ["../* (parent)", "../*", "refused"],
    ["*/../* (middle)", "*/../*", "refused"],
    ["/* (absolute)", "/*", "refused"],
    ["{FORA}/* (absolute outside)", "{FORA}/*", "refused"],
    ["** (recursive)", "**", "refused"],
    ["**/* (recursive)", "**/*", "refused"],
    ["{a,b} (braces)", "{normal,segredo}.txt", "refused"],
    ["[/] (slash in brackets)", "sub[/]interno.txt", "refused"],
    ["leading ! (negation)", "!normal.txt", "refused"],
    [".* (hidden)", ".*", "refused"],
    ["..\\* (backslash)", "..\\*", "refused"],
    ["[.][.]/* (brackets spelling ..)", "[.][.]/*", "manifest"],
    ["?? /* (two wildcards for ..)", "??/*", "manifest"],
    ["* (everything at the top)", "*", "manifest"],
    ["*/* (one level down)", "*/*", "manifest"],
    ["[!n]* (negated class)", "[!n]*", "manifest"],
    ["*segredo* (the sentinel's name)", "*segredo*", "manifest"],
    ["*/*segredo* (the outside folder's files)", "*/*segredo*", "manifest"]
  ]

  test.each(masks)("%s", async (_, mask, expected) => {
    const text = mask.replaceAll("{FORA}", jail.outside)
    const { reply, timedOut } = await jail.exchange(downloadMany(text))
    expect(timedOut).toBe(false)
    if (expected === "refused") {
      expect(hexOf(reply)).toBe("01")
      return
    }
    // The whole reply decodes, and every announced file is a regular file inside the folder.
    const decoder = new Decoder<ServerEvent>(downloadManyReply(text))
    const events = decoder.feed(reply)
    expect(events._tag).toBe("Right")
    expect(decoder.isDone).toBe(true)
    const manifest = events._tag === "Right" ? events.right.find((event) => event._tag === "Manifest") : undefined
    expect(manifest).toBeDefined()
    for (const entry of manifest!._tag === "Manifest" ? manifest!.entries : []) {
      const full = path.join(jail.root, entry.name)
      expect(full.startsWith(jail.root + path.sep)).toBe(true)
      expect((await fs.lstat(full)).isFile()).toBe(true)
      expect(await pathExists(full)).toBe(true)
    }
  })
})

describe("what a refused upload leaves inside the folder", () => {
  /**
   * ROBUSTNESS (not an escape; src/services/FileStoreLive.ts, `prepareParent`):
   * the folders of an upload's name are created one by one before anything
   * can fail, and are not removed when the upload is then refused. One
   * request of 4 KiB named "dddddddddd/" × 370 + "f" is answered 01 (the path
   * passes PATH_MAX) after creating 369 nested empty folders; "e/" × 1000 +
   * 300 × "x" is accepted, written, and refused at the rename (00 01), leaving
   * 1000 folders. Each such request costs the server up to ~2 s of system
   * time, and a client can repeat it under new prefixes without limit (inodes,
   * disk). They are invisible in the listing (only files are listed). A fix:
   * remove the folders this upload created when it fails (or refuse, before
   * creating anything, a name whose full path would pass PATH_MAX or whose
   * components pass NAME_MAX).
   */
  test("a refused upload leaves no folders behind", async () => {
    for (const name of [`${"dddddddddd/".repeat(370)}f`, `${"e/".repeat(1000)}${"x".repeat(300)}`]) {
      const { reply } = await jail.exchange(upload(name, "x"))
      expect(["01", "0001"]).toContain(hexOf(reply))
      const left = Object.keys(await snapshot(jail.root)).filter((entry) => !FIXTURE.includes(entry))
      for (const top of new Set(left.map((entry) => entry.split("/")[0]!)))
        Bun.spawnSync(["rm", "-rf", "--", path.join(jail.root, top)])
      expect(left).toEqual([])
    }
  })
})

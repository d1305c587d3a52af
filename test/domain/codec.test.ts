import { describe, expect, test } from "bun:test"
import { concat, encodeLimit, encodeManifest, encodeStatus, encodeStatusSize, u32 } from "../../src/domain/encode.ts"
import { downloadManyReply, downloadReply, listReply, resumeReply, uploadReply } from "../../src/domain/grammars.ts"
import type { Request } from "../../src/domain/messages.ts"
import { clientStream, encodeRequest } from "../../src/domain/operations.ts"
import { fitsU32, MAX_U32 } from "../../src/domain/protocol.ts"
import { cat, decodeEveryWay, hex, toHex, utf8 } from "./bytes.ts"

/**
 * Golden vectors: every message written out byte for byte in hex, encoded
 * and decoded. Each decode runs whole, byte by byte and at every cut point.
 */

const MD5_EMPTY = "d41d8cd98f00b204e9800998ecf8427e"
const MD5_COUNTING = "000102030405060708090a0b0c0d0e0f"

describe("requests: encodeRequest and clientStream", () => {
  const golden: ReadonlyArray<{
    readonly label: string
    readonly request: Request
    readonly wire: string
    readonly events: ReadonlyArray<unknown>
  }> = [
    {
      label: "op 10 download a.txt",
      request: { _tag: "Download", name: "a.txt" },
      wire: "0a 00000005 612e747874",
      events: [{ _tag: "Request", request: { _tag: "Download", name: "a.txt" } }]
    },
    {
      label: "op 10 download of a UTF-8 name (length counts bytes, not characters)",
      request: { _tag: "Download", name: "ação.txt" },
      wire: "0a 0000000a 61 c3a7 c3a3 6f 2e747874",
      events: [{ _tag: "Request", request: { _tag: "Download", name: "ação.txt" } }]
    },
    {
      label: "op 10 download of a nested name",
      request: { _tag: "Download", name: "d/x.jpg" },
      wire: "0a 00000007 642f782e6a7067",
      events: [{ _tag: "Request", request: { _tag: "Download", name: "d/x.jpg" } }]
    },
    {
      label: "op 20 list",
      request: { _tag: "List" },
      wire: "14",
      events: [{ _tag: "Request", request: { _tag: "List" } }]
    },
    {
      label: "op 40 resume a.txt from 1024",
      request: { _tag: "Resume", name: "a.txt", position: 1024, md5: hex(MD5_COUNTING) },
      wire: `28 00000005 612e747874 00000400 ${MD5_COUNTING}`,
      events: [{ _tag: "Request", request: { _tag: "Resume", name: "a.txt", position: 1024, md5: MD5_COUNTING } }]
    },
    {
      label: "op 40 resume from 0 with the MD5 of nothing",
      request: { _tag: "Resume", name: "b.bin", position: 0, md5: hex(MD5_EMPTY) },
      wire: `28 00000005 622e62696e 00000000 ${MD5_EMPTY}`,
      events: [{ _tag: "Request", request: { _tag: "Resume", name: "b.bin", position: 0, md5: MD5_EMPTY } }]
    },
    {
      label: "op 40 resume at the largest position",
      request: { _tag: "Resume", name: "a.txt", position: 0xffff_ffff, md5: hex(MD5_EMPTY) },
      wire: `28 00000005 612e747874 ffffffff ${MD5_EMPTY}`,
      events: [{ _tag: "Request", request: { _tag: "Resume", name: "a.txt", position: 0xffff_ffff, md5: MD5_EMPTY } }]
    },
    {
      label: "op 50 download many *.jpg",
      request: { _tag: "DownloadMany", mask: "*.jpg" },
      wire: "32 00000005 2a2e6a7067",
      events: [{ _tag: "Request", request: { _tag: "DownloadMany", mask: "*.jpg" } }]
    },
    {
      label: "op 50 download many with a nested mask using ? and [...]",
      request: { _tag: "DownloadMany", mask: "dir/[ab]?.txt" },
      wire: "32 0000000d 6469722f5b61625d3f2e747874",
      events: [{ _tag: "Request", request: { _tag: "DownloadMany", mask: "dir/[ab]?.txt" } }]
    }
  ]

  for (const { label, request, wire, events } of golden) {
    test(`${label}: encodes to ${wire}`, () => {
      expect(toHex(encodeRequest(request))).toBe(toHex(hex(wire)))
    })
    test(`${label}: decodes to the request`, () => {
      expect(decodeEveryWay(clientStream, hex(wire))).toEqual(events)
    })
  }

  test("op 30 upload b.bin: header, size and body", () => {
    const header = encodeRequest({ _tag: "Upload", name: "b.bin" })
    expect(toHex(header)).toBe(toHex(hex("1e 00000005 622e62696e")))
    const wire = hex("1e 00000005 622e62696e 00000003 010203")
    expect(toHex(concat([header, u32(3), hex("010203")]))).toBe(toHex(wire))
    expect(decodeEveryWay(clientStream, wire)).toEqual([
      { _tag: "Request", request: { _tag: "Upload", name: "b.bin" } },
      { _tag: "Size", size: 3 },
      { _tag: "Data", bytes: "010203" },
      { _tag: "End" }
    ])
  })

  test("op 30 upload of an empty file: size 0, no Data, one End", () => {
    const wire = hex("1e 00000001 78 00000000")
    expect(toHex(concat([encodeRequest({ _tag: "Upload", name: "x" }), u32(0)]))).toBe(toHex(wire))
    expect(decodeEveryWay(clientStream, wire)).toEqual([
      { _tag: "Request", request: { _tag: "Upload", name: "x" } },
      { _tag: "Size", size: 0 },
      { _tag: "End" }
    ])
  })

  test("op 30 upload of 2500 bytes (more than two 1024-byte blocks)", () => {
    const body = Uint8Array.from({ length: 2500 }, (_, i) => (i * 7) & 0xff)
    const wire = cat(hex("1e 00000005 622e62696e 000009c4"), body)
    expect(toHex(concat([encodeRequest({ _tag: "Upload", name: "b.bin" }), u32(2500), body]))).toBe(toHex(wire))
    expect(decodeEveryWay(clientStream, wire)).toEqual([
      { _tag: "Request", request: { _tag: "Upload", name: "b.bin" } },
      { _tag: "Size", size: 2500 },
      { _tag: "Data", bytes: toHex(body) },
      { _tag: "End" }
    ])
  })

  test("a 4096-byte name, the largest allowed, round trips", () => {
    const name = "a".repeat(4096)
    const wire = cat(hex("0a 00001000"), utf8(name))
    expect(toHex(encodeRequest({ _tag: "Download", name }))).toBe(toHex(wire))
    expect(decodeEveryWay(clientStream, wire)).toEqual([{ _tag: "Request", request: { _tag: "Download", name } }])
  })

  test("op 40 refuses to encode an MD5 that is not 16 bytes", () => {
    expect(() => encodeRequest({ _tag: "Resume", name: "a", position: 0, md5: new Uint8Array(15) })).toThrow(RangeError)
    expect(() => encodeRequest({ _tag: "Resume", name: "a", position: 0, md5: new Uint8Array(17) })).toThrow(RangeError)
  })

  test("op 40 refuses to encode a position that is not a u32", () => {
    expect(() => encodeRequest({ _tag: "Resume", name: "a", position: -1, md5: hex(MD5_EMPTY) })).toThrow(RangeError)
    expect(() => encodeRequest({ _tag: "Resume", name: "a", position: 2 ** 32, md5: hex(MD5_EMPTY) })).toThrow(
      RangeError
    )
  })
})

describe("replies: golden bytes decoded by each reply grammar", () => {
  describe("op 10 downloadReply", () => {
    test("status 0 with 5 bytes of data", () => {
      expect(decodeEveryWay(downloadReply, hex("00 00000005 68656c6c6f"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Size", size: 5 },
        { _tag: "Data", bytes: "68656c6c6f" },
        { _tag: "End" }
      ])
    })
    test("status 0 with an empty file", () => {
      expect(decodeEveryWay(downloadReply, hex("00 00000000"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Size", size: 0 },
        { _tag: "End" }
      ])
    })
    test("status 0 with 1500 bytes (one full block and a partial one)", () => {
      const body = Uint8Array.from({ length: 1500 }, (_, i) => (i * 13 + 5) & 0xff)
      expect(decodeEveryWay(downloadReply, cat(hex("00 000005dc"), body))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Size", size: 1500 },
        { _tag: "Data", bytes: toHex(body) },
        { _tag: "End" }
      ])
    })
    test("status 1: nothing follows", () => {
      expect(decodeEveryWay(downloadReply, hex("01"))).toEqual([{ _tag: "Status", status: 1 }])
    })
  })

  describe("op 20 listReply", () => {
    test("status 0 with a one-entry listing", () => {
      // [{"nome":"a.txt","tamanho":"123"}] is 34 = 0x22 bytes.
      const json = `[{"nome":"a.txt","tamanho":"123"}]`
      const jsonHex = "5b7b226e6f6d65223a22612e747874222c2274616d616e686f223a22313233227d5d"
      expect(toHex(utf8(json))).toBe(jsonHex)
      expect(decodeEveryWay(() => listReply(), hex(`00 00000022 ${jsonHex}`))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Listing", entries: [{ nome: "a.txt", tamanho: "123" }], json }
      ])
    })
    test("status 0 with two entries, one with a UTF-8 name", () => {
      const json = `[{"nome":"a.txt","tamanho":"3"},{"nome":"ação.txt","tamanho":"0"}]`
      const jsonHex =
        "5b7b226e6f6d65223a22612e747874222c2274616d616e686f223a2233227d2c" +
        "7b226e6f6d65223a2261c3a7c3a36f2e747874222c2274616d616e686f223a2230227d5d"
      expect(toHex(utf8(json))).toBe(jsonHex)
      expect(decodeEveryWay(() => listReply(), hex(`00 00000044 ${jsonHex}`))).toEqual([
        { _tag: "Status", status: 0 },
        {
          _tag: "Listing",
          entries: [
            { nome: "a.txt", tamanho: "3" },
            { nome: "ação.txt", tamanho: "0" }
          ],
          json
        }
      ])
    })
    test("status 0 with an empty listing []", () => {
      expect(decodeEveryWay(() => listReply(), hex("00 00000002 5b5d"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Listing", entries: [], json: "[]" }
      ])
    })
    test("a listing exactly as long as the cap is accepted", () => {
      // "[        ]" is 10 bytes: at the cap of listReply(10).
      expect(decodeEveryWay(() => listReply(10), hex("00 0000000a 5b 2020202020202020 5d"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Listing", entries: [], json: "[        ]" }
      ])
    })
    test("status 1: nothing follows", () => {
      expect(decodeEveryWay(() => listReply(), hex("01"))).toEqual([{ _tag: "Status", status: 1 }])
    })
  })

  describe("op 30 uploadReply", () => {
    test("accepted, then stored: 00 00", () => {
      expect(decodeEveryWay(uploadReply, hex("00 00"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Status", status: 0 }
      ])
    })
    test("accepted, then failed: 00 01", () => {
      expect(decodeEveryWay(uploadReply, hex("00 01"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Status", status: 1 }
      ])
    })
    test("refused: 01, nothing follows", () => {
      expect(decodeEveryWay(uploadReply, hex("01"))).toEqual([{ _tag: "Status", status: 1 }])
    })
  })

  describe("op 40 resumeReply", () => {
    test("accepted, hash ok, 3 remaining bytes: 00 00 00000003 616263", () => {
      expect(decodeEveryWay(resumeReply, hex("00 00 00000003 616263"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Status", status: 0 },
        { _tag: "Size", size: 3 },
        { _tag: "Data", bytes: "616263" },
        { _tag: "End" }
      ])
    })
    test("accepted, hash ok, nothing remaining: 00 00 00000000", () => {
      expect(decodeEveryWay(resumeReply, hex("00 00 00000000"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Status", status: 0 },
        { _tag: "Size", size: 0 },
        { _tag: "End" }
      ])
    })
    test("accepted, file not found: 00 0a", () => {
      expect(decodeEveryWay(resumeReply, hex("00 0a"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Status", status: 10 }
      ])
    })
    test("accepted, hash mismatch: 00 14", () => {
      expect(decodeEveryWay(resumeReply, hex("00 14"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Status", status: 20 }
      ])
    })
    test("refused: 01, nothing follows", () => {
      expect(decodeEveryWay(resumeReply, hex("01"))).toEqual([{ _tag: "Status", status: 1 }])
    })
  })

  describe("op 50 downloadManyReply", () => {
    // Manifest of a.txt (3 bytes) and b.txt (2 bytes) for the mask *.txt.
    const manifestHex = "00 00000002 00000005 612e747874 00000003 00000005 622e747874 00000002"

    test("two files: the first skipped (01), the second sent (00)", () => {
      expect(decodeEveryWay(() => downloadManyReply("*.txt"), hex(`${manifestHex} 01 00 00000002 6869`))).toEqual([
        { _tag: "Status", status: 0 },
        {
          _tag: "Manifest",
          entries: [
            { name: "a.txt", size: 3 },
            { name: "b.txt", size: 2 }
          ]
        },
        { _tag: "FileSkipped", index: 0 },
        { _tag: "FileStart", index: 1, size: 2 },
        { _tag: "Data", bytes: "6869" },
        { _tag: "End" }
      ])
    })

    test("two files, both sent: each body ends with its own End", () => {
      const wire = hex(`${manifestHex} 00 00000003 616263 00 00000002 6869`)
      expect(decodeEveryWay(() => downloadManyReply("*.txt"), wire)).toEqual([
        { _tag: "Status", status: 0 },
        {
          _tag: "Manifest",
          entries: [
            { name: "a.txt", size: 3 },
            { name: "b.txt", size: 2 }
          ]
        },
        { _tag: "FileStart", index: 0, size: 3 },
        { _tag: "Data", bytes: "616263" },
        { _tag: "End" },
        { _tag: "FileStart", index: 1, size: 2 },
        { _tag: "Data", bytes: "6869" },
        { _tag: "End" }
      ])
    })

    test("a nested mask and name: d/*.jpg announces d/x.jpg", () => {
      const wire = hex("00 00000001 00000007 642f782e6a7067 00000000 00 00000000")
      expect(decodeEveryWay(() => downloadManyReply("d/*.jpg"), wire)).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Manifest", entries: [{ name: "d/x.jpg", size: 0 }] },
        { _tag: "FileStart", index: 0, size: 0 },
        { _tag: "End" }
      ])
    })

    test("status 02: too many matches, with matches and cap", () => {
      expect(decodeEveryWay(() => downloadManyReply("*"), hex("02 00002711 00002710"))).toEqual([
        { _tag: "Status", status: 2 },
        { _tag: "Limit", matches: 10_001, cap: 10_000 }
      ])
    })

    test("empty manifest: count 0, nothing follows", () => {
      expect(decodeEveryWay(() => downloadManyReply("*.jpg"), hex("00 00000000"))).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Manifest", entries: [] }
      ])
    })

    test("a count exactly at the cap is accepted", () => {
      const wire = hex("00 00000001 00000005 612e747874 00000000 01")
      expect(decodeEveryWay(() => downloadManyReply("*.txt", 1), wire)).toEqual([
        { _tag: "Status", status: 0 },
        { _tag: "Manifest", entries: [{ name: "a.txt", size: 0 }] },
        { _tag: "FileSkipped", index: 0 }
      ])
    })

    test("status 01: nothing follows", () => {
      expect(decodeEveryWay(() => downloadManyReply("*.jpg"), hex("01"))).toEqual([{ _tag: "Status", status: 1 }])
    })
  })
})

describe("reply encoders", () => {
  test("encodeStatus is one byte", () => {
    expect(toHex(encodeStatus(0))).toBe("00")
    expect(toHex(encodeStatus(1))).toBe("01")
    expect(toHex(encodeStatus(20))).toBe("14")
  })

  test("encodeStatusSize is the status then a big-endian u32", () => {
    expect(toHex(encodeStatusSize(0, 5))).toBe("0000000005")
    expect(toHex(encodeStatusSize(0, 0))).toBe("0000000000")
    expect(toHex(encodeStatusSize(0, 0x01020304))).toBe("0001020304")
    expect(toHex(encodeStatusSize(0, 0xffff_ffff))).toBe("00ffffffff")
    expect(() => encodeStatusSize(0, 2 ** 32)).toThrow(RangeError)
  })

  test("encodeManifest writes count, then each name with its length and size", () => {
    const bytes = encodeManifest(0, [
      { name: "a.txt", size: 3 },
      { name: "b.txt", size: 2 }
    ])
    expect(toHex(bytes)).toBe(toHex(hex("00 00000002 00000005 612e747874 00000003 00000005 622e747874 00000002")))
  })

  test("encodeManifest counts name lengths in UTF-8 bytes", () => {
    expect(toHex(encodeManifest(0, [{ name: "ação.txt", size: 256 }]))).toBe(
      toHex(hex("00 00000001 0000000a 61c3a7c3a36f2e747874 00000100"))
    )
  })

  test("encodeManifest of no entries is status and count 0", () => {
    expect(toHex(encodeManifest(0, []))).toBe("0000000000")
  })

  test("encodeLimit is the status, matches and cap", () => {
    expect(toHex(encodeLimit(2, 10_001, 10_000))).toBe(toHex(hex("02 00002711 00002710")))
  })

  test("encoded replies decode back to the same values", () => {
    const wire = concat([encodeManifest(0, [{ name: "a.txt", size: 3 }]), encodeStatusSize(0, 3), utf8("abc")])
    expect(toHex(wire)).toBe(toHex(hex("00 00000001 00000005 612e747874 00000003 00 00000003 616263")))
    expect(decodeEveryWay(() => downloadManyReply("*.txt"), wire)).toEqual([
      { _tag: "Status", status: 0 },
      { _tag: "Manifest", entries: [{ name: "a.txt", size: 3 }] },
      { _tag: "FileStart", index: 0, size: 3 },
      { _tag: "Data", bytes: "616263" },
      { _tag: "End" }
    ])
  })
})

describe("u32", () => {
  test.each([
    [0, "00000000"],
    [1, "00000001"],
    [255, "000000ff"],
    [256, "00000100"],
    [0x01020304, "01020304"],
    [0x7fff_ffff, "7fffffff"],
    [0x8000_0000, "80000000"],
    [0xffff_ffff, "ffffffff"]
  ])("u32(%p) is %s", (value, expected) => {
    expect(toHex(u32(value))).toBe(expected)
  })

  test.each([[-1], [2 ** 32], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], [-0.5]])(
    "u32(%p) throws a RangeError",
    (value) => {
      expect(() => u32(value)).toThrow(RangeError)
    }
  )

  test("u32 encodes exactly the numbers fitsU32 accepts (the one 32-bit rule)", () => {
    expect(MAX_U32).toBe(2 ** 32 - 1)
    for (const value of [0, 1, 4096, MAX_U32 - 1, MAX_U32]) {
      expect(fitsU32(value)).toBe(true)
      expect(() => u32(value)).not.toThrow()
    }
    for (const value of [-1, MAX_U32 + 1, 2 ** 53, 1.5, -0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(fitsU32(value)).toBe(false)
      expect(() => u32(value)).toThrow(RangeError)
    }
  })

  test("concat joins parts in order", () => {
    expect(toHex(concat([hex("01"), new Uint8Array(0), hex("0203")]))).toBe("010203")
    expect(concat([]).length).toBe(0)
  })
})

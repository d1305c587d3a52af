import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import { Decoder } from "../../src/domain/decoder.ts"
import { u32 } from "../../src/domain/encode.ts"
import type { ClientEvent } from "../../src/domain/messages.ts"
import { clientStream, encodeRequest } from "../../src/domain/operations.ts"
import {
  clientNamedBy,
  encodeProxyV1,
  encodeProxyV2,
  type ProxyHeader,
  proxyHeader,
  V1_MAX_LINE,
  withProxyHeader
} from "../../src/domain/proxyHeader.ts"
import { cat, decodeEveryWay, failurePoint, hex, toHex, utf8 } from "./bytes.ts"

/**
 * Golden vectors of the PROXY protocol header (HAProxy's
 * doc/proxy-protocol.txt), written out byte for byte; each is decoded whole,
 * one byte at a time and cut at every point, alone and with the request that
 * follows it on the same connection.
 */

type Event = { readonly _tag: "Header"; readonly header: ProxyHeader }
const header = () => proxyHeader<Event>((h) => ({ _tag: "Header", header: h }))
const proxied = () => withProxyHeader<ClientEvent>(clientStream, (h) => ({ _tag: "Proxy", header: h }))

const SIG = "0d0a0d0a000d0a515549540a"

const relayed = (version: 1 | 2, source: string, sourcePort: number, destination: string, destinationPort: number) => ({
  _tag: "Relayed",
  version,
  source: { address: source, port: sourcePort },
  destination: { address: destination, port: destinationPort }
})

const golden: ReadonlyArray<{ readonly label: string; readonly wire: Uint8Array; readonly header: unknown }> = [
  {
    label: "v1 TCP4, the specification's example",
    wire: utf8("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
    header: relayed(1, "192.168.0.1", 56324, "192.168.0.11", 443)
  },
  {
    label: "v1 TCP4 at its longest (56 bytes)",
    wire: utf8("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"),
    header: relayed(1, "255.255.255.255", 65535, "255.255.255.255", 65535)
  },
  {
    label: "v1 TCP4 with zeros (a lone 0 is not a leading zero)",
    wire: utf8("PROXY TCP4 10.0.0.7 0.0.0.0 0 20000\r\n"),
    header: relayed(1, "10.0.0.7", 0, "0.0.0.0", 20000)
  },
  {
    label: "v1 TCP6, compressed",
    wire: utf8("PROXY TCP6 2001:db8::1 ::1 40000 20000\r\n"),
    header: relayed(1, "2001:db8::1", 40000, "::1", 20000)
  },
  {
    label: "v1 TCP6 written out in upper case: the address is made canonical",
    wire: utf8("PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 0000:0000:0000:0000:0000:0000:0000:0001 1 2\r\n"),
    header: relayed(1, "2001:db8::1", 1, "::1", 2)
  },
  {
    label: "v1 TCP6 with an IPv4-mapped source (as inet_ntop writes it): shown as IPv4",
    wire: utf8("PROXY TCP6 ::ffff:127.0.0.7 ::ffff:127.0.0.1 5000 20000\r\n"),
    header: relayed(1, "127.0.0.7", 5000, "127.0.0.1", 20000)
  },
  {
    label: "v1 UNKNOWN, short form",
    wire: utf8("PROXY UNKNOWN\r\n"),
    header: { _tag: "Local", version: 1, why: "UNKNOWN" }
  },
  {
    label: `v1 UNKNOWN at the longest line (${V1_MAX_LINE} bytes): the rest of the line is ignored`,
    wire: utf8(`PROXY UNKNOWN ${"ffff:".repeat(7)}ffff ${"ffff:".repeat(7)}ffff 65535 65535\r\n`),
    header: { _tag: "Local", version: 1, why: "UNKNOWN" }
  },
  {
    label: "v2 LOCAL (a health check), no address",
    wire: hex(`${SIG} 20 00 0000`),
    header: { _tag: "Local", version: 2, why: "LOCAL" }
  },
  {
    label: "v2 LOCAL with an address block: skipped, family ignored",
    wire: hex(`${SIG} 20 11 000c 7f000007 7f000001 d431 4e20`),
    header: { _tag: "Local", version: 2, why: "LOCAL" }
  },
  {
    label: "v2 PROXY TCP over IPv4",
    wire: hex(`${SIG} 21 11 000c 7f000007 7f000001 d431 4e20`),
    header: relayed(2, "127.0.0.7", 0xd431, "127.0.0.1", 20000)
  },
  {
    label: "v2 PROXY TCP over IPv4 followed by TLVs (NOOP, UNIQUE_ID): skipped",
    wire: hex(`${SIG} 21 11 0017 c0a80001 c0a8000b dc04 01bb 04 0001 00 05 0004 61626364`),
    header: relayed(2, "192.168.0.1", 56324, "192.168.0.11", 443)
  },
  {
    label: "v2 PROXY TCP over IPv6",
    wire: hex(`${SIG} 21 21 0024 20010db8000000000000000000000001 00000000000000000000000000000001 9c40 4e20`),
    header: relayed(2, "2001:db8::1", 40000, "::1", 20000)
  },
  {
    label: "v2 PROXY TCP over IPv6 with an IPv4-mapped source: shown as IPv4",
    wire: hex(`${SIG} 21 21 0024 00000000000000000000ffff7f000007 00000000000000000000ffff7f000001 1388 4e20`),
    header: relayed(2, "127.0.0.7", 5000, "127.0.0.1", 20000)
  },
  {
    label: "v2 PROXY UNSPEC: the connection's own address stands",
    wire: hex(`${SIG} 21 00 0000`),
    header: { _tag: "Local", version: 2, why: "UNSPEC" }
  },
  {
    label: "v2 PROXY UDP over IPv4: not a TCP client, treated as unspecified",
    wire: hex(`${SIG} 21 12 000c 7f000007 7f000001 d431 4e20`),
    header: { _tag: "Local", version: 2, why: "DGRAM" }
  },
  {
    label: "v2 PROXY UNIX stream (2 x 108 bytes): treated as unspecified",
    wire: hex(`${SIG} 21 31 00d8 ${"00".repeat(216)}`),
    header: { _tag: "Local", version: 2, why: "UNIX" }
  }
]

describe("PROXY header golden vectors", () => {
  for (const { label, wire, header: expected } of golden) {
    test(`${label}: decodes alone`, () => {
      expect(decodeEveryWay(header, wire)).toEqual([{ _tag: "Header", header: expected }])
    })
    test(`${label}: then op 20 on the same connection`, () => {
      expect(decodeEveryWay(proxied, cat(wire, hex("14")))).toEqual([
        { _tag: "Proxy", header: expected },
        { _tag: "Request", request: { _tag: "List" } }
      ])
    })
  }

  test("header then an upload with its body: nothing of the body is taken by the header", () => {
    const wire = cat(
      hex(`${SIG} 21 11 000c 7f000007 7f000001 d431 4e20`),
      encodeRequest({ _tag: "Upload", name: "a.txt" }),
      u32(4),
      hex("0d0a0d0a")
    )
    expect(decodeEveryWay(proxied, wire)).toEqual([
      { _tag: "Proxy", header: relayed(2, "127.0.0.7", 0xd431, "127.0.0.1", 20000) },
      { _tag: "Request", request: { _tag: "Upload", name: "a.txt" } },
      { _tag: "Size", size: 4 },
      { _tag: "Data", bytes: "0d0a0d0a" },
      { _tag: "End" }
    ])
  })
})

describe("encoders", () => {
  test("v1 of an IPv4 and of an IPv6 client", () => {
    expect(
      new TextDecoder().decode(
        encodeProxyV1({ address: "127.0.0.7", port: 5000 }, { address: "127.0.0.1", port: 20000 })
      )
    ).toBe("PROXY TCP4 127.0.0.7 127.0.0.1 5000 20000\r\n")
    expect(new TextDecoder().decode(encodeProxyV1({ address: "::1", port: 1 }, { address: "::1", port: 2 }))).toBe(
      "PROXY TCP6 ::1 ::1 1 2\r\n"
    )
  })
  test("v2 LOCAL, IPv4 and IPv6 give the golden bytes", () => {
    expect(toHex(encodeProxyV2())).toBe(`${SIG}20000000`)
    expect(
      toHex(
        encodeProxyV2({
          source: { address: "127.0.0.7", port: 0xd431 },
          destination: { address: "127.0.0.1", port: 20000 }
        })
      )
    ).toBe(`${SIG}2111000c7f0000077f000001d4314e20`)
    expect(
      toHex(
        encodeProxyV2({ source: { address: "2001:db8::1", port: 40000 }, destination: { address: "::1", port: 20000 } })
      )
    ).toBe(`${SIG}21210024${"20010db8000000000000000000000001"}${"00000000000000000000000000000001"}9c404e20`)
  })
})

describe("clientNamedBy", () => {
  const own = { remote: "127.0.0.1:40000", address: "127.0.0.1" }
  test("a relayed header names the client", () => {
    expect(clientNamedBy(relayed(2, "127.0.0.7", 5000, "127.0.0.1", 1) as ProxyHeader, own)).toEqual({
      remote: "127.0.0.7:5000",
      address: "127.0.0.7"
    })
    expect(clientNamedBy(relayed(1, "2001:db8::1", 5000, "::1", 1) as ProxyHeader, own)).toEqual({
      remote: "[2001:db8::1]:5000",
      address: "2001:db8::1"
    })
  })
  test("LOCAL and UNKNOWN keep the connection's own", () => {
    expect(clientNamedBy({ _tag: "Local", version: 2, why: "LOCAL" }, own)).toBe(own)
    expect(clientNamedBy({ _tag: "Local", version: 1, why: "UNKNOWN" }, own)).toBe(own)
  })
})

/** The violation `bytes` cause, one byte at a time: where it happens, and that it is a BadProxyHeader. */
const refusedAt = (bytes: Uint8Array) => {
  const { at, violation } = failurePoint(proxied(), bytes)
  expect(violation.reason).toBe("BadProxyHeader")
  return { at, detail: violation.detail }
}

describe("what is not a PROXY header is refused as soon as it shows", () => {
  test("a plain request (op 20, op 10) fails at its first byte", () => {
    expect(refusedAt(hex("14")).at).toBe(1)
    expect(refusedAt(encodeRequest({ _tag: "Download", name: "a.txt" })).at).toBe(1)
  })
  test("HTTP and TLS fail at the first byte", () => {
    expect(refusedAt(utf8("GET / HTTP/1.1\r\n\r\n")).at).toBe(1)
    expect(refusedAt(hex("16030100")).at).toBe(1)
  })
  test("a near miss of each signature fails at the wrong byte", () => {
    expect(refusedAt(utf8("PROXZ TCP4")).at).toBe(5)
    expect(refusedAt(utf8("PROXYTCP4")).at).toBe(6)
    expect(refusedAt(hex("0d0a0d0a000d0a5155495420")).at).toBe(12)
    expect(refusedAt(hex("0d0a0d0a010d")).at).toBe(5)
  })
})

describe("v1 lines that break the specification", () => {
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["LF without CR", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", /LF sem CR/],
    ["CR without LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", /CR sem LF/],
    ["a leading zero in an address", "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", /origem TCP4 inválido/],
    ["a leading zero in a port", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", /porta de origem/],
    ["a port over 65535", "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", /porta de destino/],
    ["an octet over 255", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", /origem TCP4/],
    ["two spaces", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", /5 campos/],
    ["a field too many", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", /5 campos/],
    ["a field missing", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", /5 campos/],
    ["an unknown protocol", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", /TCP5/],
    ["UDP4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", /UDP4/],
    ["lower case tcp4", "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", /tcp4/],
    ["an IPv6 address under TCP4", "PROXY TCP4 ::1 ::1 1 2\r\n", /origem TCP4/],
    ["an IPv4 address under TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", /origem TCP6/],
    ["two :: in an IPv6 address", "PROXY TCP6 1::2::3 ::1 1 2\r\n", /origem TCP6/],
    ["nine IPv6 groups", "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", /origem TCP6/],
    ["seven IPv6 groups without ::", "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", /origem TCP6/],
    ["a five-digit IPv6 group", "PROXY TCP6 12345::1 ::1 1 2\r\n", /origem TCP6/],
    ["UNKNOWN glued to a field", "PROXY UNKNOWNX\r\n", /UNKNOWNX/],
    ["an empty line", "PROXY \r\n", /protocolo ""/]
  ]
  for (const [label, line, detail] of cases) {
    test(label, () => {
      const { detail: said } = refusedAt(utf8(line))
      expect(said).toMatch(detail)
    })
  }

  test("a control or non-ASCII byte in the line", () => {
    expect(refusedAt(cat(utf8("PROXY TCP4 1.2.3.4"), hex("00"))).detail).toMatch(/0x00/)
    expect(refusedAt(cat(utf8("PROXY TCP4 "), utf8("á"))).detail).toMatch(/0xc3/)
  })

  test(`no CRLF within ${V1_MAX_LINE} bytes: refused at byte ${V1_MAX_LINE}, without waiting for more`, () => {
    const long = utf8(`PROXY UNKNOWN ${"x".repeat(200)}`)
    const { at, detail } = refusedAt(long)
    expect(at).toBe(V1_MAX_LINE)
    expect(detail).toMatch(/sem CRLF/)
  })

  test(`a line of ${V1_MAX_LINE} bytes is the longest accepted; one byte more is refused`, () => {
    const line = (extra: number) => utf8(`PROXY UNKNOWN ${"x".repeat(V1_MAX_LINE - 16 + extra)}\r\n`)
    expect(line(0).length).toBe(V1_MAX_LINE)
    expect(decodeEveryWay(header, line(0))).toEqual([
      { _tag: "Header", header: { _tag: "Local", version: 1, why: "UNKNOWN" } }
    ])
    expect(refusedAt(line(1)).detail).toMatch(/sem CRLF/)
  })
})

describe("v2 blocks that break the specification", () => {
  test("version other than 2 fails at byte 13", () => {
    for (const versionCommand of ["11", "01", "31", "f1"]) {
      const { at, detail } = refusedAt(hex(`${SIG} ${versionCommand} 11 000c`))
      expect(at).toBe(13)
      expect(detail).toMatch(/versão/)
    }
  })
  test("a command other than LOCAL or PROXY fails at byte 13", () => {
    const { at, detail } = refusedAt(hex(`${SIG} 22 11 000c`))
    expect(at).toBe(13)
    expect(detail).toMatch(/comando 0x02/)
  })
  test("an unassigned family or protocol fails once the block is read", () => {
    for (const family of ["13", "41", "01", "10", "20", "ff"]) {
      const { at, detail } = refusedAt(hex(`${SIG} 21 ${family} 000c ${"00".repeat(12)}`))
      expect(at).toBe(28)
      expect(detail).toMatch(/família/)
    }
  })
  test("an address block shorter than the family needs", () => {
    expect(refusedAt(hex(`${SIG} 21 11 0008 ${"00".repeat(8)}`)).detail).toMatch(/8 bytes de endereço/)
    expect(refusedAt(hex(`${SIG} 21 21 000c ${"00".repeat(12)}`)).detail).toMatch(/12 bytes de endereço/)
  })
  test("a header cut short is Truncated when the connection ends", () => {
    const decoder = new Decoder(proxied())
    const fed = decoder.feed(hex(`${SIG} 21 11 000c 7f00`))
    expect(Either.isRight(fed) && fed.right.length).toBe(0)
    const ended = decoder.end()
    expect(Either.isLeft(ended) && ended.left.reason).toBe("Truncated")
  })
})

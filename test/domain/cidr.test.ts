import { describe, expect, test } from "bun:test"
import { Either } from "effect"
import { contains, LOOPBACK, parseCidr } from "../../src/domain/cidr.ts"
import { formatIp, parseIPv4, parseIPv6, parseIp } from "../../src/domain/ipAddress.ts"
import { hex, toHex } from "./bytes.ts"

describe("parseIPv4 / parseIPv6", () => {
  test("IPv4: exactly four numbers 0..255 without leading zeros", () => {
    expect(toHex(parseIPv4("127.0.0.7")!)).toBe("7f000007")
    expect(toHex(parseIPv4("255.255.255.255")!)).toBe("ffffffff")
    for (const bad of [
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      "1.2.3.256",
      "1.2.3.-1",
      "1.2.3.a",
      "",
      "1..2.3",
      " 1.2.3.4"
    ]) {
      expect(parseIPv4(bad)).toBeUndefined()
    }
  })
  test("IPv6: groups, one ::, 128 bits, a dotted IPv4 tail", () => {
    expect(toHex(parseIPv6("::")!)).toBe("00".repeat(16))
    expect(toHex(parseIPv6("::1")!)).toBe(`${"00".repeat(15)}01`)
    expect(toHex(parseIPv6("2001:DB8::8:800:200C:417A")!)).toBe("20010db8000000000008080020 0c417a".replace(" ", ""))
    expect(toHex(parseIPv6("1:2:3:4:5:6:7:8")!)).toBe("00010002000300040005000600070008")
    expect(toHex(parseIPv6("::ffff:127.0.0.1")!)).toBe("00000000000000000000ffff7f000001")
    for (const bad of [
      "",
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "g::",
      "1.2.3.4::",
      "::1.2.3",
      "1:2:3:4:5:6:7::8:9"
    ]) {
      expect(parseIPv6(bad)).toBeUndefined()
    }
  })
})

describe("formatIp: one canonical text per address (RFC 5952; IPv4 and mapped as dotted)", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["7f000007", "127.0.0.7"],
    ["00000000000000000000ffff7f000007", "127.0.0.7"],
    [`${"00".repeat(15)}01`, "::1"],
    ["00".repeat(16), "::"],
    ["20010db8000000000000000000000001", "2001:db8::1"],
    ["20010db8000000010000000000000001", "2001:db8:0:1::1"],
    // The longest run of zeros is compressed; on a tie, the first.
    ["20010db8000000000001000000000001", "2001:db8::1:0:0:1"],
    // A single zero group is not compressed.
    ["20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"],
    ["fe800000000000000000000000000000", "fe80::"]
  ]
  for (const [bytes, text] of cases) {
    test(`${bytes} -> ${text}`, () => {
      expect(formatIp(hex(bytes))).toBe(text)
      expect(formatIp(parseIp(text)!)).toBe(text)
    })
  }
})

describe("parseCidr and contains", () => {
  const cidr = (text: string) => Either.getOrThrow(parseCidr(text))
  const ip = (text: string) => parseIp(text)!

  test("IPv4 blocks, also matching the IPv4-mapped form", () => {
    expect(contains(cidr("10.0.0.0/8"), ip("10.255.1.2"))).toBe(true)
    expect(contains(cidr("10.0.0.0/8"), ip("11.0.0.0"))).toBe(false)
    expect(contains(cidr("10.0.0.0/8"), ip("::ffff:10.1.2.3"))).toBe(true)
    expect(contains(cidr("192.168.1.128/25"), ip("192.168.1.200"))).toBe(true)
    expect(contains(cidr("192.168.1.128/25"), ip("192.168.1.127"))).toBe(false)
    expect(contains(cidr("0.0.0.0/0"), ip("8.8.8.8"))).toBe(true)
    expect(contains(cidr("0.0.0.0/0"), ip("2001:db8::1"))).toBe(false)
  })
  test("a bare address is a block of one", () => {
    expect(contains(cidr("10.0.0.5"), ip("10.0.0.5"))).toBe(true)
    expect(contains(cidr("10.0.0.5"), ip("10.0.0.6"))).toBe(false)
    expect(contains(cidr("2001:db8::5"), ip("2001:db8::5"))).toBe(true)
  })
  test("IPv6 blocks", () => {
    expect(contains(cidr("2001:db8::/32"), ip("2001:db8:ffff::1"))).toBe(true)
    expect(contains(cidr("2001:db8::/32"), ip("2001:db9::1"))).toBe(false)
    expect(contains(cidr("::/0"), ip("10.0.0.1"))).toBe(true)
  })
  test("loopback: 127.0.0.0/8 and ::1, nothing else", () => {
    const trusted = (text: string) => LOOPBACK.some((block) => contains(block, ip(text)))
    expect(trusted("127.0.0.1")).toBe(true)
    expect(trusted("127.9.8.7")).toBe(true)
    expect(trusted("::1")).toBe(true)
    expect(trusted("::2")).toBe(false)
    expect(trusted("10.0.0.1")).toBe(false)
    expect(trusted("128.0.0.1")).toBe(false)
  })
  test("refused: bad address, bad prefix, host bits after the prefix", () => {
    for (const bad of [
      "",
      "10.0.0.0/",
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/8/8",
      "10.0.0/8",
      "x/8",
      "10.0.0.0/-1",
      "10.0.0.0/08x"
    ]) {
      expect(Either.isLeft(parseCidr(bad))).toBe(true)
    }
    const typo = parseCidr("10.0.0.1/8")
    expect(Either.isLeft(typo) && typo.left).toMatch(/10\.0\.0\.0\/8/)
  })
})

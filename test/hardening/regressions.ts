/**
 * Inputs replayed against the live server by fuzz.test.ts ("regressions").
 * Each is the exact byte string one connection sends (then FIN), in hex.
 *
 * How to add one: when the mutation fuzzer in fuzz.test.ts fails, it prints
 * every failing input as hex; paste each here with a note saying what went
 * wrong, fix the server, and the replay keeps it fixed.
 *
 * The mutation fuzzer (seed 0x5eed, 400 inputs) has found no failing input
 * so far; the entries below are the edge cases of the hand-written battery
 * that sit closest to a boundary, kept so the replay exercises each of them
 * through the same oracle (one well-formed reply, no outside byte, server
 * still serving) on every run.
 */
export interface Regression {
  readonly hex: string
  readonly note: string
}

export const REGRESSIONS: ReadonlyArray<Regression> = [
  { hex: "", note: "connect and close at once" },
  { hex: "ff", note: "highest unknown opcode" },
  { hex: "00", note: "opcode 0" },
  { hex: "0affffffff", note: "op 10, name length 0xFFFFFFFF, nothing after it" },
  { hex: "0a00000000", note: "op 10, name length 0" },
  { hex: "0a00001001", note: "op 10, name length 4097" },
  { hex: "0a000000022e2e", note: "op 10 '..'" },
  { hex: "0a000000062e2ec0af7878", note: "op 10, overlong '/' (c0 af)" },
  { hex: "0a0000000b6e6f726d616c2e74787400", note: "op 10 'normal.txt' + NUL" },
  { hex: "0a0000000b6e6f726d616c2e7478742e", note: "op 10 'normal.txt.' (trailing dot must not alias)" },
  { hex: "1e000000077570312e747874ffffffff6162", note: "op 30, size 0xFFFFFFFF, two bytes, then FIN" },
  { hex: "1e000000077570322e74787400000003616263646566", note: "op 30, three bytes declared, six sent" },
  { hex: "1e000000077570332e747874000000", note: "op 30 cut inside the size" },
  {
    hex: "280000000a6e6f726d616c2e747874ffffffff00000000000000000000000000000000",
    note: "op 40, position 0xFFFFFFFF"
  },
  {
    hex: "280000000a6e6f726d616c2e74787400000000d41d8cd98f00b204e9800998ecf842",
    note: "op 40 cut one byte before the end of the MD5"
  },
  { hex: "32000000085b2e5d5b2e5d2f2a", note: "op 50 '[.][.]/*' (brackets spelling ..)" },
  { hex: "32000000022a2a", note: "op 50 '**'" },
  { hex: "32000000042e2e2f2a", note: "op 50 '../*'" },
  { hex: "140a0000000a6e6f726d616c2e747874", note: "op 20 followed by a pipelined op 10" }
]

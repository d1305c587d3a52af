/**
 * Wire constants of the protocol. Every number that appears on the wire is
 * named here and nowhere else; PROTOCOL.md is the prose version of this file.
 */

export const Opcode = {
  Download: 10,
  List: 20,
  Upload: 30,
  Resume: 40,
  DownloadMany: 50
} as const
export type Opcode = (typeof Opcode)[keyof typeof Opcode]

export const Status = {
  /** Success / accepted / data follows. */
  Ok: 0,
  /** Refused, missing, or unidentified error: nothing more follows. */
  Error: 1,
  /** op 50 only: the mask matched more files than the server allows. */
  TooManyMatches: 2,
  /** op 40, second status: the file does not exist. */
  NotFound: 10,
  /** op 40, second status: the MD5 of the part held does not match. */
  HashMismatch: 20
} as const
export type Status = (typeof Status)[keyof typeof Status]

/**
 * The first byte of a TLS record: a handshake (what a TLS client sends
 * first) or an alert (what a TLS server answers to bytes that are not TLS).
 * Neither is an opcode or a status: where one of them comes first, the peer
 * speaks TLS and this side does not (PROTOCOL.md, TLS).
 */
export const TLS_HANDSHAKE_RECORD = 0x16
export const TLS_ALERT_RECORD = 0x15

/** Largest name (or mask) length accepted, in bytes of UTF-8. */
export const MAX_NAME_BYTES = 4096

/** Largest value of an unsigned 32-bit integer: sizes must be at most this. */
export const MAX_U32 = 0xffff_ffff

/**
 * Whether a number fits a 32-bit field of the protocol (a size, a length, a
 * position): a whole number from 0 to MAX_U32. Every such check is this one.
 */
export const fitsU32 = (value: number): boolean => Number.isInteger(value) && value >= 0 && value <= MAX_U32

/** Largest number of files one op 50 reply may carry. */
export const MAX_MANY_MATCHES = 10_000

/** Largest listing JSON a client accepts (a client-side safety cap). */
export const MAX_LISTING_BYTES = 64 * 1024 * 1024

/** Length of a raw MD5 digest. */
export const MD5_BYTES = 16

export const DEFAULT_PORT = 20000

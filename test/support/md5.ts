/** The one MD5 of the tests (Bun's own hasher): the raw 16 bytes, or hex. */
export const md5 = (bytes: Uint8Array | string): Uint8Array =>
  new Bun.CryptoHasher("md5").update(bytes).digest() as Uint8Array

export const md5Hex = (bytes: Uint8Array | string): string => new Bun.CryptoHasher("md5").update(bytes).digest("hex")

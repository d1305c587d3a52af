import { writeFile } from "node:fs/promises"
import * as path from "node:path"
import { capture } from "./system.ts"

/**
 * The TLS of the bench's second server of ours: a CA and a server
 * certificate for 127.0.0.1 made with openssl in the bench's temporary
 * folder (EC P-256, as an operator following docs/TLS.md would make).
 */
export interface BenchTls {
  /** The CA file the clients check the server's certificate with. */
  readonly ca: string
  readonly certificate: string
  readonly key: string
}

const openssl = async (args: ReadonlyArray<string>, cwd: string) => {
  const { code, stderr } = await capture(["openssl", ...args], { cwd })
  if (code !== 0) throw new Error(`openssl ${args[0]}: ${stderr.trim().slice(0, 300)}`)
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

/** Makes the CA and the server certificate in `tmp`. */
export const makeBenchTls = async (tmp: string): Promise<BenchTls> => {
  await openssl(
    ["req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=CA do bench"],
    tmp
  )
  await openssl(["req", ...EC, "-keyout", "servidor.key", "-out", "servidor.csr", "-subj", "/CN=127.0.0.1"], tmp)
  await writeFile(path.join(tmp, "servidor.ext"), "subjectAltName=IP:127.0.0.1\n")
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      "servidor.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "servidor.pem",
      "-days",
      "2",
      "-extfile",
      "servidor.ext"
    ],
    tmp
  )
  return {
    ca: path.join(tmp, "ca.pem"),
    certificate: path.join(tmp, "servidor.pem"),
    key: path.join(tmp, "servidor.key")
  }
}

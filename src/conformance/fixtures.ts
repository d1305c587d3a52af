import { mkdir, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { type Context, skipWith } from "./check.ts"
import { content, describeUpload, upload } from "./session.ts"

/**
 * The files the checks read, named under the run's unique prefix and created
 * on the server with op 30 (or, when op 30 fails and `--pasta` is given,
 * written straight into the folder, so one broken operation does not hide the
 * results of the others).
 */

export interface Fixture {
  readonly name: string
  readonly data: Uint8Array
}

export const fileA = (context: Context): Fixture => ({ name: `${context.prefix}-a.bin`, data: content(3000, 1) })
export const emptyFile = (context: Context): Fixture => ({
  name: `${context.prefix}-vazio.txt`,
  data: new Uint8Array(0)
})
export const largeFile = (context: Context): Fixture => ({
  name: `${context.prefix}-grande.bin`,
  data: content(1024 * 1024 + 7, 2)
})
/** Big enough to fill both sockets' buffers on loopback, so a reader that stops reading stalls the sender. */
export const hugeFile = (context: Context): Fixture => ({
  name: `${context.prefix}-enorme.bin`,
  data: content(32 * 1024 * 1024, 3)
})
export const nestedFile = (context: Context): Fixture => ({
  name: `${context.prefix}-d/sub/c.txt`,
  data: content(77, 4)
})
export const manyFiles = (context: Context): ReadonlyArray<Fixture> => [
  { name: `${context.prefix}-m-1.txt`, data: content(10, 5) },
  { name: `${context.prefix}-m-2.txt`, data: content(2000, 6) },
  { name: `${context.prefix}-m-3.txt`, data: new Uint8Array(0) },
  { name: `${context.prefix}-m-4.bin`, data: content(5, 7) }
]

const made = new Map<string, Promise<void>>()

const create = async (context: Context, fixture: Fixture): Promise<void> => {
  const outcome = await upload(context, fixture.name, fixture.data)
  if (outcome.first === 0 && outcome.second === 0) return
  // A server still busy with the upload may yet rename its own copy over ours: only
  // a finished refusal or a closed connection lets the checker write the file itself.
  if (context.folder !== undefined && !outcome.timedOut) {
    const target = path.join(context.folder, ...fixture.name.split("/"))
    await mkdir(path.dirname(target), { recursive: true })
    await writeFile(target, fixture.data)
    return
  }
  skipWith(
    `não foi possível criar o arquivo de teste "${fixture.name}" com op 30 (${describeUpload(outcome)}); use --pasta para que o verificador o crie direto na pasta`
  )
}

/** Makes sure the fixture exists on the server (once per run and name). */
export const ensure = (context: Context, fixture: Fixture): Promise<void> => {
  const key = `${context.port}:${fixture.name}`
  let pending = made.get(key)
  if (pending === undefined) {
    pending = create(context, fixture)
    made.set(key, pending)
    pending.catch(() => made.delete(key))
  }
  return pending
}

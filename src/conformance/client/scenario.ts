import type { Described } from "../check.ts"
import { failWith, hex } from "../check.ts"
import type { ClientOp, ClientRun } from "./launch.ts"
import type { ScriptedConnection } from "./scripted.ts"
import type { Workspace } from "./workspace.ts"

/**
 * A scenario: one run of the client under test against one scripted reply,
 * and the verdicts (report lines) drawn from what was seen.
 */

export const CLIENT_CATEGORIES = ["op10", "op20", "op30", "op40", "op50", "prazos"] as const
export type ClientCategory = (typeof CLIENT_CATEGORIES)[number]

export interface Timing {
  /** The client's own timeout, as the user told the judge. */
  readonly timeoutMillis: number
  /** Extra time granted on top of it. */
  readonly marginMillis: number
}

export interface ScriptContext extends Timing {
  readonly workspace: Workspace
  /** What the script noticed, for the verdicts (e.g. bytes sent before a status). */
  readonly notes: Map<string, unknown>
}

/** Everything a verdict may look at. */
export interface Seen {
  readonly run: ClientRun
  readonly connections: ReadonlyArray<ScriptedConnection>
  /** Files under `{pasta}` afterwards, by relative path. */
  readonly files: ReadonlyMap<string, Uint8Array>
  /** Paths the client created outside `{pasta}`. */
  readonly outside: ReadonlyArray<string>
  readonly notes: ReadonlyMap<string, unknown>
  /** Where the held part of a resume lives, relative to `{pasta}`. */
  readonly partial: string
  readonly timing: Timing
}

export interface Verdict extends Described {
  readonly category: ClientCategory
  readonly judge: (seen: Seen) => void
}

export interface Scenario {
  readonly op: ClientOp
  /** `{nome}`: a name, or the mask for baixar-varios. */
  readonly name: string
  /** Files in `{pasta}` before the run. */
  readonly prepare?: (workspace: Workspace, partial: string) => void
  readonly script: (connection: ScriptedConnection, context: ScriptContext) => Promise<void>
  /** Paths outside the workspace's folders that the client must not create (absolute hostile names). */
  readonly watched?: (workspace: Workspace) => ReadonlyArray<string>
  /** The reply stalls: the client must give up on its own timeout. */
  readonly stalls?: boolean
  readonly verdicts: ReadonlyArray<Verdict>
}

export const verdict = (
  id: string,
  category: ClientCategory,
  source: Verdict["source"],
  title: string,
  reference: string,
  judge: (seen: Seen) => void
): Verdict => ({ id, category, source, title, reference, judge })

// ---- what the verdicts say -------------------------------------------------

const lastLine = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter((line) => line.trim() !== "")
    .at(-1)

/** How the command ended, with the last line of its error output. */
export const howItEnded = (run: ClientRun): string => {
  const said = lastLine(run.stderr) ?? lastLine(run.stdout)
  const ended = run.overstayed
    ? `o comando não terminou em ${run.millis} ms e foi interrompido`
    : `o comando terminou com status ${run.code}`
  return said === undefined ? ended : `${ended} (disse: ${JSON.stringify(said.slice(0, 160))})`
}

export const mustSucceed = (seen: Seen, what: string) => {
  if (seen.run.code !== 0) failWith(`${what}: ${howItEnded(seen.run)}; esperado status 0 (sucesso).`)
}

/**
 * The command failed, as it should. Unless `local` (a failure found before
 * any exchange), the client must also have connected: a command that
 * cannot even run does not pass a refusal.
 */
export const mustFail = (seen: Seen, what: string, local = false) => {
  if (!local) firstConnection(seen)
  if (seen.run.overstayed) failWith(`${what}: ${howItEnded(seen.run)}; esperado terminar com status diferente de 0.`)
  if (seen.run.code === 0) failWith(`${what}: o comando terminou com status 0; esperado um status diferente de 0.`)
}

/** The first connection, or a failure saying the client never connected. */
export const firstConnection = (seen: Seen): ScriptedConnection =>
  seen.connections[0] ?? failWith(`o cliente não conectou ao servidor do verificador; ${howItEnded(seen.run)}.`)

/** What the client sent, in hex, for a failure line. */
export const sentByClient = (connection: ScriptedConnection): string => `o cliente enviou ${hex(connection.raw, 24)}`

export const fileMustBe = (seen: Seen, name: string, expected: Uint8Array, what: string) => {
  const got = seen.files.get(name)
  if (got === undefined) {
    const others = [...seen.files.keys()]
    failWith(
      `${what}: não há "${name}" na pasta do cliente (há: ${others.length === 0 ? "nada" : others.map((n) => JSON.stringify(n)).join(", ")}); ${howItEnded(seen.run)}.`
    )
  }
  if (got!.length !== expected.length)
    failWith(`${what}: "${name}" tem ${got!.length} bytes; esperado ${expected.length}.`)
  const at = got!.findIndex((byte, i) => byte !== expected[i])
  if (at >= 0)
    failWith(
      `${what}: "${name}" difere a partir do byte ${at} (tem ${hex(got!.subarray(at, at + 8))}, esperado ${hex(expected.subarray(at, at + 8))}).`
    )
}

export const noFile = (seen: Seen, name: string, what: string) => {
  if (seen.files.has(name))
    failWith(`${what}: ficou um arquivo "${name}" (${seen.files.get(name)!.length} bytes) na pasta do cliente.`)
}

export const nothingOutside = (seen: Seen, what: string) => {
  if (seen.outside.length > 0)
    failWith(`${what}: o cliente gravou fora da sua pasta: ${seen.outside.map((p) => JSON.stringify(p)).join(", ")}.`)
}

/** Files in `{pasta}` other than those given (prepared ones, say). */
export const extraFiles = (seen: Seen, allowed: ReadonlyArray<string>): ReadonlyArray<string> =>
  [...seen.files.keys()].filter((name) => !allowed.includes(name))

import type { Probe } from "./probe.ts"

/**
 * What a check is: a category, the source that requires the behaviour, a
 * title, and a function that passes, fails with a Portuguese explanation,
 * or is skipped with a reason.
 */

export const CATEGORIES = [
  "enquadramento",
  "op10",
  "op20",
  "op30",
  "op40",
  "op50",
  "nomes",
  "prazos",
  "concorrencia",
  "robustez"
] as const
export type Category = (typeof CATEGORIES)[number]

/** Who requires the behaviour: the assignment, this project's interpretation, or good practice. */
export type Source = "enunciado" | "PROTOCOL.md" | "recomendado"
export const SOURCES: ReadonlyArray<Source> = ["enunciado", "PROTOCOL.md", "recomendado"]

export type Outcome =
  | { readonly _tag: "Pass" }
  | { readonly _tag: "Fail"; readonly detail: string }
  | { readonly _tag: "Skip"; readonly reason: string }

export const pass: Outcome = { _tag: "Pass" }

/** Thrown inside a check to fail it with a sentence (caught by the runner). */
export class CheckFailure extends Error {}

/** Thrown inside a check to skip it with a reason. */
export class CheckSkipped extends Error {}

export const failWith = (detail: string): never => {
  throw new CheckFailure(detail)
}

export const skipWith = (reason: string): never => {
  throw new CheckSkipped(reason)
}

/** Everything a check may use: where the server is, its deadline, and the shared fixtures. */
export interface Context {
  readonly host: string
  readonly port: number
  /** The server's own timeout, in seconds, as the user told the checker. */
  readonly timeoutSeconds: number
  /** Extra time granted on top of the server's timeout before a deadline check fails. */
  readonly marginMillis: number
  /** How long an ordinary reply may take. */
  readonly replyMillis: number
  /**
   * How long a reply may take when the server must answer at once (a length it
   * refuses, a client served while another one stalls): well under its timeout.
   */
  readonly promptMillis: number
  /** The server's folder on this machine, when given (`--pasta`). */
  readonly folder: string | undefined
  /** Unique prefix of every name this run creates. */
  readonly prefix: string
  readonly connect: () => Promise<Probe>
  /** Remembers a path planted in the folder, removed at the end of the run. */
  readonly planted: (absolutePath: string) => void
}

/** What the report shows of a check (of the server checker or of the client judge). */
export interface Described {
  readonly id: string
  readonly category: string
  readonly source: Source
  readonly title: string
  /** Section of PROTOCOL.md or the assignment's line that requires it. */
  readonly reference: string
}

/** One judged check, as the report takes it. */
export interface Judged {
  readonly check: Described
  readonly outcome: Outcome
  readonly millis: number
}

export interface Check extends Described {
  readonly category: Category
  readonly run: (context: Context) => Promise<void>
}

export const check = (
  id: string,
  category: Category,
  source: Source,
  title: string,
  reference: string,
  run: (context: Context) => Promise<void>
): Check => ({ id, category, source, title, reference, run })

/** Bytes as spaced hex, shortened past `max` bytes. */
export const hex = (bytes: Uint8Array, max = 24): string => {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, "0")).join(" ")
  if (bytes.length === 0) return "(nada)"
  return bytes.length > max ? `${shown} … (${bytes.length} bytes)` : shown
}

/** Portuguese description of how a reply ended. */
export const endingText = (ending: "open" | "closed" | "reset"): string =>
  ending === "open"
    ? "a conexão continuou aberta"
    : ending === "closed"
      ? "o servidor fechou a conexão"
      : "a conexão foi resetada"

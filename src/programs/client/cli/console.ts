import type { TlsUse } from "./failures.ts"
import type { ProgressOutput } from "./progressView.ts"

/**
 * Where a command's text goes, and what the session remembers between
 * commands. Results (listings, files saved, summaries) go to `out`, stdout;
 * progress, notices and errors to `err` and `progress`, stderr. Both wrap
 * their lines between words to the terminal's width, when they go to one.
 */
export interface Console {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  /** Text as is on stdout, never wrapped (the listing's JSON). */
  readonly data: (text: string) => void
  /** The width of the terminal results go to; undefined when stdout is not a terminal. */
  readonly columns: () => number | undefined
  /** The client folder as the user gave it (--pasta), to say where files land. */
  readonly folder: string
  readonly progress: ProgressOutput
  readonly server: string
  /** How the client speaks to the server (for the sentences of TLS failures); undefined: plain TCP. */
  readonly tls?: TlsUse | undefined
  readonly debug: boolean
  /** A command (its words) as the user would type it here, e.g. the one that continues a download. */
  readonly resumeCommand: (words: ReadonlyArray<string>) => string
  /** Names from the last listing, for Tab completion. */
  remoteNames: ReadonlyArray<string>
  /** The local folder set by `lcd`, relative to the client folder ("" for the folder itself). */
  localFolder: string
}

/** Where `name` lives locally: under the folder set by `lcd`. */
export const localPath = (console: Console, name: string): string =>
  console.localFolder === "" ? name : `${console.localFolder}/${name}`

/** The words that continue a download of `name` kept at `local`. */
export const resumeWords = (console: Console, name: string, local: string): ReadonlyArray<string> =>
  local === localPath(console, name)
    ? ["retomar", name]
    : ["baixar", name, "-o", local.slice(console.localFolder === "" ? 0 : console.localFolder.length + 1)]

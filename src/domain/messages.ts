import type { ProxyHeader } from "./proxyHeader.ts"

/** The messages of the protocol, as values. */

export type Request =
  | { readonly _tag: "Download"; readonly name: string }
  | { readonly _tag: "List" }
  | { readonly _tag: "Upload"; readonly name: string }
  | { readonly _tag: "Resume"; readonly name: string; readonly position: number; readonly md5: Uint8Array }
  | { readonly _tag: "DownloadMany"; readonly mask: string }

export type RequestTag = Request["_tag"]

/**
 * Events the server decodes from a client's stream. `Proxy` comes first, and
 * only, when the server runs behind a balancer (PROXY protocol).
 */
export type ClientEvent =
  | { readonly _tag: "Proxy"; readonly header: ProxyHeader }
  | { readonly _tag: "Request"; readonly request: Request }
  | { readonly _tag: "Size"; readonly size: number }
  | { readonly _tag: "Data"; readonly bytes: Uint8Array }
  | { readonly _tag: "End" }

/** One file announced in an op 50 manifest. */
export interface ManifestEntry {
  readonly name: string
  readonly size: number
}

/** One file of an op 20 listing. */
export interface ListingEntry {
  readonly nome: string
  readonly tamanho: string
}

/** Events a client decodes from a server's stream. */
export type ServerEvent =
  | { readonly _tag: "Status"; readonly status: number }
  | { readonly _tag: "Size"; readonly size: number }
  | { readonly _tag: "Data"; readonly bytes: Uint8Array }
  | { readonly _tag: "End" }
  | { readonly _tag: "Listing"; readonly entries: ReadonlyArray<ListingEntry>; readonly json: string }
  | { readonly _tag: "Limit"; readonly matches: number; readonly cap: number }
  | { readonly _tag: "Manifest"; readonly entries: ReadonlyArray<ManifestEntry> }
  | { readonly _tag: "FileStart"; readonly index: number; readonly size: number }
  | { readonly _tag: "FileSkipped"; readonly index: number }

export const Data = (bytes: Uint8Array) => ({ _tag: "Data", bytes }) as const
export const End = { _tag: "End" } as const

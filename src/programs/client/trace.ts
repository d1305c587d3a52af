import * as Context from "effect/Context"
import type { Field } from "../../domain/encode.ts"
import type { ServerEvent } from "../../domain/messages.ts"
import { printable } from "./cli/format.ts"

/**
 * `--trace`: every field sent and received, named and in hex, payloads
 * abbreviated — a way to learn the protocol by watching it.
 */
export class Trace extends Context.Tag("Trace")<Trace, { readonly line: (text: string) => void }>() {}

const PREVIEW = 16

export const hex = (bytes: Uint8Array, max = PREVIEW): string => {
  const shown = Array.from(bytes.subarray(0, max), (byte) => byte.toString(16).padStart(2, "0")).join(" ")
  return bytes.length > max ? `${shown} … (${bytes.length} bytes)` : shown
}

const u32Hex = (value: number) =>
  hex(Uint8Array.of(value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255))

export const sentLine = (field: Field): string => {
  const text =
    field.label === "nome" || field.label === "máscara" ? `  "${printable(new TextDecoder().decode(field.bytes))}"` : ""
  return `→ ${field.label.padEnd(18)} ${hex(field.bytes)}${text}`
}

/** A line for a received event; Data events are summed by the caller. */
export const receivedLine = (event: ServerEvent): string | undefined => {
  switch (event._tag) {
    case "Status":
      return `← ${"status".padEnd(18)} ${hex(Uint8Array.of(event.status))}`
    case "Size":
      return `← ${"tamanho".padEnd(18)} ${u32Hex(event.size)}  (${event.size})`
    case "Data":
      return undefined
    case "End":
      return `← ${"fim dos dados".padEnd(18)}`
    case "Listing":
      return `← ${"listagem JSON".padEnd(18)} ${hex(new TextEncoder().encode(event.json))}  (${event.entries.length} arquivos)`
    case "Limit":
      return `← ${"encontrados/limite".padEnd(18)} ${u32Hex(event.matches)} | ${u32Hex(event.cap)}  (${event.matches} / ${event.cap})`
    case "Manifest":
      return [
        `← ${"quantidade".padEnd(18)} ${u32Hex(event.entries.length)}  (${event.entries.length})`,
        ...event.entries.map(
          (entry) =>
            `← ${"nome, tamanho".padEnd(18)} "${printable(entry.name)}"  ${u32Hex(entry.size)}  (${entry.size})`
        )
      ].join("\n")
    case "FileStart":
      return `← ${`arquivo ${event.index + 1}`.padEnd(18)} status 00, tamanho ${u32Hex(event.size)}  (${event.size})`
    case "FileSkipped":
      return `← ${`arquivo ${event.index + 1}`.padEnd(18)} status 01 (pulado pelo servidor)`
  }
}

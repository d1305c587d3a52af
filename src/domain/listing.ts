import { Either, ParseResult, Schema } from "effect"
import type { ListingEntry } from "./messages.ts"
import { checkName } from "./names.ts"

/** The op 20 listing: JSON text, validated with Schema on the way in. */

const DecimalString = Schema.String.pipe(Schema.pattern(/^(0|[1-9][0-9]*)$/))

const Name = Schema.String.pipe(
  Schema.filter((name) => Either.isRight(checkName(name)) || "nome inválido na listagem")
)

const Entry = Schema.Struct({ nome: Name, tamanho: DecimalString })

export const Listing = Schema.Array(Entry)

const decodeListing = Schema.decodeUnknownEither(Schema.parseJson(Listing))

export const encodeListing = (entries: ReadonlyArray<ListingEntry>): string =>
  JSON.stringify(entries.map(({ nome, tamanho }) => ({ nome, tamanho })))

export const parseListing = (json: string): Either.Either<ReadonlyArray<ListingEntry>, string> =>
  Either.mapLeft(decodeListing(json), (error) => ParseResult.TreeFormatter.formatErrorSync(error))

/** Sorts by name in code point order (the order of the UTF-8 bytes). */
export const byName = (a: { readonly nome: string }, b: { readonly nome: string }): number =>
  Buffer.compare(Buffer.from(a.nome), Buffer.from(b.nome))

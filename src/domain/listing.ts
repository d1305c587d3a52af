import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ListingEntry } from "./messages.ts"
import { checkName } from "./names.ts"

/** The op 20 listing: JSON text, validated with Schema on the way in. */

const DecimalString = Schema.String.pipe(Schema.pattern(/^(0|[1-9][0-9]*)$/))

const Name = Schema.String.pipe(Schema.filter((name) => Either.isRight(checkName(name)) || "nome inválido na listagem"))

const Entry = Schema.Struct({ nome: Name, tamanho: DecimalString })

export const Listing = Schema.Array(Entry)

/** Exact shape: a property the format does not have is an error, not something to pass along. */
const decodeListing = Schema.decodeUnknownEither(Listing, { onExcessProperty: "error" })

export const encodeListing = (entries: ReadonlyArray<ListingEntry>): string =>
  JSON.stringify(entries.map(({ nome, tamanho }) => ({ nome, tamanho })))

/** The listing, or one Portuguese sentence saying where it breaks the format. */
export const parseListing = (json: string): Either.Either<ReadonlyArray<ListingEntry>, string> => {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    return Either.left("a listagem não é JSON válido")
  }
  const shape = `a listagem não tem o formato [{"nome": ..., "tamanho": "..."}]`
  try {
    return Either.mapLeft(decodeListing(value), (error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      const where =
        issue && issue.path.length > 0 ? ` em ${issue.path.map((part) => `[${String(part)}]`).join("")}` : ""
      return `${shape}${where}`
    })
  } catch {
    // A hostile listing nested thousands of levels deep exhausts the stack while
    // its error is described: still just a listing in the wrong shape.
    return Either.left(shape)
  }
}

/** Sorts by name in code point order (the order of the UTF-8 bytes). */
export const byName = (a: { readonly nome: string }, b: { readonly nome: string }): number =>
  Buffer.compare(Buffer.from(a.nome), Buffer.from(b.nome))

import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { plural } from "../../domain/words.ts"
import { makeAccess } from "./access.ts"
import { readAllowFile } from "./allowFile.ts"
import type { ServerArgs } from "./args.ts"
import { makeReloads, type Reloads } from "./reloads.ts"

/** What the server may change while it runs: who may connect (SIGHUP re-reads --permitir-arquivo). */
export interface Live {
  readonly access: { allowed: (address: string) => boolean }
  readonly reloads: Reloads
}

/**
 * The reloads of what `args` gives, run in order on each SIGHUP: the
 * allow-list file, when there is one. Whatever else can be re-read for new
 * connections (a TLS certificate) is one more `reloads.add` here.
 */
export const liveFrom = (args: ServerArgs): Live => {
  const access = { allowed: makeAccess(args.allow) }
  const reloads = makeReloads()
  const file = args.allowFile
  if (file !== undefined) {
    reloads.add({
      what: "--permitir-arquivo",
      run: Effect.suspend(() =>
        Either.match(readAllowFile(file), {
          onLeft: (why) => Effect.fail(why),
          onRight: (blocks) =>
            Effect.sync(() => {
              access.allowed = makeAccess(blocks)
              return `--permitir-arquivo "${file}" (${plural(blocks.length, "rede", "redes")})`
            })
        })
      )
    })
  }
  return { access, reloads }
}

/** The arguments with --permitir-arquivo read into `allow`; Left: why it could not be read. */
export const withAllowFile = (args: ServerArgs): Either.Either<ServerArgs, string> =>
  args.allowFile === undefined
    ? Either.right(args)
    : Either.map(readAllowFile(args.allowFile), (allow) => ({ ...args, allow }))

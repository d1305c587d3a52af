import { Effect, Either } from "effect"
import { makeFileStore } from "../../src/services/FileStoreLive.ts"

/**
 * A process that starts an upload into the folder given as its argument,
 * writes part of it, says "escrevendo" and waits forever: for tests that kill
 * a writer with SIGKILL mid-upload.
 */
const root = process.argv[2]
if (root === undefined) throw new Error("usage: uploadingWriter.ts FOLDER")
const store = await Effect.runPromise(makeFileStore(root))
await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const file = yield* store.createAtomic("morto.bin")
      if (Either.isLeft(file.sink.write(new Uint8Array(1000)))) throw new Error("write failed")
      yield* Effect.sync(() => console.log("escrevendo"))
      return yield* Effect.never
    })
  )
)

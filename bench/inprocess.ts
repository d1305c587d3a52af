import { Effect, ManagedRuntime } from "effect"
import { ClientLive } from "../src/programs/client/ClientLive.ts"
import { download } from "../src/programs/client/download.ts"
import { downloadMany } from "../src/programs/client/downloadMany.ts"
import { upload } from "../src/programs/client/upload.ts"

/**
 * This project's client programs run inside the benchmark's own process, on
 * the client's composition root, as the command line runs them: the transfer
 * alone, without the start-up of a `bun` process.
 */
export interface InProcessClient {
  readonly download: (name: string) => Promise<void>
  readonly upload: (name: string) => Promise<void>
  readonly downloadMany: (mask: string) => Promise<void>
  readonly dispose: () => Promise<void>
}

export const inProcessClient = async (folder: string, port: number): Promise<InProcessClient> => {
  const runtime = ManagedRuntime.make(ClientLive({ folder, host: "127.0.0.1", port, timeoutSeconds: 60 }))
  // Build the layers now, before anything is timed.
  await runtime.runPromise(Effect.void)
  return {
    download: async (name) => {
      await runtime.runPromise(download(name))
    },
    upload: async (name) => {
      await runtime.runPromise(upload(name))
    },
    downloadMany: async (mask) => {
      const { results } = await runtime.runPromise(downloadMany(mask))
      const failed = results.filter((entry) => entry._tag !== "Saved").length
      if (failed > 0) throw new Error(`baixar-varios em processo: ${failed} arquivos não foram gravados`)
    },
    dispose: () => runtime.dispose()
  }
}

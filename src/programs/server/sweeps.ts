import * as Effect from "effect/Effect"
import { plural } from "../../domain/words.ts"
import type { FileStoreService } from "../../services/FileStore.ts"
import { STALE_MILLIS } from "../../services/files/owners.ts"

/** How often a running server looks for the temporaries of crashed writers sharing its folder. */
export const SWEEP_EVERY_MILLIS = STALE_MILLIS

/** The log line of a periodic sweep that removed something. */
export const sweptLine = (removed: number) =>
  `limpeza: ${plural(removed, "temporário de envio interrompido removido", "temporários de envios interrompidos removidos")} (deixados por um servidor da mesma pasta que parou sem encerrar)`

/**
 * Every `SWEEP_EVERY_MILLIS` on the Clock, until interrupted (with the
 * server's scope): the cheap sweep (`sweepIfAnyGone`), so a peer that crashed
 * loses its temporaries and mark while this server keeps running. A failed
 * sweep (an unreachable folder) is tried again at the next tick.
 */
export const sweepPeriodically = (store: FileStoreService): Effect.Effect<never> =>
  Effect.sleep(SWEEP_EVERY_MILLIS).pipe(
    Effect.zipRight(store.sweepIfAnyGone),
    Effect.flatMap((removed) => (removed > 0 ? Effect.logInfo(sweptLine(removed)) : Effect.void)),
    Effect.ignore,
    Effect.forever
  )

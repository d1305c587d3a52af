import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { plural } from "../../domain/words.ts"
import type { FileStoreService } from "../../services/FileStore.ts"
import { STALE_MILLIS } from "../../services/files/owners.ts"
import { formatLogLine } from "./logLine.ts"

/** How often a running server looks for the temporaries of crashed writers sharing its folder. */
export const SWEEP_EVERY_MILLIS = STALE_MILLIS

/** What a sweep that removed something says, in its log line's note. */
export const sweptNote = (removed: number) =>
  plural(removed, "temporário de envio interrompido removido", "temporários de envios interrompidos removidos")

/**
 * The log line of a sweep that removed something, in the shape of an
 * operation's (so a reader that splits lines still can): no client, the
 * operation `limpeza`, no name, `ok`, and what went in the note; with
 * --log json, the same fields.
 */
const sweptLog = (started: number, removed: number, millis: number) => {
  const note = sweptNote(removed)
  return Effect.logInfo(
    formatLogLine(started, "-", { op: "limpeza", name: "-", bytes: 0, result: "ok", note }, millis)
  ).pipe(
    Effect.annotateLogs({
      hora: new Date(started).toISOString(),
      evento: "limpeza",
      cliente: "-",
      op: "limpeza",
      nome: "-",
      resultado: "ok",
      nota: note,
      bytes: 0,
      ms: millis
    })
  )
}

/** Runs `sweep` and logs what it removed (no line when nothing); gives how many it removed. */
export const sweepAndLog = <E>(sweep: Effect.Effect<number, E>): Effect.Effect<number, E> =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis
    const removed = yield* sweep
    if (removed > 0) yield* sweptLog(started, removed, (yield* Clock.currentTimeMillis) - started)
    return removed
  })

/**
 * Every `SWEEP_EVERY_MILLIS` on the Clock, until interrupted (with the
 * server's scope): the cheap sweep (`sweepIfAnyGone`), so a peer that crashed
 * loses its temporaries and mark while this server keeps running. A failed
 * sweep (an unreachable folder) is tried again at the next tick.
 */
export const sweepPeriodically = (store: FileStoreService): Effect.Effect<never> =>
  Effect.sleep(SWEEP_EVERY_MILLIS).pipe(
    Effect.zipRight(sweepAndLog(store.sweepIfAnyGone)),
    Effect.ignore,
    Effect.forever
  )

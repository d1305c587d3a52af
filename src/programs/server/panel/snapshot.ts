import type { StoredFile } from "../../../services/FileStore.ts"
import type { Health } from "../http/health.ts"
import type { Totals } from "../metrics.ts"
import type { ServerFacts } from "./facts.ts"
import type { PanelState } from "./state.ts"

/** Everything the page reads, from wherever it lives. */
export interface PanelSources {
  readonly state: PanelState
  readonly totals: () => Totals
  readonly health: Health
  /** Undefined until the file port listens. */
  facts: ServerFacts | undefined
  /** The folder's files, as op 20 lists them (FileStore's `list`). */
  readonly listFiles: () => Promise<ReadonlyArray<StoredFile>>
  readonly now: () => number
}

/** The folder's listing, or why there is none. */
export interface Listing {
  readonly arquivos: ReadonlyArray<{ readonly nome: string; readonly tamanho: number }> | null
  readonly arquivos_erro?: string
}

export const listing = async (sources: PanelSources): Promise<Listing> => {
  try {
    const files = await sources.listFiles()
    return { arquivos: files.map((file) => ({ nome: file.name, tamanho: file.size })) }
  } catch {
    return { arquivos: null, arquivos_erro: "não foi possível listar a pasta servida" }
  }
}

/** The server part of a snapshot: its facts, whether it accepts, and for how long it has run. */
export const serverPart = (sources: PanelSources) => {
  const { facts } = sources
  return {
    ...facts,
    aceitando: sources.health.accepting,
    tempo_ativo_s: facts === undefined ? 0 : Math.floor((sources.now() - Date.parse(facts.inicio)) / 1000)
  }
}

/** GET /estado, and the first event of every subscriber: everything the page shows, at once. */
export const snapshot = async (sources: PanelSources) => ({
  servidor: serverPart(sources),
  totais: sources.totals(),
  ativas: sources.state.sample(sources.now()),
  ultimas: sources.state.linesSince(0),
  ...(await listing(sources))
})

import { accessSync, constants } from "node:fs"
import * as Effect from "effect/Effect"
import { plural } from "../../domain/words.ts"
import { FileStore } from "../../services/FileStore.ts"
import { VERSION } from "../version.ts"
import { reachableAddresses } from "./addresses.ts"
import type { ServerArgs } from "./args.ts"
import { ServerConfig } from "./config.ts"
import { exposureWarning } from "./exposure.ts"

/** Whether this process may create files in `folder` (a folder it cannot write to refuses every upload). */
const writable = (folder: string) => {
  try {
    accessSync(folder, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** A line for the operator: the text as is, or with --log json one object with `evento` and `fields`. */
export const say = (evento: string, text: string, fields: Readonly<Record<string, unknown>> = {}) =>
  Effect.logInfo(text).pipe(Effect.annotateLogs({ evento, ...fields }))

export const warn = (evento: string, text: string, fields: Readonly<Record<string, unknown>> = {}) =>
  Effect.logWarning(text).pipe(Effect.annotateLogs({ evento, ...fields }))

/** What the server was started with, once it listens: in text, the lines people read; in json, their fields. */
export const announce = (
  args: ServerArgs,
  listener: { readonly hostname: string; readonly port: number },
  /** How TLS is set up, in lines for people (tls.ts); undefined: plain TCP. */
  tls?: ReadonlyArray<string>
) =>
  Effect.gen(function* () {
    const store = yield* FileStore
    const settings = yield* ServerConfig
    const addresses = reachableAddresses(listener.hostname, listener.port)
    yield* say(
      "inicio",
      [
        `Servidor de arquivos escutando na porta TCP ${listener.port}${tls === undefined ? "" : " (TLS)"}, em:`,
        ...addresses.map((a) => `  ${a}`)
      ].join("\n"),
      { versao: VERSION, porta: listener.port, enderecos: addresses, tls: tls !== undefined }
    )
    for (const line of tls ?? []) yield* say("inicio", line)
    yield* say("inicio", `Pasta servida: ${store.root}`, { pasta: store.root })
    if (!settings.readOnly && !writable(store.root)) {
      yield* warn("aviso", "Aviso: este usuário não pode gravar na pasta servida; todo upload será recusado.")
    }
    yield* say("inicio", `Timeout: ${settings.requestSeconds} s (pedido inteiro e transferência parada)`, {
      timeout_s: settings.requestSeconds
    })
    yield* say(
      "inicio",
      `Limites: ${plural(settings.maxClients, "conexão", "conexões")}${settings.maxPerAddress > 0 ? `, ${settings.maxPerAddress} por endereço` : ""}` +
        (settings.readOnly ? "; somente leitura" : "") +
        (settings.maxUploadBytes !== undefined ? `; uploads até ${settings.maxUploadBytes} bytes` : ""),
      {
        max_clientes: settings.maxClients,
        max_por_ip: settings.maxPerAddress,
        somente_leitura: settings.readOnly,
        tamanho_maximo: settings.maxUploadBytes ?? null
      }
    )
    if (settings.proxyProtocol) {
      const trusted = settings.trustedProxies.map((block) => block.text)
      yield* say("inicio", `Protocolo PROXY (v1 e v2) exigido em toda conexão; aceito só de: ${trusted.join(", ")}`, {
        proxies_confiaveis: trusted
      })
    }
    const allowed = settings.allow?.map((block) => block.text)
    const access = [
      ...(allowed === undefined
        ? []
        : [
            `só clientes de ${allowed.length === 0 ? "nenhuma rede" : allowed.join(", ")}` +
              (args.allowFile === undefined ? "" : ` (de ${args.allowFile}, relido a cada SIGHUP)`)
          ]),
      ...(settings.noOverwrite ? ["uploads não substituem arquivos existentes"] : [])
    ]
    if (access.length > 0) {
      yield* say("inicio", `Acesso: ${access.join("; ")}`, {
        permitir: allowed ?? null,
        sem_sobrescrever: settings.noOverwrite
      })
    }
    const exposed = exposureWarning({ ...settings, address: args.address, tls: tls !== undefined })
    if (exposed !== undefined) yield* warn("aviso", exposed)
    yield* say(
      "inicio",
      args.log === "json"
        ? "Log: um objeto JSON por linha na saída padrão; horas em UTC (ISO 8601, com Z)."
        : "Log: uma linha por operação; horas em UTC (ISO 8601, com Z).",
      { log: args.log }
    )
  })

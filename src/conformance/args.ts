import { CATEGORIES, type Category } from "./check.ts"

/** The command line of `bun run conformidade`. */

export interface CheckerArgs {
  readonly host: string
  readonly port: number
  readonly folder: string | undefined
  readonly timeoutSeconds: number
  readonly strict: boolean
  readonly json: boolean
  readonly only: ReadonlyArray<Category> | undefined
  /** `--so ID`: only the checks with these ids. */
  readonly ids?: ReadonlyArray<string> | undefined
  /** `--tls`: the files of the TLS options (PEM), all optional; undefined: plain TCP. */
  readonly tls?: CheckerTlsFiles | undefined
}

export interface CheckerTlsFiles {
  readonly ca?: string | undefined
  readonly certificate?: string | undefined
  readonly key?: string | undefined
}

export const CHECKER_USAGE = `Uso: bun run conformidade HOST:PORTA [opções]

Verifica se um servidor qualquer do protocolo do trabalho (op 10, 20, 30, 40
e 50) segue o enunciado e o PROTOCOL.md, e diz em português o que falhou.

  HOST:PORTA            onde o servidor escuta (ex.: 127.0.0.1:20000, [::1]:20000)
  --pasta DIR           a pasta servida, nesta máquina: permite plantar links,
                        FIFOs, dispositivos e arquivos ocultos, e apagar no fim
                        tudo o que o verificador criou
  --tls                 o servidor fala o protocolo dentro de TLS (o certificado
                        dele é conferido, com o nome HOST)
  --tls-ca ARQ          a CA do certificado do servidor (PEM; padrão: as CAs do
                        sistema); implica --tls
  --tls-certificado ARQ, --tls-chave ARQ
                        certificado de cliente e sua chave (PEM), para um
                        servidor que exige um; implicam --tls
  --timeout S           o timeout do servidor, em segundos (padrão 30): os testes
                        de prazo esperam S mais uma margem
  --estrito             as verificações "recomendado" também contam para o
                        status de saída
  --json                imprime um único relatório JSON (para corrigir muitos
                        trabalhos de uma vez)
  --somente CATEGORIA   só uma categoria (ou várias separadas por vírgula):
                        ${CATEGORIES.join(", ")}
  --so ID               só a verificação ID (ou várias separadas por vírgula),
                        como op20/json; para repetir só o que falhou
  --listar              mostra os IDs de todas as verificações e sai
  --ajuda, -h           mostra esta ajuda

Status de saída: 0 tudo o que o enunciado e o PROTOCOL.md exigem passou;
1 alguma dessas verificações falhou (com --estrito, também as recomendadas);
2 uso incorreto; 3 não foi possível conectar ao servidor.`

export type Parsed =
  | { readonly _tag: "Run"; readonly args: CheckerArgs }
  | { readonly _tag: "Help" }
  | { readonly _tag: "List" }
  | { readonly _tag: "Bad"; readonly message: string }

const bad = (message: string): Parsed => ({ _tag: "Bad", message })

export const parseAddress = (text: string): { host: string; port: number } | undefined => {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:]+):(\d{1,5})$/.exec(text)
  if (!match) return undefined
  const port = Number(match[2])
  return port >= 1 && port <= 65535 ? { host: match[1]!, port } : undefined
}

/**
 * `--so A,B`: the ids, or a sentence naming the first unknown one (with the
 * ids that start like it, when there are some).
 */
export const parseIds = (
  text: string | undefined,
  known: ReadonlyArray<string>
): ReadonlyArray<string> | { readonly problem: string } => {
  const list = (text ?? "").split(",").filter((part) => part !== "")
  if (list.length === 0) return { problem: "--so precisa de um ID de verificação (veja --listar)" }
  const unknown = list.find((id) => !known.includes(id))
  if (unknown === undefined) return list
  const close = known.filter((id) => id.startsWith(unknown.split("/")[0]!)).slice(0, 6)
  return {
    problem: `verificação desconhecida: "${unknown}"${close.length > 0 ? ` (parecidas: ${close.join(", ")})` : ""}; veja --listar`
  }
}

/** The options both checkers take, as parsing finds them. */
export interface CommonOptions<C extends string> {
  timeoutSeconds: number
  strict: boolean
  json: boolean
  only: Array<C> | undefined
  ids: ReadonlyArray<string> | undefined
}

/**
 * Takes `arg` if it is an option both checkers share (`--ajuda`, `--listar`,
 * `--estrito`, `--json`, `--timeout`, `--somente`, `--so`), reading its value
 * with `value`: "Help" or "List" to stop there, a problem to report, true when
 * taken, false when `arg` is not one of them.
 */
export const commonOption = <C extends string>(
  arg: string,
  value: () => string | undefined,
  options: CommonOptions<C>,
  known: { readonly categories: ReadonlyArray<C>; readonly ids: ReadonlyArray<string> }
): "Help" | "List" | { readonly problem: string } | boolean => {
  switch (arg) {
    case "-h":
    case "--ajuda":
      return "Help"
    case "--listar":
      return "List"
    case "--estrito":
      options.strict = true
      return true
    case "--json":
      options.json = true
      return true
    case "--timeout": {
      const v = value()
      const seconds = v !== undefined && /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN
      if (!(seconds >= 0.1 && seconds <= 600))
        return { problem: `timeout inválido: "${v ?? ""}" (use segundos, de 0.1 a 600)` }
      options.timeoutSeconds = seconds
      return true
    }
    case "--somente": {
      const v = value() ?? ""
      const list = v.split(",").filter((part) => part !== "")
      const unknown = list.find((part) => !(known.categories as ReadonlyArray<string>).includes(part))
      if (list.length === 0 || unknown !== undefined)
        return { problem: `categoria desconhecida: "${unknown ?? v}" (use ${known.categories.join(", ")})` }
      options.only = list as Array<C>
      return true
    }
    case "--so": {
      const parsed = parseIds(value(), known.ids)
      if ("problem" in parsed) return parsed
      options.ids = parsed
      return true
    }
    default:
      return false
  }
}

export const parseCheckerArgs = (argv: ReadonlyArray<string>, knownIds: ReadonlyArray<string> = []): Parsed => {
  let address: { host: string; port: number } | undefined
  let folder: string | undefined
  let secure = false
  const tlsFiles: { ca?: string; certificate?: string; key?: string } = {}
  const TLS_FILES = { "--tls-ca": "ca", "--tls-certificado": "certificate", "--tls-chave": "key" } as const
  const options: CommonOptions<Category> = {
    timeoutSeconds: 30,
    strict: false,
    json: false,
    only: undefined,
    ids: undefined
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = () => argv[++i]
    const common = commonOption(arg, value, options, { categories: CATEGORIES, ids: knownIds })
    if (common === "Help" || common === "List") return { _tag: common }
    if (typeof common === "object") return bad(common.problem)
    if (common) continue
    if (arg === "--pasta") {
      const v = value()
      if (v === undefined || v === "") return bad("--pasta precisa de uma pasta")
      folder = v
    } else if (arg === "--tls") {
      secure = true
    } else if (arg in TLS_FILES) {
      const v = value()
      if (v === undefined || v === "") return bad(`${arg} precisa de um arquivo`)
      tlsFiles[TLS_FILES[arg as keyof typeof TLS_FILES]] = v
      secure = true
    } else if (arg.startsWith("-")) return bad(`opção desconhecida: ${arg}`)
    else {
      if (address !== undefined) return bad(`argumento a mais: ${arg}`)
      address = parseAddress(arg)
      if (address === undefined) return bad(`endereço inválido: "${arg}" (use HOST:PORTA, ex.: 127.0.0.1:20000)`)
    }
  }
  if (address === undefined) return bad("falta o endereço do servidor (HOST:PORTA)")
  if ((tlsFiles.certificate === undefined) !== (tlsFiles.key === undefined))
    return bad("--tls-certificado e --tls-chave vão juntos")
  return { _tag: "Run", args: { ...address, folder, ...options, ...(secure ? { tls: tlsFiles } : {}) } }
}

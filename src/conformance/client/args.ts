import { type CommonOptions, commonOption } from "../args.ts"
import { CLIENT_CATEGORIES, type ClientCategory } from "./scenario.ts"

/** The command line of `bun run conformidade-cliente`. */

export interface JudgeArgs {
  readonly command: ReadonlyArray<string>
  readonly timeoutSeconds: number
  readonly strict: boolean
  readonly json: boolean
  /** Where the held part of `retomar` lives, relative to `{pasta}`, with `{nome}`. */
  readonly partial: string
  readonly only: ReadonlyArray<ClientCategory> | undefined
  readonly ids: ReadonlyArray<string> | undefined
  /** `--tls-certificado`/`--tls-chave`: the scripted server speaks TLS with these files (PEM); undefined: plain TCP. */
  readonly tls?: { readonly certificate: string; readonly key: string } | undefined
}

export const JUDGE_USAGE = `Uso: bun run conformidade-cliente [opções] -- COMANDO [ARG...]

Verifica se um cliente qualquer do protocolo do trabalho segue o enunciado e o
PROTOCOL.md. O verificador sobe o seu próprio servidor, com respostas
roteirizadas (sucesso, recusas, corpo cortado, bytes a mais, resposta em
pedacinhos, servidor parado, manifestos hostis...), roda o COMANDO uma vez por
cenário e confere o pedido que chegou, a pasta do cliente depois e o status
de saída.

Em cada argumento do COMANDO, estes marcadores são trocados:
  {endereco}   HOST:PORTA do servidor do verificador (ex.: 127.0.0.1:40123)
  {pasta}      uma pasta nova para o cliente, preparada pelo verificador
  {op}         baixar, listar, enviar, retomar ou baixar-varios
  {nome}       o nome do arquivo (ou a máscara, em baixar-varios); um argumento
               que é exatamente {nome} some em listar

O COMANDO deve: terminar com status 0 quando a operação deu certo e com outro
status quando o servidor recusou ou a transferência falhou; gravar os arquivos
em {pasta}; em enviar, mandar o arquivo {pasta}/{nome}; em retomar, continuar a
parte guardada em {pasta}/{nome} (ou onde --parcial disser).

  --timeout S          o timeout do próprio cliente, em segundos (padrão 30): o
                       cenário do servidor parado espera S mais uma margem
  --parcial MODELO     onde o cliente guarda um download incompleto, dentro de
                       {pasta} (padrão {nome}; ex.: {nome}.parcial)
  --tls-certificado ARQ, --tls-chave ARQ
                       o servidor do verificador fala TLS, com este
                       certificado e esta chave (PEM); o COMANDO precisa
                       conectar em TLS (ex.: --tls --tls-ca CA.pem)
  --estrito            as verificações "recomendado" também contam para o
                       status de saída
  --json               imprime um único relatório JSON
  --somente CATEGORIA  só uma categoria (ou várias separadas por vírgula):
                       ${CLIENT_CATEGORIES.join(", ")}
  --so ID              só a verificação ID (ou várias, separadas por vírgula)
  --listar             mostra os IDs de todas as verificações e sai
  --ajuda, -h          mostra esta ajuda

Exemplo (o cliente deste projeto):
  bun run conformidade-cliente --timeout 2 --parcial '{nome}.parcial' -- \\
    dist/cliente {endereco} --pasta {pasta} --timeout 2 {op} {nome}

Status de saída: 0 tudo o que o enunciado e o PROTOCOL.md exigem passou;
1 alguma dessas verificações falhou (com --estrito, também as recomendadas);
2 uso incorreto; 3 o comando não pôde ser executado.`

export type ParsedJudge =
  | { readonly _tag: "Run"; readonly args: JudgeArgs }
  | { readonly _tag: "Help" }
  | { readonly _tag: "List" }
  | { readonly _tag: "Bad"; readonly message: string }

const bad = (message: string): ParsedJudge => ({ _tag: "Bad", message })

export const parseJudgeArgs = (argv: ReadonlyArray<string>, knownIds: ReadonlyArray<string>): ParsedJudge => {
  let partial = "{nome}"
  let certificate: string | undefined
  let key: string | undefined
  /** The command and the options read so far, or the problem with the TLS pair. */
  const run = (command: ReadonlyArray<string>): ParsedJudge => {
    if ((certificate === undefined) !== (key === undefined)) return bad("--tls-certificado e --tls-chave vão juntos")
    return {
      _tag: "Run",
      args: {
        command,
        partial,
        ...options,
        ...(certificate === undefined || key === undefined ? {} : { tls: { certificate, key } })
      }
    }
  }
  const options: CommonOptions<ClientCategory> = {
    timeoutSeconds: 30,
    strict: false,
    json: false,
    only: undefined,
    ids: undefined
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = () => argv[++i]
    const common = commonOption(arg, value, options, { categories: CLIENT_CATEGORIES, ids: knownIds })
    if (common === "Help" || common === "List") return { _tag: common }
    if (typeof common === "object") return bad(common.problem)
    if (common) continue
    if (arg === "--parcial") {
      const v = value() ?? ""
      if (!v.includes("{nome}") || v.startsWith("/") || v.split("/").includes(".."))
        return bad(`--parcial precisa de um modelo dentro da pasta com {nome}, como {nome}.parcial (recebido "${v}")`)
      partial = v
    } else if (arg === "--tls-certificado" || arg === "--tls-chave") {
      const v = value()
      if (v === undefined || v === "") return bad(`${arg} precisa de um arquivo`)
      if (arg === "--tls-certificado") certificate = v
      else key = v
    } else if (arg === "--") {
      const command = argv.slice(i + 1)
      if (command.length === 0) return bad("falta o COMANDO depois de --")
      return run(command)
    } else if (arg.startsWith("-")) return bad(`opção desconhecida: ${arg}`)
    else return run(argv.slice(i))
  }
  return bad(
    "falta o COMANDO do cliente (depois de --), por exemplo: -- python3 adaptador.py {endereco} {pasta} {op} {nome}"
  )
}

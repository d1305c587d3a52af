import { statSync } from "node:fs"
import * as path from "node:path"
import { errnoIn } from "../../domain/errno.ts"
import type { ConnectionFailure, FileFailure } from "../../domain/errors.ts"
import { type HttpListenFailure, httpUrl } from "./http/listener.ts"

/**
 * Why the server could not start, in one Portuguese sentence that names the
 * port or the folder and says what to do.
 */

/** The errno of listening on `port`, found by trying it (for a failure whose cause carries no code). */
const listenErrno = (port: number): string | undefined => {
  for (const hostname of ["::", "0.0.0.0"]) {
    try {
      Bun.listen({ hostname, port, socket: { data() {} } }).stop(true)
      return undefined
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (typeof code === "string" && !(hostname === "::" && code === "EAFNOSUPPORT")) return code
    }
  }
  return undefined
}

/** The socket error's own code, kept by the transport as the failure's cause. */
const codeOf = (error: ConnectionFailure): string | undefined => {
  const code = (error.cause as { code?: unknown } | null | undefined)?.code
  return typeof code === "string" ? code : undefined
}

/** `program`: the server as the person started it (invocation.ts), so the suggestion can be pasted. */
export const describeListenFailure = (
  error: ConnectionFailure,
  port: number,
  program = "arquivos-servidor"
): string => {
  switch (codeOf(error) ?? listenErrno(port)) {
    case "EADDRINUSE":
      return `a porta ${port} já está em uso (outro servidor ou programa escuta nela). Escolha outra, por exemplo "${program} ${port === 65535 ? port - 1 : port + 1}", ou 0 para uma porta livre.`
    case "EACCES":
      return `sem permissão para escutar na porta ${port} (portas abaixo de 1024 exigem privilégios). Escolha uma porta acima de 1023.`
    default:
      return `não foi possível escutar na porta ${port}. Tente outra porta, ou 0 para uma porta livre.`
  }
}

/** The nearest part of `folder` that exists, and whether it is a folder. */
const nearestExisting = (folder: string): { readonly at: string; readonly isFolder: boolean } | undefined => {
  for (let at = folder; ; at = path.dirname(at)) {
    try {
      return { at, isFolder: statSync(at).isDirectory() }
    } catch {
      if (path.dirname(at) === at) return undefined
    }
  }
}

export const describeFolderFailure = (error: FileFailure, folder: string): string => {
  const absolute = path.resolve(folder)
  const errno = errnoIn(error.detail)
  const existing = nearestExisting(absolute)
  if (existing !== undefined && !existing.isFolder) {
    return existing.at === absolute
      ? `--pasta "${folder}" é um arquivo, não uma pasta. Indique uma pasta (ela é criada se faltar).`
      : `a pasta "${folder}" não pode ser criada: "${existing.at}" é um arquivo, não uma pasta.`
  }
  switch (errno) {
    case "EACCES":
    case "EPERM":
      return `sem permissão para criar ou abrir a pasta "${folder}" (${absolute}).`
    case "EROFS":
      return `a pasta "${folder}" fica num sistema de arquivos somente leitura.`
    case "ENOENT":
      return `a pasta "${folder}" (${absolute}) não existe e não pôde ser criada${existing === undefined ? "" : ` dentro de "${existing.at}"`}.`
    default:
      return `não foi possível usar a pasta "${folder}" (${absolute}).`
  }
}

/** Why --metricas could not listen: the address taken, not this machine's, or a port that needs privileges. */
export const describeHttpListenFailure = (error: HttpListenFailure): string => {
  const { hostname, port } = error.address
  const where = httpUrl(hostname, port).slice("http://".length)
  const code = (error.cause as { code?: unknown } | null | undefined)?.code
  const option = error.option ?? "--metricas"
  switch (code) {
    case "EADDRINUSE":
      return `${option}: ${where} já está em uso. Escolha outra porta.`
    case "EACCES":
      return `${option}: sem permissão para escutar em ${where} (portas abaixo de 1024 exigem privilégios).`
    case "EADDRNOTAVAIL":
      return `${option}: ${hostname} não é um endereço desta máquina.`
    default:
      return `${option}: não foi possível escutar em ${where}.`
  }
}

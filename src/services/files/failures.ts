import * as Effect from "effect/Effect"
import { FileFailure, type FileFailureReason } from "../../domain/errors.ts"

/** System errors of file operations, mapped to FileFailure with a Portuguese detail. */

export const reasonOf = (error: unknown): FileFailureReason => {
  switch ((error as { code?: unknown } | undefined)?.code) {
    case "ENOENT":
    case "ENOTDIR":
      return "NotFound"
    case "ENXIO":
      return "NotRegularFile"
    case "EACCES":
    case "EPERM":
    // A read-only filesystem refuses writes as a permission would (root ignores permission bits, not this).
    case "EROFS":
      return "PermissionDenied"
    case "ELOOP":
      return "OutsideRoot"
    case "EISDIR":
      return "IsDirectory"
    case "ENOSPC":
    case "EDQUOT":
      return "NoSpace"
    case "EFBIG":
      return "TooLarge"
    default:
      return "Io"
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "não encontrado",
  ENOTDIR: "uma parte do caminho não é pasta",
  EACCES: "sem permissão",
  EPERM: "operação não permitida",
  ELOOP: "link simbólico no caminho",
  EISDIR: "é uma pasta",
  ENOSPC: "sem espaço em disco",
  EDQUOT: "cota de disco esgotada",
  EFBIG: "arquivo grande demais",
  ENAMETOOLONG: "nome longo demais para o sistema de arquivos",
  ENXIO: "não é um arquivo comum",
  EROFS: "sistema de arquivos somente leitura",
  EMFILE: "arquivos abertos demais",
  EIO: "erro de entrada e saída"
}

/** A Portuguese detail for a system error, without the absolute path Node puts in its message. */
export const detailOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | undefined)?.code
  if (typeof code === "string") return `${ERRNO_TEXT[code] ?? "erro do sistema"} (${code})`
  return error instanceof Error ? error.message : String(error)
}

export const failure = (name: string, reason: FileFailureReason, detail: string) =>
  new FileFailure({ name, reason, detail })

/** Any error of a file operation on `name`, as a FileFailure. */
export const failureOf = (name: string, error: unknown): FileFailure =>
  error instanceof FileFailure ? error : failure(name, reasonOf(error), detailOf(error))

const toFailure = (name: string) => (error: unknown) => failureOf(name, error)

/** Runs an asynchronous file operation; any error becomes a FileFailure about `name`. */
export const attempt = <A>(name: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: toFailure(name) })

/** The same for a synchronous one (metadata calls that take microseconds). */
export const attemptSync = <A>(name: string, run: () => A) => Effect.try({ try: run, catch: toFailure(name) })

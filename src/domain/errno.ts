/** The errno token a system error's detail ends with: kept for a debug view, never shown to people. */

/** A system error's detail without its errno token: "não encontrado (ENOENT)" → "não encontrado". */
export const withoutErrno = (detail: string): string => detail.replace(/\s*\(E[A-Z0-9_]+\)\s*$/, "")

/** The errno token at the end of a detail, if any ("ENOENT"), for a debug view. */
export const errnoIn = (detail: string): string | undefined => /\((E[A-Z0-9_]+)\)\s*$/.exec(detail)?.[1]

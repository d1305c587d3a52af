/**
 * Mask matching for op 50. The mask has already passed `parseMask`, so only
 * `*`, `?` and `[...]` are left as syntax. Matching goes component by
 * component, so no part of the pattern, brackets included, ever crosses `/`.
 */
export const maskMatcher = (mask: string): ((name: string) => boolean) => {
  const components = mask.split("/").map((component) => new Bun.Glob(component))
  return (name) => {
    const parts = name.split("/")
    return parts.length === components.length && components.every((glob, i) => glob.match(parts[i]!))
  }
}

/**
 * Mask matching for op 50. The mask has already passed `parseMask`, so only
 * `*`, `?` and `[...]` are left as syntax, and none of them crosses `/`.
 */
export const maskMatcher = (mask: string): ((name: string) => boolean) => {
  const glob = new Bun.Glob(mask)
  return (name) => glob.match(name)
}

import * as path from "node:path"

/**
 * The one function that decides whether a resolved path lies inside a root
 * (the root itself counts as inside). Both arguments must already be absolute
 * and free of symlinks (realpath): this is containment on normalized paths,
 * by whole components, so `/srv/a` never contains `/srv/ab`.
 */
export const isInside = (root: string, resolved: string): boolean => {
  const normalRoot = path.resolve(root)
  const normalPath = path.resolve(resolved)
  if (normalPath === normalRoot) return true
  const prefix = normalRoot.endsWith(path.sep) ? normalRoot : normalRoot + path.sep
  return normalPath.startsWith(prefix)
}

import { describe, expect, test } from "bun:test"
import { isInside } from "../../src/domain/jail.ts"

/** Containment by whole path components, on normalized absolute paths. */

describe("isInside", () => {
  test.each([
    // [root, resolved, inside]
    ["/srv/a", "/srv/a", true],
    ["/srv/a", "/srv/a/x", true],
    ["/srv/a", "/srv/a/x/y/z.txt", true],
    ["/srv/a", "/srv/a/.", true],
    ["/srv/a", "/srv/a//x", true],
    ["/srv/a", "/srv/a/b/../c", true],
    ["/srv/a", "/srv/a/b/..", true],
    ["/srv/a", "/srv/a/b/../..", false],
    ["/srv/a", "/srv/ab", false],
    ["/srv/a", "/srv/a-b/x", false],
    ["/srv/a", "/srv/a.bak", false],
    ["/srv/a", "/srv", false],
    ["/srv/a", "/", false],
    ["/srv/a", "/srv/b", false],
    ["/srv/a", "/other/srv/a", false],
    ["/srv/a", "/srv/a/../b", false],
    ["/srv/a", "/srv/a/..", false],
    ["/srv/a", "/srv/a/x/../../b", false],
    ["/srv/a/", "/srv/a", true],
    ["/srv/a/", "/srv/a/x", true],
    ["/srv/a/", "/srv/ab", false],
    ["/srv/./a", "/srv/a/x", true],
    ["/srv/b/../a", "/srv/a/x", true],
    ["/srv/b/../a", "/srv/b/x", false],
    ["/", "/", true],
    ["/", "/etc/passwd", true],
    ["/", "/srv/a/x", true]
  ])("root %p, path %p → %p", (root, resolved, inside) => {
    expect(isInside(root, resolved)).toBe(inside)
  })
})

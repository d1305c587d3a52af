/**
 * The only timer of the test support. A test waits for the event it expects
 * (a line on stdout, a socket event, a fiber); a timer here only bounds such
 * a wait, so a hang fails the test instead of stalling the suite (`guard`,
 * `within`), or polls a condition that no event announces, such as a file
 * appearing or a process gone (`eventually`), up to a deadline.
 */

interface Timer {
  readonly fired: Promise<void>
  readonly cancel: () => void
}

const timer = (millis: number): Timer => {
  let handle: ReturnType<typeof setTimeout> | undefined
  const fired = new Promise<void>((resolve) => {
    handle = setTimeout(resolve, millis)
  })
  return { fired, cancel: () => clearTimeout(handle) }
}

/** Runs `action` after `millis` unless the returned cancel comes first: the bound of something that may hang. */
export const guard = (millis: number, action: () => void): (() => void) => {
  const { fired, cancel } = timer(millis)
  void fired.then(action)
  return cancel
}

/** `promise`, or `late()` when it has not settled within `millis`. */
export const within = async <A, B>(promise: Promise<A>, millis: number, late: () => B): Promise<A | B> => {
  const { fired, cancel } = timer(millis)
  const lateMark = Symbol("late")
  try {
    const outcome = await Promise.race([promise, fired.then(() => lateMark)])
    return outcome === lateMark ? late() : (outcome as A)
  } finally {
    cancel()
  }
}

/**
 * Polls `check` every `every` ms until it holds (true) or `millis` pass
 * (false): for a condition no event announces.
 */
export const eventually = async (
  check: () => boolean | Promise<boolean>,
  options: { readonly millis?: number; readonly every?: number } = {}
): Promise<boolean> => {
  const deadline = Date.now() + (options.millis ?? 10_000)
  for (;;) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await timer(options.every ?? 20).fired
  }
}

import type { Judged } from "./check.ts"
import { categoryHeader, resultLine } from "./report.ts"

/**
 * The checkers' output: every line goes out through one queue, in order, and
 * is awaited before the process exits (a pipe may take a long report in
 * several writes).
 */

let output: Promise<unknown> = Promise.resolve()

export const print = (text: string, stream = Bun.stdout): Promise<unknown> => {
  output = output.then(() => Bun.write(stream, `${text}\n`))
  return output
}

/** Prints each result as it comes, under its category's header (nothing with --json). */
export const resultPrinter = (json: boolean): ((result: Judged) => void) => {
  let lastCategory = ""
  return (result) => {
    if (json) return
    if (result.check.category !== lastCategory) {
      lastCategory = result.check.category
      void print(categoryHeader(lastCategory))
    }
    void print(resultLine(result))
  }
}

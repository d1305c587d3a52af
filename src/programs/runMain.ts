import * as Effect from "effect/Effect"

/**
 * Runs a program from its command line to its exit status: the one place
 * the process is left. The program decides the status (0, 1, 2, 130…) and
 * handles its own signals (signals.ts).
 */
export const runMain = (main: (argv: ReadonlyArray<string>) => Effect.Effect<number>): void => {
  Effect.runPromise(main(process.argv.slice(2))).then((code) => process.exit(code))
}

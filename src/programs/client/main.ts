import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { VERSION } from "../version.ts"
import { ClientLive } from "./ClientLive.ts"
import { CLIENT_USAGE, type ClientArgs, clientArgsFrom } from "./cli/args.ts"
import { runBatch } from "./cli/batch.ts"
import { parseCommand, promptWord } from "./cli/commands.ts"
import { ExitCode } from "./cli/failures.ts"
import { runInteractive } from "./cli/interactive.ts"
import { type Console, runCommand } from "./cli/runner.ts"

/** Exit status of a one-shot command or a script cancelled with Ctrl+C (128 + SIGINT, as shells report it). */
const CANCELLED = 130

/**
 * A second SIGINT this soon after the first is the same Ctrl+C delivered
 * twice (`bun run` passes the terminal's SIGINT on to a child that already
 * got it), not a person pressing it again.
 */
const SAME_SIGNAL_MILLIS = 300

const DEFAULT_FOLDER = "storage/cliente"

/** A word as a POSIX shell reads it back: bare when safe, else in single quotes. */
const shellWord = (word: string) => (/^[\w./@%+=:,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)

/**
 * Runs a one-shot command or a script so that Ctrl+C cancels it as the shell
 * does: the command says what it kept, and the program exits with 130. A
 * second Ctrl+C while the cancel is under way leaves at once.
 */
const runCancellable = <R>(
  runtime: ManagedRuntime.ManagedRuntime<R, unknown>,
  program: Effect.Effect<ExitCode, never, R>
): Promise<number> =>
  new Promise((resolve) => {
    const fiber = runtime.runFork(program)
    let cancelledAt: number | undefined
    const onInterrupt = () => {
      const now = Date.now()
      if (cancelledAt === undefined) {
        cancelledAt = now
        Effect.runFork(Fiber.interrupt(fiber))
      } else if (now - cancelledAt >= SAME_SIGNAL_MILLIS) process.exit(CANCELLED)
    }
    process.on("SIGINT", onInterrupt)
    fiber.addObserver((exit) => {
      process.off("SIGINT", onInterrupt)
      resolve(Exit.isSuccess(exit) ? exit.value : cancelledAt !== undefined ? CANCELLED : ExitCode.Network)
    })
  })

const main = async (args: ClientArgs): Promise<number> => {
  const address = args.server.host.includes(":")
    ? `[${args.server.host}]:${args.server.port}`
    : `${args.server.host}:${args.server.port}`
  const layers = ClientLive({
    folder: args.folder,
    ...args.server,
    timeoutSeconds: args.timeoutSeconds,
    trace: args.trace ? (text) => process.stderr.write(`${text}\n`) : undefined
  })
  const runtime = ManagedRuntime.make(layers)
  const console: Console = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progress: {
      write: (text) => process.stderr.write(text),
      live: Boolean(process.stderr.isTTY) && !args.silent,
      now: () => Date.now(),
      width: () => process.stderr.columns || 80,
      onResize: (redraw) => {
        // The stream learns the new size in its own SIGWINCH handler: redraw after it ran.
        const handler = () => setTimeout(redraw, 0)
        process.on("SIGWINCH", handler)
        return () => process.off("SIGWINCH", handler)
      }
    },
    server: address,
    debug: args.debug,
    resumeCommand: (words) =>
      [
        "bun run cliente",
        shellWord(address),
        ...(args.folder === DEFAULT_FOLDER ? [] : ["--pasta", shellWord(args.folder)]),
        ...words.map(shellWord)
      ].join(" "),
    remoteNames: [],
    localFolder: ""
  }
  try {
    const started = await runtime.runPromiseExit(Effect.void)
    if (started._tag === "Failure") {
      console.err(`Não foi possível usar a pasta local "${args.folder}".`)
      return ExitCode.Refused
    }
    if (args.command.length > 0) {
      const command = parseCommand(args.command, "batch")
      if (Either.isLeft(command)) {
        console.err(command.left)
        return ExitCode.Usage
      }
      return await runCancellable(runtime, Effect.scoped(runCommand(command.right, console)))
    }
    if (args.script !== undefined) {
      const text = await Bun.file(args.script)
        .text()
        .catch(() => undefined)
      if (text === undefined) {
        console.err(`Não foi possível ler o script "${args.script}".`)
        return ExitCode.Usage
      }
      return await runCancellable(runtime, Effect.scoped(runBatch(text.split(/\r?\n/), console)))
    }
    if (!process.stdin.isTTY) {
      const text = await Bun.stdin.text()
      return await runCancellable(runtime, Effect.scoped(runBatch(text.split(/\r?\n/), console)))
    }
    return await runInteractive(runtime, { ...console, resumeCommand: (words) => words.map(promptWord).join(" ") })
  } finally {
    await runtime.dispose()
  }
}

const parsed = clientArgsFrom(process.argv.slice(2))
if (Either.isLeft(parsed)) {
  process.stderr.write(`cliente: ${parsed.left}\nUse --ajuda para ver as opções.\n`)
  process.exit(ExitCode.Usage)
} else if (parsed.right._tag === "Help") {
  process.stdout.write(`${CLIENT_USAGE}\n`)
} else if (parsed.right._tag === "Version") {
  process.stdout.write(`arquivos-cliente ${VERSION}\n`)
} else {
  main(parsed.right.args).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`Erro interno: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(ExitCode.Network)
    }
  )
}

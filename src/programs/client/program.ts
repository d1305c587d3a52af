import { statSync } from "node:fs"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { invokedAs, shellWord } from "../invocation.ts"
import { INTERRUPTED_STATUS, processSignals, stoppedBy } from "../signals.ts"
import { VERSION } from "../version.ts"
import { terminalWidth, wrapText } from "../wrap.ts"
import { ClientLive } from "./ClientLive.ts"
import { type ClientArgs, clientArgsFrom, clientUsage } from "./cli/args.ts"
import { runBatch } from "./cli/batch.ts"
import { parseCommand, promptWord } from "./cli/commands.ts"
import { ExitCode } from "./cli/failures.ts"
import { runInteractive } from "./cli/interactive.ts"
import { type Console, runCommand } from "./cli/runner.ts"
import type { ClientServices } from "./context.ts"
import { clientTlsOf } from "./tls.ts"

const DEFAULT_FOLDER = "storage/cliente"

/** The client as the person started it, for the help and the advice they may paste. */
const PROGRAM = invokedAs("cliente", "arquivos-cliente")

const write = (stream: NodeJS.WriteStream, text: string) => Effect.sync(() => void stream.write(text))

/**
 * Runs a one-shot command or a script so that Ctrl+C cancels it as the shell
 * does: the command says what it kept, and the status is 130. A second
 * Ctrl+C while the cancel is under way leaves at once (130 too).
 */
const cancellable = <R>(program: Effect.Effect<ExitCode, never, R>): Effect.Effect<number, never, R> =>
  Effect.map(stoppedBy(processSignals("SIGINT"), program), (stopped) =>
    stopped._tag === "Abandoned"
      ? INTERRUPTED_STATUS
      : Exit.isSuccess(stopped.exit)
        ? stopped.exit.value
        : stopped.signalled
          ? INTERRUPTED_STATUS
          : ExitCode.Network
  )

/** The terminal as the commands see it. */
const consoleFor = (args: ClientArgs): Console => {
  const address = args.server.host.includes(":")
    ? `[${args.server.host}]:${args.server.port}`
    : `${args.server.host}:${args.server.port}`
  return {
    out: (line) => process.stdout.write(`${wrapText(line, terminalWidth(process.stdout))}\n`),
    err: (line) => process.stderr.write(`${wrapText(line, terminalWidth(process.stderr))}\n`),
    data: (text) => process.stdout.write(`${text}\n`),
    columns: () => terminalWidth(process.stdout),
    folder: args.folder,
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
      },
      result: (line) => process.stdout.write(`${line}\n`),
      resultWidth: () => terminalWidth(process.stdout)
    },
    server: address,
    ...(args.tls === undefined ? {} : { tls: { clientCertificate: args.tls.certificate !== undefined } }),
    debug: args.debug,
    resumeCommand: (words) =>
      [
        PROGRAM,
        shellWord(address),
        ...(args.folder === DEFAULT_FOLDER ? [] : ["--pasta", shellWord(args.folder)]),
        ...words.map(shellWord)
      ].join(" "),
    remoteNames: [],
    localFolder: ""
  }
}

/** A one-shot command, a script, commands from a pipe, or the interactive shell; its exit status. */
const session = (args: ClientArgs, console: Console) =>
  Effect.gen(function* () {
    if (args.command.length > 0) {
      const command = parseCommand(args.command, "batch")
      if (Either.isLeft(command)) {
        console.err(command.left)
        return ExitCode.Usage
      }
      return yield* cancellable(Effect.scoped(runCommand(command.right, console)))
    }
    if (args.script !== undefined) {
      const script = args.script
      const text = yield* Effect.promise(() =>
        Bun.file(script)
          .text()
          .catch(() => undefined)
      )
      if (text === undefined) {
        console.err(`Não foi possível ler o script "${script}".`)
        return ExitCode.Usage
      }
      return yield* cancellable(Effect.scoped(runBatch(text.split(/\r?\n/), console)))
    }
    if (!process.stdin.isTTY) {
      const text = yield* Effect.promise(() => Bun.stdin.text())
      return yield* cancellable(Effect.scoped(runBatch(text.split(/\r?\n/), console)))
    }
    const runtime = yield* Effect.runtime<Exclude<ClientServices, Scope.Scope>>()
    return yield* Effect.promise(() =>
      runInteractive(runtime, { ...console, resumeCommand: (words) => words.map(promptWord).join(" ") })
    )
  })

const isFile = (at: string) => {
  try {
    return !statSync(at).isDirectory()
  } catch {
    return false
  }
}

/** The client on the services over its local folder; a folder it cannot use is refused (1). */
const run = (args: ClientArgs): Effect.Effect<number> => {
  const console = consoleFor(args)
  const tls = args.tls === undefined ? undefined : clientTlsOf(args.tls, args.server.host)
  if (tls !== undefined && Either.isLeft(tls)) {
    return Effect.sync(() => {
      console.err(`Não foi possível usar TLS: ${tls.left}.`)
      return ExitCode.Refused
    })
  }
  return session(args, console).pipe(
    Effect.provide(
      ClientLive({
        folder: args.folder,
        ...args.server,
        ...(tls === undefined ? {} : { tls: tls.right }),
        timeoutSeconds: args.timeoutSeconds,
        trace: args.trace ? (text) => process.stderr.write(`${text}\n`) : undefined
      })
    ),
    Effect.catchAll(() =>
      Effect.sync(() => {
        console.err(
          isFile(args.folder)
            ? `Não foi possível usar a pasta local "${args.folder}": é um arquivo, não uma pasta. Indique uma pasta com --pasta (ela é criada se faltar).`
            : `Não foi possível usar a pasta local "${args.folder}".`
        )
        return ExitCode.Refused
      })
    )
  )
}

/**
 * The whole client, from its command line to its exit status: usage errors
 * 2, refusals 1, network errors 3, Ctrl+C 130 (README, "Códigos de saída").
 */
export const clientMain = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.suspend(() => {
    const parsed = clientArgsFrom(argv)
    if (Either.isLeft(parsed)) {
      return Effect.as(
        write(
          process.stderr,
          `${wrapText(`cliente: ${parsed.left}`, terminalWidth(process.stderr))}\nUse --ajuda para ver as opções.\n`
        ),
        ExitCode.Usage
      )
    }
    switch (parsed.right._tag) {
      case "Help":
        return Effect.as(write(process.stdout, `${clientUsage(PROGRAM)}\n`), ExitCode.Ok)
      case "Version":
        return Effect.as(write(process.stdout, `arquivos-cliente ${VERSION}\n`), ExitCode.Ok)
      case "Run":
        return run(parsed.right.args)
    }
  }).pipe(
    Effect.catchAllCause((cause) => {
      const error = Cause.squash(cause)
      return Effect.as(
        write(process.stderr, `Erro interno: ${error instanceof Error ? error.message : String(error)}\n`),
        ExitCode.Network
      )
    })
  )

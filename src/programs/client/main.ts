import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { BunTransportLive } from "../../services/BunTransport.ts"
import { FileStoreLive } from "../../services/FileStoreLive.ts"
import { HasherLive } from "../../services/Hasher.ts"
import { CLIENT_USAGE, type ClientArgs, parseClientArgs } from "./cli/args.ts"
import { runBatch } from "./cli/batch.ts"
import { parseCommand } from "./cli/commands.ts"
import { ExitCode } from "./cli/failures.ts"
import { runInteractive } from "./cli/interactive.ts"
import { type Console, runCommand } from "./cli/runner.ts"
import { ClientConfig } from "./config.ts"
import { Trace } from "./trace.ts"

const main = async (args: ClientArgs): Promise<number> => {
  const address = args.server.host.includes(":")
    ? `[${args.server.host}]:${args.server.port}`
    : `${args.server.host}:${args.server.port}`
  const layers = Layer.mergeAll(
    FileStoreLive(path.resolve(args.folder)),
    HasherLive,
    BunTransportLive,
    Layer.succeed(ClientConfig, { ...args.server, timeoutSeconds: args.timeoutSeconds }),
    args.trace ? Layer.succeed(Trace, { line: (text: string) => process.stderr.write(`${text}\n`) }) : Layer.empty
  )
  const runtime = ManagedRuntime.make(layers)
  const console: Console = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progress: {
      write: (text) => process.stderr.write(text),
      live: Boolean(process.stderr.isTTY) && !args.silent,
      now: () => Date.now(),
      width: () => process.stderr.columns || 80
    },
    server: address,
    debug: args.debug,
    remoteNames: []
  }
  try {
    const started = await runtime.runPromiseExit(Effect.void)
    if (started._tag === "Failure") {
      console.err(`Não foi possível usar a pasta local "${args.folder}".`)
      return ExitCode.Refused
    }
    if (args.command.length > 0) {
      const command = parseCommand(args.command)
      if (Either.isLeft(command)) {
        console.err(command.left)
        return ExitCode.Usage
      }
      return await runtime.runPromise(Effect.scoped(runCommand(command.right, console)))
    }
    if (args.script !== undefined) {
      const text = await Bun.file(args.script)
        .text()
        .catch(() => undefined)
      if (text === undefined) {
        console.err(`Não foi possível ler o script "${args.script}".`)
        return ExitCode.Usage
      }
      return await runtime.runPromise(Effect.scoped(runBatch(text.split(/\r?\n/), console)))
    }
    if (!process.stdin.isTTY) {
      const text = await Bun.stdin.text()
      return await runtime.runPromise(Effect.scoped(runBatch(text.split(/\r?\n/), console)))
    }
    return await runInteractive(runtime, console)
  } finally {
    await runtime.dispose()
  }
}

const parsed = parseClientArgs(process.argv.slice(2))
if (Either.isLeft(parsed)) {
  process.stderr.write(`cliente: ${parsed.left}\nUse --ajuda para ver as opções.\n`)
  process.exit(ExitCode.Usage)
} else if (parsed.right._tag === "Help") {
  process.stdout.write(`${CLIENT_USAGE}\n`)
} else {
  main(parsed.right.args).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`Erro interno: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(ExitCode.Network)
    }
  )
}

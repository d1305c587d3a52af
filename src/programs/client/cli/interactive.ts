import * as readline from "node:readline"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import type * as Scope from "effect/Scope"
import { FileStore } from "../../../services/FileStore.ts"
import type { ClientServices } from "../context.ts"
import { COMMAND_WORDS, COMMANDS, parseCommand, tokenize } from "./commands.ts"
import { ExitCode } from "./failures.ts"
import { type Console, runCommand } from "./runner.ts"

type Runtime = ManagedRuntime.ManagedRuntime<Exclude<ClientServices, Scope.Scope>, unknown>

const commandFor = (word: string) => COMMANDS.find((spec) => spec.name === word || spec.aliases.includes(word))

/** Candidates for Tab: command words first, then remote names (last listing) or local names for `enviar`. */
export const completions = async (
  line: string,
  remoteNames: ReadonlyArray<string>,
  localNames: () => Promise<ReadonlyArray<string>>
): Promise<[Array<string>, string]> => {
  const command = /^\s*(\S+)\s+(.*)$/.exec(line)
  if (command === null) {
    const current = line.trimStart()
    return [COMMAND_WORDS.filter((word) => word.startsWith(current)).map((word) => `${word} `), current]
  }
  const spec = commandFor(command[1]!)
  const current = command[2]!
  // One argument only; it may be an open quote ("minha fo) or plain text without spaces.
  const typed = current.startsWith('"') ? current.slice(1) : current
  if (spec === undefined || (!current.startsWith('"') && /\s/.test(current))) return [[], current.split(/\s+/).pop()!]
  const pool =
    spec.name === "enviar" ? await localNames() : ["baixar", "retomar"].includes(spec.name) ? remoteNames : []
  const quote = (name: string) => (/[\s"']/.test(name) || current.startsWith('"') ? `"${name}"` : name)
  return [pool.filter((name) => name.startsWith(typed)).map(quote), current]
}

/**
 * The interactive shell: a prompt with line editing, history and Tab
 * completion. Ctrl+C during a transfer cancels it (the partial download
 * stays for `retomar`); Ctrl+C at the prompt, `sair` or Ctrl+D leave.
 */
export const runInteractive = (runtime: Runtime, console: Console): Promise<ExitCode> =>
  new Promise((resolve) => {
    const localNames = () =>
      runtime
        .runPromise(Effect.flatMap(FileStore, (store) => store.list))
        .then((files) => files.map((file) => file.name))
        .catch(() => [])
    const rl = readline.createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: true,
      historySize: 500,
      completer: (line: string, callback: (error: null, result: [Array<string>, string]) => void) => {
        completions(line, console.remoteNames, localNames).then((result) => callback(null, result))
      }
    })
    let running: Fiber.RuntimeFiber<ExitCode, unknown> | undefined
    let closing = false
    let closeWhenDone = false
    const leave = () => {
      if (closing) return
      closing = true
      rl.close()
      // Leaving the shell is a success, whatever the last command did (as sftp).
      resolve(ExitCode.Ok)
    }
    rl.on("SIGINT", () => {
      if (running) {
        Effect.runFork(Fiber.interrupt(running))
        return
      }
      process.stdout.write("\n")
      leave()
    })
    rl.on("close", () => {
      if (running) closeWhenDone = true
      else {
        if (!closing) process.stdout.write("\n")
        leave()
      }
    })
    rl.on("line", (line) => {
      const command = Either.flatMap(tokenize(line), parseCommand)
      if (Either.isLeft(command)) {
        if (line.trim() !== "") console.err(command.left)
        return rl.prompt()
      }
      if (command.right._tag === "Quit") return leave()
      const fiber = runtime.runFork(Effect.scoped(runCommand(command.right, console)))
      running = fiber
      fiber.addObserver((exit) => {
        running = undefined
        if (exit._tag === "Failure")
          console.err("Cancelado. O download parcial, se houver, ficou guardado para retomar.")
        if (closeWhenDone) return leave()
        if (!closing) rl.prompt()
      })
    })
    console.out("Conectando a cada operação em " + console.server + '. Digite "ajuda" para ver os comandos.')
    rl.setPrompt("cliente> ")
    rl.prompt()
  })

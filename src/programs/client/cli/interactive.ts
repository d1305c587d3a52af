import * as readline from "node:readline"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { FileStore } from "../../../services/FileStore.ts"
import type { ClientServices } from "../context.ts"
import { list } from "../list.ts"
import { COMMAND_WORDS, COMMANDS, parseCommand, tokenize } from "./commands.ts"
import { ExitCode } from "./failures.ts"
import { addReverseSearch, HISTORY_LINES, historyFile, loadHistory, saveLine } from "./history.ts"
import { type Console, runCommand } from "./runner.ts"

type ClientRuntime = Runtime.Runtime<Exclude<ClientServices, Scope.Scope>>

const commandFor = (word: string) => COMMANDS.find((spec) => spec.name === word || spec.aliases.includes(word))

/** Commands whose arguments are remote names, and those whose arguments are local names. */
const REMOTE = new Set(["baixar", "retomar"])
const LOCAL = new Set(["enviar"])

/**
 * The word being typed at the end of `rest` (the text after the command):
 * where it starts, and its text as the tokenizer will read it (quotes and
 * backslashes taken out). Undefined for an unclosed single quote.
 */
const lastWord = (
  rest: string
): { readonly start: number; readonly typed: string; readonly quote: string | undefined } => {
  let start = 0
  let quote: string | undefined
  let typed = ""
  const chars = Array.from(rest)
  let offset = 0
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!
    if (char === "\\" && quote !== "'" && i + 1 < chars.length) {
      typed += chars[++i]
      offset += char.length + chars[i]!.length
      continue
    }
    if (quote !== undefined) {
      if (char === quote) quote = undefined
      else typed += char
    } else if (char === '"' || char === "'") quote = char
    else if (/\s/.test(char)) {
      start = offset + char.length
      typed = ""
    } else typed += char
    offset += char.length
  }
  return { start, typed, quote }
}

/** The folders that hold `names` (each ancestor once, with a closing /), for `lcd`. */
const foldersOf = (names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const folders = new Set<string>()
  for (const name of names) {
    const parts = name.split("/").slice(0, -1)
    for (let i = 1; i <= parts.length; i++) folders.add(`${parts.slice(0, i).join("/")}/`)
  }
  return [...folders].sort()
}

/** A name as one word the tokenizer reads back whole. */
const asWord = (name: string, quote: string | undefined) =>
  quote !== undefined || /[\s"'\\]/.test(name) ? `${quote ?? '"'}${name}${quote ?? '"'}` : name

/**
 * Candidates for Tab: command words first; then, for the word being typed,
 * remote names (`baixar`, `retomar`), local names (`enviar`) or command
 * names (`ajuda`).
 */
export const completions = async (
  line: string,
  remoteNames: ReadonlyArray<string> | (() => Promise<ReadonlyArray<string>>),
  localNames: () => Promise<ReadonlyArray<string>>
): Promise<[Array<string>, string]> => {
  const command = /^\s*(\S+)\s+([\s\S]*)$/.exec(line)
  if (command === null) {
    const current = line.trimStart()
    return [COMMAND_WORDS.filter((word) => word.startsWith(current)).map((word) => `${word} `), current]
  }
  const spec = commandFor(command[1]!)
  const rest = command[2]!
  const word = lastWord(rest)
  const current = rest.slice(word.start)
  if (spec === undefined) return [[], current]
  // Only commands that take several names complete a second one.
  const several = spec.name === "baixar" || spec.name === "enviar"
  if (!several && word.start > 0 && rest.slice(0, word.start).trim() !== "") return [[], current]
  let pool: ReadonlyArray<string> = []
  if (REMOTE.has(spec.name)) pool = typeof remoteNames === "function" ? await remoteNames() : remoteNames
  else if (LOCAL.has(spec.name)) pool = await localNames()
  else if (spec.name === "lcd") pool = foldersOf(await localNames())
  else if (spec.name === "ajuda") pool = COMMANDS.map((spec) => spec.name)
  return [pool.filter((name) => name.startsWith(word.typed)).map((name) => asWord(name, word.quote)), current]
}

/** How long a listing fetched for Tab is trusted before the next Tab asks the server again. */
const REMOTE_NAMES_MILLIS = 10_000

const PROMPT = "cliente> "

/**
 * The interactive shell: a prompt with line editing, history kept between
 * sessions (with Ctrl+R search), and Tab completion (remote names fetched on the first Tab).
 * Ctrl+C during a transfer cancels it; at the prompt it clears the line, as
 * bash and lftp do. `sair` or Ctrl+D leave.
 */
export const runInteractive = (runtime: ClientRuntime, console: Console): Promise<ExitCode> =>
  new Promise((resolve) => {
    const runPromise = Runtime.runPromise(runtime)
    const runFork = Runtime.runFork(runtime)
    const localNames = () =>
      runPromise(Effect.flatMap(FileStore, (store) => store.list))
        .then((files) => {
          // Relative to the folder set by lcd, as `enviar` reads them.
          const prefix = console.localFolder === "" ? "" : `${console.localFolder}/`
          return files.filter((file) => file.name.startsWith(prefix)).map((file) => file.name.slice(prefix.length))
        })
        .catch(() => [])
    let fetchedAt = 0
    const remoteNames = async (): Promise<ReadonlyArray<string>> => {
      if (Date.now() - fetchedAt < REMOTE_NAMES_MILLIS && console.remoteNames.length > 0) return console.remoteNames
      const listing = await runPromise(Effect.scoped(list)).catch(() => undefined)
      if (listing !== undefined) {
        console.remoteNames = listing.entries.map((entry) => entry.nome)
        fetchedAt = Date.now()
      }
      return console.remoteNames
    }
    const history = historyFile()
    const rl = readline.createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: true,
      history: loadHistory(history),
      historySize: HISTORY_LINES,
      removeHistoryDuplicates: true,
      completer: (line: string, callback: (error: null, result: [Array<string>, string]) => void) => {
        completions(line, remoteNames, localNames).then((result) => callback(null, result))
      }
    } as readline.ReadLineOptions)
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
      // At the prompt, as bash: what was typed stays on screen, followed by ^C; the new prompt starts empty.
      rl.write(null, { ctrl: true, name: "e" })
      process.stdout.write("^C\n")
      const editor = rl as unknown as { line: string; cursor: number }
      editor.line = ""
      editor.cursor = 0
      rl.prompt()
    })
    rl.on("close", () => {
      if (running) closeWhenDone = true
      else {
        if (!closing) process.stdout.write("\n")
        leave()
      }
    })
    rl.on("line", (line) => {
      if (line.trim() !== "") saveLine(history, line)
      const command = Either.flatMap(tokenize(line), (words) => parseCommand(words))
      if (Either.isLeft(command)) {
        if (line.trim() !== "") console.err(command.left)
        return rl.prompt()
      }
      if (command.right._tag === "Quit") return leave()
      if (command.right._tag === "List") fetchedAt = Date.now()
      const fiber = runFork(Effect.scoped(runCommand(command.right, console)))
      running = fiber
      fiber.addObserver(() => {
        running = undefined
        if (closeWhenDone) return leave()
        if (!closing) rl.prompt()
      })
    })
    console.out(`Conectando a cada operação em ${console.server}. Digite "ajuda" para ver os comandos.`)
    rl.setPrompt(PROMPT)
    addReverseSearch(rl, PROMPT)
    rl.prompt()
  })

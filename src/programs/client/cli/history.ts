import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import * as path from "node:path"
import type * as readline from "node:readline"

/** The shell's history: kept between sessions in a file, and searched with Ctrl+R. */

/** Lines of history kept between sessions. */
export const HISTORY_LINES = 1_000

/** The history file, in the user's state folder (XDG), shared by every session of this user. */
export const historyFile = (): string => {
  const state = process.env.XDG_STATE_HOME || path.join(homedir(), ".local", "state")
  return path.join(state, "arquivos-tcp", "historico")
}

/** The saved history, newest first (as readline keeps it); empty when there is none or it cannot be read. */
export const loadHistory = (file: string): Array<string> => {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .slice(-HISTORY_LINES)
      .reverse()
  } catch {
    return []
  }
}

/** Appends a line; the file is cut back to its newest HISTORY_LINES when it doubles. Failing to save is not an error. */
export const saveLine = (file: string, line: string) => {
  try {
    mkdirSync(path.dirname(file), { recursive: true })
    appendFileSync(file, `${line.replace(/\n/g, " ")}\n`, { mode: 0o600 })
    const lines = readFileSync(file, "utf8")
      .split("\n")
      .filter((entry) => entry !== "")
    if (lines.length > 2 * HISTORY_LINES) writeFileSync(file, `${lines.slice(-HISTORY_LINES).join("\n")}\n`)
  } catch {
    // A read-only home: history lives for this session only.
  }
}

interface KeyPress {
  readonly name?: string
  readonly ctrl?: boolean
  readonly meta?: boolean
}

/** The parts of node's readline Interface the reverse search works with (Bun's has them too). */
interface LineEditor {
  _ttyWrite?: (text: string | undefined, key: KeyPress | undefined) => void
  _refreshLine?: () => void
  line: string
  cursor: number
  history: Array<string>
}

/**
 * Ctrl+R, as in bash: type part of an earlier line to find the newest one
 * that holds it; Ctrl+R again for an older one; Enter runs it; Esc or an
 * arrow keeps it for editing; Ctrl+G or Ctrl+C give the line back as it was.
 * Readline has no search of its own: this wraps its key handler, and leaves
 * it alone where that handler is missing.
 */
export const addReverseSearch = (rl: readline.Interface, prompt: string) => {
  const editor = rl as unknown as LineEditor
  const original = editor._ttyWrite
  const refresh = editor._refreshLine
  if (typeof original !== "function" || typeof refresh !== "function") return
  let search: { query: string; index: number; saved: string } | undefined
  const find = (query: string, from: number) => {
    for (let i = from; i < editor.history.length; i++) if (editor.history[i]!.includes(query)) return i
    return -1
  }
  const matchOf = () => (search !== undefined && search.index >= 0 ? editor.history[search.index]! : "")
  const show = (line: string) => {
    editor.line = line
    editor.cursor = line.length
    refresh.call(rl)
  }
  const render = () => {
    if (search === undefined) return
    const missing = search.query !== "" && search.index < 0
    rl.setPrompt(`(busca no histórico${missing ? ": nada" : ""}) '${search.query}': `)
    show(matchOf())
  }
  const finish = (line: string) => {
    search = undefined
    rl.setPrompt(prompt)
    show(line)
  }
  editor._ttyWrite = function (this: unknown, text, key) {
    if (search === undefined) {
      if (key?.ctrl && key.name === "r") {
        search = { query: "", index: -1, saved: editor.line }
        return render()
      }
      return original.call(this, text, key)
    }
    if (key?.ctrl && key.name === "r") {
      const older = find(search.query, search.index + 1)
      if (older >= 0) search.index = older
      return render()
    }
    if (key?.ctrl && (key.name === "g" || key.name === "c")) return finish(search.saved)
    if (key?.name === "backspace") {
      search.query = search.query.slice(0, -1)
      search.index = search.query === "" ? -1 : find(search.query, 0)
      return render()
    }
    if (key?.name === "return" || key?.name === "enter") {
      finish(matchOf() || search.saved)
      return original.call(this, text, key)
    }
    if (
      key?.ctrl ||
      key?.meta ||
      (key?.name !== undefined && ["escape", "left", "right", "up", "down", "home", "end", "tab"].includes(key.name))
    ) {
      finish(matchOf() || search.saved)
      return key?.name === "escape" ? undefined : original.call(this, text, key)
    }
    if (text !== undefined && text !== "") {
      search.query += text
      search.index = find(search.query, Math.max(0, search.index))
      return render()
    }
  }
}

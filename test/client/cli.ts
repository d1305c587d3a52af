import * as net from "node:net"
import * as path from "node:path"
import { guard, within } from "../support/waiting.ts"

/**
 * Helpers to run the real command-line client as a child process: one-shot
 * and batch runs with their output and exit status, and an interactive
 * session through a pseudo-terminal made by util-linux `script`.
 */

/** The project root: the client is spawned from here, as `bun run cliente` would. */
export const ROOT = path.resolve(import.meta.dir, "../..")

export const CLIENT_MAIN = "src/programs/client/main.ts"

export interface CliResult {
  /** Exit status, or null when the run was killed at its time limit. */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

export interface CliOptions {
  /** Text written to the client's stdin through a pipe; without it, stdin is /dev/null. */
  readonly stdin?: string
  /** Kill the client after this long (the result then has code null). */
  readonly limitMillis?: number
  /** stderr into stdout's pipe (`2>&1`), to see the order of results and diagnostics as a log would. */
  readonly merged?: boolean
}

/** Runs `bun src/programs/client/main.ts ...args` to its end, bounded in time. */
export const runCli = async (args: ReadonlyArray<string>, options: CliOptions = {}): Promise<CliResult> => {
  const started = Date.now()
  const command = [process.execPath, CLIENT_MAIN, ...args]
  const child = Bun.spawn(options.merged ? ["sh", "-c", 'exec "$0" "$@" 2>&1', ...command] : command, {
    cwd: ROOT,
    stdin: options.stdin === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1" }
  })
  let killed = false
  const cancel = guard(options.limitMillis ?? 20_000, () => {
    killed = true
    child.kill("SIGKILL")
  })
  try {
    if (options.stdin !== undefined && child.stdin !== undefined && typeof child.stdin !== "number") {
      child.stdin.write(options.stdin)
      await child.stdin.end()
    }
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited
    ])
    return { code: killed ? null : code, stdout, stderr, millis: Date.now() - started }
  } finally {
    cancel()
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
}

/** A loopback port with nothing listening on it (bound, then released). */
export const closedPort = async (): Promise<number> => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Quotes a word for `sh -c`. */
const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

/**
 * An interactive client inside a pseudo-terminal. Bun has no pty module, so
 * util-linux `script -qfec CMD /dev/null` allocates one: its stdin (a pipe)
 * is copied to the terminal's input, and everything the client prints comes
 * out of its stdout. `-e` makes `script` exit with the client's status.
 */
export class PtySession {
  private output = ""
  private readonly child: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>
  private readonly reading: Promise<void>

  constructor(args: ReadonlyArray<string>, env: Record<string, string> = {}) {
    // With a pipe as its stdin, `script` leaves the terminal at 0×0; give it
    // a real size first, as a terminal window would have.
    const command = `stty cols 100 rows 30; exec ${[process.execPath, CLIENT_MAIN, ...args].map(shellQuote).join(" ")}`
    const child = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
      cwd: ROOT,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, TERM: "xterm", NO_COLOR: "1", ...env }
    })
    this.child = child
    this.reading = (async () => {
      const decoder = new TextDecoder()
      for await (const chunk of child.stdout) this.output += decoder.decode(chunk, { stream: true })
    })().catch(() => {})
  }

  /** Everything the terminal showed so far. */
  get text(): string {
    return this.output
  }

  /** Position to search from, to wait only for what comes after now. */
  get mark(): number {
    return this.output.length
  }

  /** Types text (control characters included: "\r" Enter, "\t" Tab, "\x03" Ctrl+C, "\x04" Ctrl+D). */
  type(text: string): void {
    this.child.stdin.write(text)
    this.child.stdin.flush()
  }

  /** Waits until `wanted` appears after position `from`; throws with the screen so far when it does not. */
  async waitFor(wanted: string | RegExp, from = 0, limitMillis = 5_000): Promise<string> {
    const deadline = Date.now() + limitMillis
    for (;;) {
      const seen = this.output.slice(from)
      if (typeof wanted === "string" ? seen.includes(wanted) : wanted.test(seen)) return seen
      if (Date.now() >= deadline || this.child.exitCode !== null) {
        throw new Error(
          `waited ${limitMillis} ms for ${JSON.stringify(String(wanted))}; the terminal showed ${JSON.stringify(seen)}`
        )
      }
      await Bun.sleep(10)
    }
  }

  /** The exit status of the client, or null if it is still running after `limitMillis`. */
  async exit(limitMillis = 5_000): Promise<number | null> {
    const status = await within(this.child.exited, limitMillis, () => null)
    if (status !== null) await within(this.reading, 500, () => undefined)
    return status
  }

  /** Kills `script` and, through the closed terminal, the client. Safe to call twice. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL")
      await within(this.child.exited, 2_000, () => undefined)
    }
  }
}

import type { OperationWord } from "../../domain/operations.ts"

/**
 * Runs the command under test once: placeholders replaced, output kept,
 * bounded in time (killed by its own pid when it overstays).
 */

/** The operation a run asks the client under test for: the registry's words. */
export type ClientOp = OperationWord

export interface Placeholders {
  readonly endereco: string
  readonly pasta: string
  readonly op: ClientOp
  readonly nome: string
}

/** The command's words with `{endereco}` `{pasta}` `{op}` `{nome}` replaced; a lone `{nome}` is dropped for listar. */
export const commandLine = (template: ReadonlyArray<string>, values: Placeholders): Array<string> =>
  template
    .filter((word) => !(word === "{nome}" && values.op === "listar"))
    .map((word) =>
      word
        .replaceAll("{endereco}", values.endereco)
        .replaceAll("{pasta}", values.pasta)
        .replaceAll("{op}", values.op)
        .replaceAll("{nome}", values.nome)
    )

export interface ClientRun {
  /** Exit status; undefined when the judge had to stop it. */
  readonly code: number | undefined
  readonly overstayed: boolean
  readonly millis: number
  readonly stdout: string
  readonly stderr: string
}

/** The command could not be started at all (not found, not executable). */
export class CannotRun extends Error {}

/**
 * Collects a stream's text as it comes (the first `limit` characters). The
 * text so far is readable at any time: a grandchild the command left behind
 * may hold the pipe open after the command itself is gone.
 */
const collect = (stream: ReadableStream<Uint8Array>, limit = 64 * 1024) => {
  const state = { text: "" }
  const decoder = new TextDecoder()
  const done = (async () => {
    for await (const chunk of stream) {
      if (state.text.length < limit) state.text += decoder.decode(chunk, { stream: true })
    }
  })().catch(() => undefined)
  return { state, done }
}

export const runClient = async (words: ReadonlyArray<string>, cwd: string, limitMillis: number): Promise<ClientRun> => {
  const started = Date.now()
  let child: ReturnType<typeof Bun.spawn>
  try {
    child = Bun.spawn([...words], { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  } catch (error) {
    throw new CannotRun(
      `não foi possível executar "${words[0] ?? ""}": ${error instanceof Error ? error.message : String(error)}`
    )
  }
  let overstayed = false
  const timer = setTimeout(() => {
    overstayed = true
    child.kill("SIGTERM")
    setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }, 1000).unref()
  }, limitMillis)
  const stdout = collect(child.stdout as ReadableStream<Uint8Array>)
  const stderr = collect(child.stderr as ReadableStream<Uint8Array>)
  const code = await child.exited
  const millis = Date.now() - started
  clearTimeout(timer)
  // The output's end, or a short grace when something else still holds the pipes.
  await Promise.race([Promise.all([stdout.done, stderr.done]), Bun.sleep(1000)])
  return {
    code: overstayed ? undefined : code,
    overstayed,
    millis,
    stdout: stdout.state.text,
    stderr: stderr.state.text
  }
}

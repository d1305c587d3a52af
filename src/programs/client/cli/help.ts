import { COMMANDS, specFor } from "./commands.ts"
import { wrap } from "./format.ts"

/** The help text, for the whole table of commands or for one of them. */

const USAGE_COLUMN = 27

/**
 * The help, wrapped between words to `width` columns: every command with
 * its summary, aliases and first example; or, for one command, all of it.
 */
export const helpText = (width = 80, topic?: string): string => {
  const room = Math.max(20, width - 1)
  const spec = topic === undefined ? undefined : specFor(topic)
  if (spec !== undefined) {
    return [
      `${spec.usage}${spec.aliases.length > 0 ? `  (também: ${spec.aliases.join(", ")})` : ""}`,
      ...wrap(spec.summary, room - 2).map((line) => `  ${line}`),
      "Exemplos:",
      ...spec.examples.map((example) => `  ${example}`)
    ].join("\n")
  }
  // Narrow windows put each summary under its usage instead of beside it.
  const beside = room >= USAGE_COLUMN + 30
  const indent = beside ? " ".repeat(USAGE_COLUMN) : "      "
  const lines = ["Comandos:"]
  for (const spec of COMMANDS) {
    const extra = `${spec.aliases.length > 0 ? `(também: ${spec.aliases.join(", ")})  ` : ""}exemplo: ${spec.examples[0]}`
    const body = [...wrap(spec.summary, room - indent.length), ...wrap(extra, room - indent.length)]
    if (beside) {
      const head = `  ${spec.usage}`.padEnd(USAGE_COLUMN - 1)
      if (head.length < USAGE_COLUMN) lines.push(`${head} ${body[0]}`, ...body.slice(1).map((line) => indent + line))
      else lines.push(head, ...body.map((line) => indent + line))
    } else lines.push(`  ${spec.usage}`, ...body.map((line) => indent + line))
  }
  lines.push(
    "",
    ...wrap(
      'Nomes com espaço vão entre aspas ou com \\ antes do espaço: baixar "minhas fotos/a.jpg" ou baixar minhas\\ fotos/a.jpg.',
      room
    ),
    ...wrap(
      "Durante uma transferência, Ctrl+C cancela e diz o que ficou guardado; no prompt, Ctrl+C limpa a linha, Ctrl+R busca no histórico e Ctrl+D sai.",
      room
    ),
    ...wrap('Digite "ajuda COMANDO" para ver um comando com exemplos.', room)
  )
  return lines.join("\n")
}

export const HELP_TEXT = helpText(80)

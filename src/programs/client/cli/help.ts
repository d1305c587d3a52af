import { COMMANDS, specFor } from "./commands.ts"
import { wrap } from "./format.ts"

/** The help text, for the whole table of commands or for one of them. */

/**
 * The help, wrapped between words to `width` columns. Without a topic, one
 * screen (24 rows at 80 columns): each command and its aliases with a few
 * words, then how to see one command whole. With a topic, all of that
 * command, with examples.
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
  const names = COMMANDS.map((spec) => `  ${[spec.name, ...spec.aliases].join(", ")}`)
  const column = Math.max(...names.map((name) => name.length)) + 2
  // Narrow windows put each brief under its names instead of beside them.
  const beside = room >= column + 24
  const lines = [...wrap('Comandos (digite "ajuda COMANDO" para ver um com exemplos):', room)]
  for (const [index, spec] of COMMANDS.entries()) {
    const name = names[index]!
    if (beside) {
      const [first, ...rest] = wrap(spec.brief, room - column)
      lines.push(`${name.padEnd(column)}${first}`, ...rest.map((line) => " ".repeat(column) + line))
    } else lines.push(name, ...wrap(spec.brief, room - 6).map((line) => `      ${line}`))
  }
  lines.push(
    "",
    ...wrap('Nomes com espaço vão entre aspas: baixar "minhas fotos/a.jpg".', room),
    ...wrap(
      "Ctrl+C cancela uma transferência; no prompt, descarta a linha. Tab completa comandos e nomes; Ctrl+R busca no histórico; Ctrl+D sai.",
      room
    )
  )
  return lines.join("\n")
}

export const HELP_TEXT = helpText(80)

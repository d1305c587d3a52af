/** Text broken between words to fit a terminal, for the messages of both programs. */

/** Words of `text` in lines of at most `width` columns (a word longer than that stands alone). */
export const wrap = (text: string, width: number): ReadonlyArray<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((word) => word !== "")) {
    if (line !== "" && Bun.stringWidth(line) + 1 + Bun.stringWidth(word) > width) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  if (line !== "") lines.push(line)
  return lines
}

/**
 * A message for a terminal `width` columns wide: each line that does not fit
 * is broken between words, one column short of the edge. A line that starts
 * with two spaces is a command to copy and is never broken (the terminal
 * folds it, and a paste keeps it whole); nor is one that fits.
 */
export const wrapText = (text: string, width: number | undefined): string => {
  if (width === undefined) return text
  const room = Math.max(20, width - 1)
  return text
    .split("\n")
    .flatMap((line) => (line.startsWith("  ") || Bun.stringWidth(line) <= room ? [line] : wrap(line, room)))
    .join("\n")
}

/** The width of `stream` when it is a terminal; undefined otherwise (a file or a pipe: lines stay whole). */
export const terminalWidth = (stream: NodeJS.WriteStream): number | undefined =>
  stream.isTTY ? stream.columns || 80 : undefined

/** Words for people and for log lines: counts that agree, names as one word. */

/** "1 arquivo", "2 arquivos": the count and the word that agrees with it. */
export const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`

const SAFE_WORD = /^[^\s"\\\u0000-\u001f\u007f-\u009f]+$/u

/** Longest name a log line shows; the rest is counted, not printed (a hostile name can be 4 KiB). */
const LOG_NAME_CHARS = 256

/**
 * A name or mask as one word of a log line: bare when it has no space,
 * quote, backslash or control character; otherwise in double quotes with
 * those escaped (\", \\, \xNN), so every line splits the same way.
 */
export const logWord = (text: string): string => {
  const chars = Array.from(text)
  const shown = chars.length > LOG_NAME_CHARS ? `${chars.slice(0, LOG_NAME_CHARS).join("")}…` : text
  if (SAFE_WORD.test(shown) && shown !== "-") return shown
  const escaped = shown.replace(/["\\\u0000-\u001f\u007f-\u009f]/g, (char) =>
    char === '"' || char === "\\" ? `\\${char}` : `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`
  )
  return `"${escaped}"`
}

import { CLIENT_MAIN, ROOT } from "./cli.ts"

/**
 * The real client in a pseudo-terminal of a chosen width (Bun.spawn's
 * `terminal` option), with a small screen model to check what a person
 * would see: lines that wrap at the right edge (a bar too wide for the
 * window prints a new line on every redraw), and the final screen.
 */

/**
 * A minimal VT100 screen: printable text by display width, CR, LF, BS, and
 * the CSI sequences the client and readline use (erase line/screen, cursor
 * moves and column). `wraps` counts the times text ran past the last column.
 */
export class Screen {
  lines: Array<string> = [""]
  row = 0
  col = 0
  wraps = 0
  private pendingWrap = false

  constructor(public cols: number) {}

  private put(text: string) {
    const width = Bun.stringWidth(text)
    if (width === 0) {
      this.lines[this.row] += text
      return
    }
    if (this.pendingWrap || this.col + width > this.cols) {
      this.wraps++
      this.newline()
      this.col = 0
      this.pendingWrap = false
    }
    const line = this.cells(this.row)
    line.splice(this.col, width, text, ...Array(width - 1).fill(""))
    this.lines[this.row] = line.join("")
    this.col += width
    if (this.col >= this.cols) {
      this.col = this.cols - 1
      this.pendingWrap = true
    }
  }

  /** The row as cells, one per column (a wide character takes its cell and an empty one). */
  private cells(row: number): Array<string> {
    const cells: Array<string> = []
    for (const { segment } of new Intl.Segmenter().segment(this.lines[row] ?? "")) {
      cells.push(segment, ...Array(Math.max(0, Bun.stringWidth(segment) - 1)).fill(""))
    }
    while (cells.length < this.col) cells.push(" ")
    return cells
  }

  private newline() {
    this.row++
    while (this.lines.length <= this.row) this.lines.push("")
  }

  feed(text: string) {
    const graphemes = Array.from(new Intl.Segmenter().segment(text), (part) => part.segment)
    for (let i = 0; i < graphemes.length; i++) {
      const g = graphemes[i]!
      if (g === "\r\n") {
        this.col = 0
        this.pendingWrap = false
        this.newline()
      } else if (g === "\r") {
        this.col = 0
        this.pendingWrap = false
      } else if (g === "\n") {
        this.pendingWrap = false
        this.newline()
      } else if (g === "\b") {
        this.col = Math.max(0, this.col - 1)
        this.pendingWrap = false
      } else if (g === "\x07") {
        // bell
      } else if (g === "\x1b") {
        // CSI: ESC [ params final; anything else is skipped with its next character.
        if (graphemes[i + 1] !== "[") {
          i++
          continue
        }
        let j = i + 2
        let params = ""
        while (j < graphemes.length && !/^[@-~]$/.test(graphemes[j]!)) params += graphemes[j++]
        const final = graphemes[j]
        i = j
        this.csi(params, final ?? "")
      } else if (g.charCodeAt(0) >= 0x20) {
        this.put(g)
      }
    }
  }

  private csi(params: string, final: string) {
    const n = Number(params.replace(/^\?/, "").split(";")[0] || "0")
    const cells = () => this.cells(this.row)
    switch (final) {
      case "K": {
        const line = cells()
        if (n === 0) this.lines[this.row] = line.slice(0, this.col).join("")
        else if (n === 2) this.lines[this.row] = ""
        this.pendingWrap = false
        break
      }
      case "J":
        if (n === 0) {
          this.lines[this.row] = cells().slice(0, this.col).join("")
          this.lines.length = this.row + 1
        }
        break
      case "G":
        this.col = Math.max(0, (n || 1) - 1)
        this.pendingWrap = false
        break
      case "C":
        this.col = Math.min(this.cols - 1, this.col + (n || 1))
        break
      case "D":
        this.col = Math.max(0, this.col - (n || 1))
        this.pendingWrap = false
        break
      case "A":
        this.row = Math.max(0, this.row - (n || 1))
        break
      case "B":
        this.row += n || 1
        while (this.lines.length <= this.row) this.lines.push("")
        break
      default:
      // colours, modes: no effect on the text
    }
  }

  /** The screen's text, trailing spaces trimmed. */
  get text(): string {
    return this.lines.map((line) => line.trimEnd()).join("\n")
  }
}

export class TerminalSession {
  raw = ""
  readonly screen: Screen
  private readonly child: ReturnType<typeof Bun.spawn>
  private readonly decoder = new TextDecoder()

  constructor(
    args: ReadonlyArray<string>,
    cols: number,
    env: Record<string, string> = {},
    command: ReadonlyArray<string> = [process.execPath, CLIENT_MAIN]
  ) {
    this.screen = new Screen(cols)
    this.child = Bun.spawn([...command, ...args], {
      cwd: ROOT,
      env: { ...process.env, TERM: "xterm", NO_COLOR: "1", ...env },
      terminal: {
        cols,
        rows: 40,
        data: (_terminal, bytes) => {
          const text = this.decoder.decode(bytes, { stream: true })
          this.raw += text
          this.screen.feed(text)
        }
      }
    })
  }

  get mark(): number {
    return this.raw.length
  }

  type(text: string): void {
    this.child.terminal?.write(text)
  }

  resize(cols: number): void {
    this.screen.cols = cols
    this.child.terminal?.resize(cols, 40)
  }

  async waitFor(wanted: string | RegExp, from = 0, limitMillis = 5_000): Promise<string> {
    const deadline = Date.now() + limitMillis
    for (;;) {
      const seen = this.raw.slice(from)
      if (typeof wanted === "string" ? seen.includes(wanted) : wanted.test(seen)) return seen
      if (Date.now() >= deadline) {
        throw new Error(
          `waited ${limitMillis} ms for ${JSON.stringify(String(wanted))}; the terminal showed ${JSON.stringify(seen)}`
        )
      }
      await Bun.sleep(10)
    }
  }

  async exit(limitMillis = 5_000): Promise<number | null> {
    const status = await Promise.race([this.child.exited, Bun.sleep(limitMillis).then(() => null)])
    await Bun.sleep(50) // the last bytes from the terminal
    return status
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL")
      await Promise.race([this.child.exited, Bun.sleep(2_000)])
    }
    this.child.terminal?.close()
  }
}

import { afterAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import puppeteer, { type Browser, type Page } from "puppeteer-core"
import { seededBytes } from "../support/bytes.ts"
import { type ServerProcess, startClient, startServerProcess, stopAll } from "../support/processes.ts"
import { type FaultProxy, startProxy } from "../support/proxy.ts"

/**
 * The live page in a real browser: Debian's chromium, headless, driven by
 * puppeteer-core (which downloads no browser). An upload crawls through the
 * fault proxy while the page shows it with its name and a growing
 * percentage; then it leaves the active table and tops the last operations.
 * A file named like markup shows as text. The server restarts and the page
 * says so. Screenshots go to SCREENSHOTS (printed), and to docs/painel.png
 * when PAINEL_SCREENSHOT=docs is set (how the README's picture was made).
 */

/** The little of the DOM the functions run in the page use (the project's types have no DOM). */
interface PageElement {
  readonly textContent: string | null
  readonly children: ArrayLike<PageElement>
  readonly classList: { contains: (name: string) => boolean }
  readonly scrollWidth: number
  querySelector(selector: string): PageElement | null
}
declare const document: {
  readonly documentElement: PageElement
  querySelector(selector: string): PageElement | null
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>
}

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((file) => existsSync(file))
if (CHROMIUM === undefined) {
  console.log(
    "test/panel/browser.test.ts pulado: chromium não está instalado (apt-get install chromium; .ci/run instala)"
  )
}

const SCREENSHOTS = path.join(tmpdir(), "arquivos-painel-teste")
const RATE = 64 * 1024
const SIZE = 512 * 1024
const MARKUP_NAME = "<img src=x onerror=alert(1)><script>.txt"

let root = ""
let browser: Browser | undefined
let proxy: FaultProxy | undefined

afterAll(async () => {
  await browser?.close()
  await proxy?.stop()
  await stopAll()
  if (root !== "") await rm(root, { recursive: true, force: true })
})

/**
 * Waits until the active table shows `name` at a percentage above `above`
 * and below 100, and returns it (an upload has none until its size arrived).
 */
const percentAbove = async (page: Page, name: string, above: number) => {
  const shown = await page.waitForFunction(
    (wanted, floor) => {
      for (const row of document.querySelectorAll("#ativas tr.ativa")) {
        if (row.querySelector(".nome")?.textContent !== wanted) continue
        const match = /\((\d+)%\)/.exec(row.querySelector(".pct")?.textContent ?? "")
        if (match !== null && Number(match[1]) > floor && Number(match[1]) < 100) return match[1]
      }
      return false
    },
    { timeout: 10_000 },
    name,
    above
  )
  return Number(await shown.jsonValue())
}

const startServer = (folder: string, panel: string, port?: number): Promise<ServerProcess> =>
  startServerProcess(folder, { timeoutSeconds: 10, args: ["--painel", panel], ...(port === undefined ? {} : { port }) })

describe("the live page in headless chromium", () => {
  test.skipIf(CHROMIUM === undefined)(
    "a slow upload appears with a moving percentage, leaves, and shows in the last operations; a restart is told",
    async () => {
      root = await mkdtemp(path.join(tmpdir(), "arquivos-painel-"))
      const served = path.join(root, "servidor")
      await mkdir(served)
      await writeFile(path.join(served, MARKUP_NAME), "texto\n")
      let server = await startServer(served, "127.0.0.1:0")
      const url = (await server.stdout.waitFor(/Painel ao vivo: (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!
      // The server sees an upload's bytes as they arrive through the link (a download's would vanish into buffers).
      proxy = await startProxy(server.port, { up: { rate: RATE } })

      browser = await puppeteer.launch({
        executablePath: CHROMIUM!,
        headless: true,
        // As root chromium runs only without its sandbox (CI containers).
        args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-gpu", "--disable-dev-shm-usage"]
      })
      const page = await browser.newPage()
      await page.setViewport({ width: 1400, height: 1000 })
      await page.goto(url)
      await page.waitForFunction(() => document.querySelector("#situacao")?.textContent === "ao vivo")

      // Names are text: the markup-looking file is listed as written, and made no element.
      const listed = await page.$$eval("#arquivos .nome", (cells) => cells.map((cell) => cell.textContent))
      expect(listed).toContain(MARKUP_NAME)
      expect(await page.$$eval("main img, main script", (found) => found.length)).toBe(0)

      const client = path.join(root, "cliente")
      await mkdir(client)
      // A quick operation first, straight to the server: it tops the last operations at once.
      expect((await startClient([`127.0.0.1:${server.port}`, "--pasta", client, "listar"]).result).code).toBe(0)
      await page.waitForFunction(() => document.querySelector("#ultimas tr")?.children[2]?.textContent === "listar")
      await writeFile(path.join(client, "aula-03.bin"), seededBytes(SIZE, 3))
      const upload = startClient([proxy.address, "--pasta", client, "--silencioso", "enviar", "aula-03.bin"])
      // It appears with its name, and its percentage moves.
      const first = await percentAbove(page, "aula-03.bin", -1)
      expect(await percentAbove(page, "aula-03.bin", first)).toBeGreaterThan(first)
      await mkdir(SCREENSHOTS, { recursive: true })
      const shot = path.join(SCREENSHOTS, "painel.png")
      await page.screenshot({ path: shot, fullPage: true })
      console.log(`captura do painel com uma transferência em andamento: ${shot}`)
      if (process.env.PAINEL_SCREENSHOT === "docs")
        await copyFile(shot, path.join(import.meta.dir, "../../docs/painel.png"))

      expect((await upload.result).code).toBe(0)
      await page.waitForFunction(() => document.querySelectorAll("#ativas tr.ativa").length === 0, { timeout: 10_000 })
      const last = await page.$eval("#ultimas tr", (row) => [...row.children].map((cell) => cell.textContent))
      expect(last.slice(2, 5)).toEqual(["enviar", "aula-03.bin", "ok"])
      // The stored file joins the folder's listing.
      await page.waitForFunction(
        () => [...document.querySelectorAll("#arquivos .nome")].some((cell) => cell.textContent === "aula-03.bin"),
        { timeout: 10_000 }
      )

      // The large-type toggle, for a projector.
      await page.click("#grande")
      expect(await page.evaluate(() => document.documentElement.classList.contains("grande"))).toBe(true)
      await page.click("#grande")

      // At phone width nothing spills sideways: wide tables scroll inside their own box.
      await page.setViewport({ width: 390, height: 800 })
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
      await page.screenshot({ path: path.join(SCREENSHOTS, "painel-celular.png"), fullPage: true })

      // A restart: the page loses the stream, comes back by itself, and says the server restarted.
      const panelPort = new URL(url).port
      const filePort = server.port
      await server.stop()
      await page.waitForFunction(() => document.querySelector("#situacao")?.textContent?.startsWith("sem conexão"))
      server = await startServer(served, `127.0.0.1:${panelPort}`, filePort)
      await page.waitForFunction(
        () => document.querySelector("#aviso")?.textContent?.includes("O servidor foi reiniciado") === true,
        { timeout: 15_000 }
      )
      expect(await page.$eval("#situacao", (element) => element.textContent)).toBe("ao vivo")
    },
    60_000
  )
})

import { auto, ratio } from "./format.ts"
import { bestPeer, medianRate, type ScenarioResult } from "./results.ts"

/**
 * docs/desempenho.svg: for each scenario, one horizontal bar per contender,
 * its median rate divided by the best peer's (1 = as fast as the best peer).
 * The loopback limit (iperf3) is not a peer and is left out of the bars.
 */

const WIDTH = 960
const LABEL_WIDTH = 300
const VALUE_WIDTH = 190
const BAR_AREA = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20
const BAR_HEIGHT = 18
const ROW = 24
const TITLE = 30
const GAP = 14
const COLORS = { nosso: "#d95f02", par: "#7570b3", limite: "#999999" } as const

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

interface Bar {
  readonly label: string
  readonly role: "nosso" | "par" | "limite"
  readonly relative: number
  readonly text: string
}

const barsOf = (scenario: ScenarioResult): Array<Bar> => {
  const best = bestPeer(scenario)
  if (best === undefined) return []
  const reference = medianRate(scenario, best)
  return scenario.series
    .filter((series) => series.role !== "limite" && series.seconds.length > 0)
    .map((series) => {
      const rate = medianRate(scenario, series)
      return {
        label: series.label,
        role: series.role,
        relative: rate / reference,
        text: `${ratio(rate / reference)}  (${auto(rate)} ${scenario.rateUnit})`
      }
    })
}

export const renderChart = (scenarios: ReadonlyArray<ScenarioResult>, subtitle: string): string => {
  const groups = scenarios
    .map((scenario) => ({ scenario, bars: barsOf(scenario) }))
    .filter((group) => group.bars.length > 0)
  const largest = Math.max(1, ...groups.flatMap((group) => group.bars.map((bar) => bar.relative)))
  const scaleMax = Math.ceil(largest * 4) / 4
  const x = (relative: number) => LABEL_WIDTH + (relative / scaleMax) * BAR_AREA
  const top = 64
  const height = top + groups.reduce((sum, group) => sum + TITLE + group.bars.length * ROW + GAP, 0) + 40
  const parts: Array<string> = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="20" y="28" font-size="18" font-weight="bold">Vazão relativa ao melhor par em cada cenário (mediana; 1 = melhor par)</text>`,
    `<text x="20" y="48" fill="#555555">${escape(subtitle)}</text>`
  )
  const bottom = height - 40
  // The line of the best peer goes first, under the bars and their labels.
  const one = x(1)
  parts.push(
    `<line x1="${one.toFixed(1)}" y1="${top}" x2="${one.toFixed(1)}" y2="${bottom}" stroke="#333333" stroke-dasharray="4 3"/>`
  )
  let y = top
  for (const { scenario, bars } of groups) {
    parts.push(`<text x="20" y="${y + 20}" font-weight="bold">${escape(scenario.title)}</text>`)
    y += TITLE
    for (const bar of bars) {
      const width = Math.max(1, x(bar.relative) - LABEL_WIDTH)
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${y + 14}" text-anchor="end">${escape(bar.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y + 1}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${COLORS[bar.role]}"/>`,
        `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${y + 14}" stroke="#ffffff" stroke-width="4" paint-order="stroke">${escape(bar.text)}</text>`
      )
      y += ROW
    }
    y += GAP
  }
  // The legend.
  parts.push(
    `<text x="${one.toFixed(1)}" y="${y + 16}" text-anchor="middle" fill="#333333">1 = melhor par</text>`,
    `<rect x="20" y="${y + 6}" width="12" height="12" fill="${COLORS.nosso}"/>`,
    `<text x="38" y="${y + 16}">este projeto</text>`,
    `<rect x="140" y="${y + 6}" width="12" height="12" fill="${COLORS.par}"/>`,
    `<text x="158" y="${y + 16}">pares</text>`,
    `</svg>`
  )
  return `${parts.join("\n")}\n`
}

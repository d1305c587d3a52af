/**
 * A strict reader of Prometheus's text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): what the
 * tests check /metrics with where `promtool` (Debian's prometheus package,
 * too heavy to install for the tests) is missing. It throws on anything the
 * format does not allow or the Prometheus server would reject: a malformed
 * name, label or value, a bad escape, HELP or TYPE twice or after samples,
 * a family split in two, a repeated series, a negative counter, a histogram
 * without its +Inf bucket, with buckets that decrease or a +Inf bucket that
 * differs from its _count, a missing last line feed.
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped"

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  type: MetricType
  help: string | undefined
  readonly samples: Array<Sample>
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set<MetricType>(["counter", "gauge", "histogram", "summary", "untyped"])

const fail = (line: number, why: string): never => {
  throw new Error(`exposição inválida, linha ${line}: ${why}`)
}

/** A sample value: a Go float, NaN or ±Inf. */
const parseValue = (text: string, line: number): number => {
  if (text === "NaN") return NaN
  if (text === "+Inf" || text === "Inf") return Infinity
  if (text === "-Inf") return -Infinity
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) fail(line, `valor inválido "${text}"`)
  return Number(text)
}

/** The help text, with its two escapes (\\ and \n) undone; any other backslash is an error. */
const unescapeHelp = (text: string, line: number) =>
  text.replace(/\\(.?)/g, (_, c: string) =>
    c === "\\" ? "\\" : c === "n" ? "\n" : fail(line, `escape \\${c} no HELP`)
  )

/** The family a sample belongs to: histogram and summary samples have suffixes. */
const familyOf = (sample: string, families: Map<string, Family>): string => {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length)
      const family = families.get(base)
      if (family !== undefined && (family.type === "histogram" || family.type === "summary")) return base
    }
  }
  return sample
}

/** Reads `{a="x",b="y"}` from `text` at `at`; returns the labels and where they end. */
const parseLabels = (text: string, at: number, line: number) => {
  const labels: Record<string, string> = {}
  let i = at + 1
  for (;;) {
    if (text[i] === "}") return { labels, end: i + 1 }
    const eq = text.indexOf("=", i)
    if (eq < 0) fail(line, "rótulo sem =")
    const name = text.slice(i, eq)
    if (!LABEL_NAME.test(name) || name.startsWith("__")) fail(line, `nome de rótulo inválido "${name}"`)
    if (name in labels) fail(line, `rótulo ${name} repetido`)
    if (text[eq + 1] !== '"') fail(line, `valor do rótulo ${name} sem aspas`)
    let value = ""
    let j = eq + 2
    for (;;) {
      const c = text[j]
      if (c === undefined) fail(line, `valor do rótulo ${name} sem fim`)
      if (c === '"') break
      if (c === "\\") {
        const next = text[j + 1]
        if (next === "\\" || next === '"') value += next
        else if (next === "n") value += "\n"
        else fail(line, `escape \\${next ?? ""} no rótulo ${name}`)
        j += 2
      } else {
        value += c
        j++
      }
    }
    labels[name] = value
    i = j + 1
    if (text[i] === ",") i++
    else if (text[i] !== "}") fail(line, "rótulos sem vírgula ou }")
  }
}

const seriesKey = (sample: Sample) =>
  `${sample.name}{${Object.entries(sample.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",")}}`

/** Checks the rules of each type once the whole text is read. */
const checkFamily = (family: Family) => {
  for (const sample of family.samples) {
    if (family.type === "counter" && !(sample.value >= 0)) {
      fail(0, `contador ${sample.name} negativo ou NaN`)
    }
  }
  if (family.type !== "histogram") return
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>()
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)))
    const group = groups.get(key) ?? { buckets: [] }
    groups.set(key, group)
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) fail(0, `${sample.name} sem o rótulo le`)
      group.buckets.push([parseValue(le!, 0), sample.value])
    } else if (sample.name === `${family.name}_count`) group.count = sample.value
    else if (sample.name === `${family.name}_sum`) group.sum = sample.value
    else fail(0, `amostra ${sample.name} fora do histograma ${family.name}`)
  }
  for (const [key, group] of groups) {
    const sorted = [...group.buckets].sort((a, b) => a[0] - b[0])
    const last = sorted[sorted.length - 1]
    if (last === undefined || last[0] !== Infinity) fail(0, `histograma ${family.name}${key} sem o balde +Inf`)
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]![1] < sorted[i - 1]![1]) fail(0, `histograma ${family.name}${key}: baldes que diminuem`)
    }
    if (group.count === undefined || group.sum === undefined)
      fail(0, `histograma ${family.name}${key} sem _count ou _sum`)
    if (group.count !== last![1])
      fail(0, `histograma ${family.name}${key}: +Inf (${last![1]}) difere de _count (${group.count})`)
  }
}

/** Every family of the text, by name, in the order they came. */
export const parseExposition = (text: string): Map<string, Family> => {
  if (text !== "" && !text.endsWith("\n")) fail(0, "a última linha não termina com \\n")
  const families = new Map<string, Family>()
  const closed = new Set<string>()
  const series = new Set<string>()
  let current: string | undefined
  const enter = (name: string, line: number) => {
    if (current !== name) {
      if (closed.has(name)) fail(line, `a família ${name} aparece em dois trechos`)
      if (current !== undefined) closed.add(current)
      current = name
    }
  }
  const lines = text.split("\n")
  lines.pop()
  lines.forEach((raw, index) => {
    const line = index + 1
    if (raw.trim() === "") return
    if (raw.startsWith("#")) {
      const match = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw)
      if (match === null) return // a comment
      const [, keyword, name, rest = ""] = match
      if (!METRIC_NAME.test(name!)) fail(line, `nome inválido "${name}"`)
      enter(name!, line)
      const family = families.get(name!) ?? { name: name!, type: "untyped", help: undefined, samples: [] }
      families.set(name!, family)
      if (keyword === "HELP") {
        if (family.help !== undefined) fail(line, `HELP de ${name} repetido`)
        family.help = unescapeHelp(rest, line)
      } else {
        if (family.samples.length > 0) fail(line, `TYPE de ${name} depois das amostras`)
        if ((family as { typed?: boolean }).typed) fail(line, `TYPE de ${name} repetido`)
        if (!TYPES.has(rest.trim() as MetricType)) fail(line, `tipo desconhecido "${rest}"`)
        family.type = rest.trim() as MetricType
        ;(family as { typed?: boolean }).typed = true
      }
      return
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw)
    if (nameMatch === null) fail(line, `amostra sem nome: "${raw}"`)
    const name = nameMatch![0]
    let at = name.length
    let labels: Record<string, string> = {}
    if (raw[at] === "{") {
      const parsed = parseLabels(raw, at, line)
      labels = parsed.labels
      at = parsed.end
    }
    const fields = raw
      .slice(at)
      .trim()
      .split(/[ \t]+/)
    if (raw[at] !== " " && raw[at] !== "\t") fail(line, "sem espaço antes do valor")
    if (fields.length < 1 || fields.length > 2 || fields[0] === "") fail(line, "valor ausente ou campos a mais")
    if (fields.length === 2 && !/^-?\d+$/.test(fields[1]!)) fail(line, `marca de tempo inválida "${fields[1]}"`)
    const sample: Sample = { name, labels, value: parseValue(fields[0]!, line) }
    const familyName = familyOf(name, families)
    enter(familyName, line)
    const family = families.get(familyName) ?? { name: familyName, type: "untyped", help: undefined, samples: [] }
    families.set(familyName, family)
    const key = seriesKey(sample)
    if (series.has(key)) fail(line, `série repetida ${key}`)
    series.add(key)
    family.samples.push(sample)
  })
  for (const family of families.values()) checkFamily(family)
  return families
}

/** The value of the one sample named `name` whose labels include `labels`; throws when there is not exactly one. */
export const sampleValue = (
  families: Map<string, Family>,
  name: string,
  labels: Readonly<Record<string, string>> = {}
): number => {
  const found = [...families.values()]
    .flatMap((family) => family.samples)
    .filter((sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v))
  if (found.length !== 1) throw new Error(`${found.length} amostras ${name} ${JSON.stringify(labels)}`)
  return found[0]!.value
}

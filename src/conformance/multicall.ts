import * as path from "node:path"

/**
 * One executable for every program of the package, chosen by the name it is
 * run under (dist/servidor, dist/cliente, dist/conformidade,
 * dist/conformidade-cliente are hard links of dist/arquivos), or by its first
 * argument (`arquivos conformidade HOST:PORTA`). The Bun runtime inside a
 * compiled executable is most of its size: one copy instead of four.
 */

const PROGRAMS = {
  servidor: "server",
  cliente: "client",
  conformidade: "checker",
  "conformidade-cliente": "judge"
} as const
type Program = (typeof PROGRAMS)[keyof typeof PROGRAMS]

const programOf = (word: string | undefined): Program | undefined => {
  if (word === undefined) return undefined
  const name = path
    .basename(word)
    .replace(/\.exe$/i, "")
    .replace(/^arquivos-/, "")
  return Object.hasOwn(PROGRAMS, name) ? PROGRAMS[name as keyof typeof PROGRAMS] : undefined
}

const USAGE = `Uso: arquivos PROGRAMA [ARG...]

Programas: servidor, cliente, conformidade, conformidade-cliente (cada um
também pode ser chamado direto pelo próprio nome, como arquivos-servidor).`

const start = async (program: Program) => {
  switch (program) {
    case "server":
      await import("../programs/server/main.ts")
      return
    case "client":
      await import("../programs/client/main.ts")
      return
    case "checker":
      process.exit(await (await import("./checkServer.ts")).checkServer(process.argv.slice(2)))
      return
    case "judge":
      process.exit(await (await import("./client/judge.ts")).checkClient(process.argv.slice(2)))
  }
}

const main = async () => {
  const named = programOf(process.argv0) ?? programOf(process.execPath)
  if (named !== undefined) return start(named)
  const chosen = programOf(process.argv[2])
  if (chosen === undefined) {
    const asked = process.argv[2]
    const wantsHelp = asked === undefined || asked === "--ajuda" || asked === "-h"
    process.stderr.write(`${wantsHelp ? "" : `arquivos: programa desconhecido: ${asked}\n\n`}${USAGE}\n`)
    process.exit(wantsHelp ? 0 : 2)
  }
  // The chosen program reads its own arguments from argv[2] on.
  process.argv.splice(2, 1)
  return start(chosen!)
}

// No top-level await: the bytecode build compiles this entry as CommonJS.
void main()

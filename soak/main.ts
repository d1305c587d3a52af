import { runSoak, summaryLines } from "./soak.ts"

/**
 * `bun run soak [--minutos N] [--clientes N] [--semente N]`: the soak of
 * soak.ts for N minutes (default 10), printing a line every 10 s and a
 * summary; exit status 1 if a byte was wrong, a transfer still moving was
 * cut, a temporary was left, or the server's memory or descriptors grew.
 */

const USAGE = `Uso: bun run soak [--minutos N] [--clientes N] [--semente N]

Roda todas as operações misturadas, com vários clientes ao mesmo tempo, por
enlaces com falhas aleatórias (lentos, fatiados, cortados, buracos), contra o
servidor real, por N minutos (padrão 10). Confere cada byte por MD5 e mostra a
memória e os descritores do servidor a cada 10 s.`

const args = process.argv.slice(2)
const options = { minutes: 10, clients: 8, seed: 20_000 }
for (let i = 0; i < args.length; i++) {
  const flag = args[i]!
  if (flag === "--ajuda" || flag === "-h") {
    console.log(USAGE)
    process.exit(0)
  }
  const key = ({ "--minutos": "minutes", "--clientes": "clients", "--semente": "seed" } as const)[flag as "--minutos"]
  const value = Number(args[++i])
  if (key === undefined || !Number.isFinite(value) || value <= 0) {
    console.error(
      `soak: argumento inválido: ${flag}${args[i] === undefined ? "" : ` ${args[i]}`}\nUse --ajuda para ver as opções.`
    )
    process.exit(2)
  }
  options[key] = value
}

console.log(`Soak: ${options.minutes} min, ${options.clients} clientes, semente ${options.seed}`)
const report = await runSoak({
  seconds: options.minutes * 60,
  clients: Math.floor(options.clients),
  seed: options.seed,
  log: (line) => console.log(line)
})
for (const line of summaryLines(report)) console.log(line)
process.exit(report.ok ? 0 : 1)

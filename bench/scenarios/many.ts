import { readdir, rm } from "node:fs/promises"
import * as path from "node:path"
import { count, formatSize } from "../format.ts"
import { type Contender, measureRounds, type ScenarioResult } from "../results.ts"
import { timeCommand } from "../system.ts"
import {
  type Bench,
  CLIENT_AND_SERVER_CPU,
  commandSample,
  FILES,
  runOurClient,
  timeInProcess,
  withServerCpu
} from "./common.ts"

const isBatchFile = (name: string) => /^lote-\d+\.bin/.test(name)

/** Scenario 5: every file that matches a mask, in one command. */
export const many = async (bench: Bench): Promise<ScenarioResult> => {
  const { manyFiles: files, manyBytes: size } = bench.config
  const clear = async () => {
    const names = (await readdir(bench.clientDir)).filter(isBatchFile)
    await Promise.all(names.map((name) => rm(path.join(bench.clientDir, name), { force: true })))
  }
  const check = async () => {
    const names = (await readdir(bench.clientDir)).filter((name) => isBatchFile(name) && name.endsWith(".bin"))
    if (names.length !== files)
      throw new Error(`esperados ${files} arquivos na pasta do cliente, encontrados ${names.length}`)
  }
  const lftpScript = `set cmd:fail-exit yes; set ftp:ssl-allow no; set net:max-retries 1; mget ${FILES.manyMask}; quit`
  const contenders: Array<Contender> = [
    {
      id: "nosso-processo",
      label: "Nosso cliente (processo)",
      role: "nosso",
      how: `bun bin/cliente.ts … --silencioso baixar-varios '${FILES.manyMask}'`,
      work: files,
      extras: CLIENT_AND_SERVER_CPU,
      before: clear,
      run: () =>
        withServerCpu(bench.ours, async () =>
          commandSample(await runOurClient(bench, "baixar-varios", FILES.manyMask))
        ),
      check
    },
    {
      id: "nosso-em-processo",
      label: "Nosso cliente (em processo)",
      role: "nosso",
      how: "programa downloadMany() do cliente dentro do processo do benchmark",
      work: files,
      extras: CLIENT_AND_SERVER_CPU,
      before: clear,
      run: () => withServerCpu(bench.ours, () => timeInProcess(() => bench.inProcess.downloadMany(FILES.manyMask))),
      check
    },
    {
      id: "lftp",
      label: "pyftpdlib (lftp mget)",
      role: "par",
      how: `lftp -e "mget ${FILES.manyMask}; quit" ftp://127.0.0.1:PORTA`,
      work: files,
      extras: CLIENT_AND_SERVER_CPU,
      before: clear,
      run: () =>
        withServerCpu(bench.ftp, async () =>
          commandSample(
            await timeCommand(["lftp", "-e", lftpScript, `ftp://127.0.0.1:${bench.ftp.port}`], { cwd: bench.clientDir })
          )
        ),
      check
    }
  ]
  const result = await measureRounds(
    {
      id: "baixar-varios",
      title: `baixar-varios de ${count(files)} arquivos de ${formatSize(size)}`,
      description:
        `Um comando baixa os ${count(files)} arquivos que casam com a máscara \`${FILES.manyMask}\` (${formatSize(size)} cada). ` +
        "O nosso cliente usa uma conexão só (op 50, com manifesto); o lftp usa a conexão de controle e uma conexão de dados por arquivo.",
      rateUnit: "arquivos/s",
      divisor: 1,
      notes: [
        "Os arquivos baixados são conferidos (quantidade) e apagados antes de cada repetição, fora do tempo medido."
      ]
    },
    bench.config.reps,
    contenders
  )
  await clear()
  return result
}

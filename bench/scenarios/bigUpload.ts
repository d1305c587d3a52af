import { rm } from "node:fs/promises"
import * as path from "node:path"
import { MiB } from "../config.ts"
import { formatSize } from "../format.ts"
import { type Contender, measureRounds, type ScenarioResult } from "../results.ts"
import { timeCommand } from "../system.ts"
import {
  type Bench,
  CLIENT_AND_SERVER_CPU,
  commandSample,
  expectSize,
  FILES,
  runOurClient,
  timeInProcess,
  withServerCpu
} from "./common.ts"

/**
 * Scenario 2: one big file from the client folder to the server. The source
 * (`envio.bin` in the client folder) is prepared by run.ts; each upload is
 * checked and removed afterwards.
 */
export const bigUpload = async (bench: Bench): Promise<ScenarioResult> => {
  const size = bench.config.bigBytes
  const source = path.join(bench.clientDir, FILES.upload)
  const ours = path.join(bench.serverDir, FILES.upload)
  const viaFtp = path.join(bench.serverDir, FILES.uploadFtp)
  const contenders: Array<Contender> = [
    {
      id: "nosso-processo",
      label: "Nosso cliente (processo)",
      role: "nosso",
      how: `bun bin/cliente.ts … --silencioso enviar ${FILES.upload}`,
      work: size,
      extras: CLIENT_AND_SERVER_CPU,
      run: () =>
        withServerCpu(bench.ours, async () => commandSample(await runOurClient(bench, "enviar", FILES.upload))),
      check: () => expectSize(ours, size),
      after: () => rm(ours, { force: true })
    },
    {
      id: "nosso-em-processo",
      label: "Nosso cliente (em processo)",
      role: "nosso",
      how: "programa upload() do cliente dentro do processo do benchmark",
      work: size,
      extras: CLIENT_AND_SERVER_CPU,
      run: () => withServerCpu(bench.ours, () => timeInProcess(() => bench.inProcess.upload(FILES.upload))),
      check: () => expectSize(ours, size),
      after: () => rm(ours, { force: true })
    },
    {
      id: "pyftpdlib",
      label: "pyftpdlib (curl -T)",
      role: "par",
      how: `curl -T ${FILES.upload} ftp://127.0.0.1:PORTA/${FILES.uploadFtp}`,
      work: size,
      extras: CLIENT_AND_SERVER_CPU,
      run: () =>
        withServerCpu(bench.ftp, async () =>
          commandSample(
            await timeCommand(["curl", "-fsS", "-T", source, `ftp://127.0.0.1:${bench.ftp.port}/${FILES.uploadFtp}`])
          )
        ),
      check: () => expectSize(viaFtp, size),
      after: () => rm(viaFtp, { force: true })
    }
  ]
  return measureRounds(
    {
      id: "upload-grande",
      title: `Upload de um arquivo de ${formatSize(size)}`,
      description:
        `Um arquivo de ${formatSize(size)} da pasta do cliente (tmpfs) enviado ao servidor, que grava na sua pasta (tmpfs). ` +
        "O nosso servidor grava num temporário e renomeia no fim; o pyftpdlib grava direto no nome final.",
      rateUnit: "MiB/s",
      divisor: MiB,
      notes: ["O arquivo enviado é conferido (tamanho) e apagado depois de cada repetição, fora do tempo medido."]
    },
    bench.config.reps,
    contenders
  )
}

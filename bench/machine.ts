import { readFileSync } from "node:fs"
import * as os from "node:os"
import { peerVersions } from "./peers.ts"

/** The machine the numbers come from, for the report. */
export interface Machine {
  readonly cpu: string
  readonly logicalCores: number
  readonly memoryBytes: number
  readonly system: string
  readonly kernel: string
  readonly versions: Record<string, string>
}

const readOr = (file: string, fallback = "") => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return fallback
  }
}

export const describeMachine = async (): Promise<Machine> => {
  const cpuinfo = readOr("/proc/cpuinfo")
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "?"
  const system = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readOr("/etc/os-release"))?.[1] ?? os.type()
  return {
    cpu,
    logicalCores: os.cpus().length,
    memoryBytes: os.totalmem(),
    system,
    kernel: `${os.type()} ${os.release()} ${os.machine()}`,
    versions: await peerVersions()
  }
}

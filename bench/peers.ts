import { mkdir } from "node:fs/promises"
import * as path from "node:path"
import { capture, commandWorks, type Daemon, freePort, startDaemon, waitListening } from "./system.ts"

/**
 * The servers measured: this project's server, and the peers it is compared
 * with (nginx, pyftpdlib, Python's http.server, iperf3), installed from Debian
 * packages when missing and run on 127.0.0.1 ports with configuration files
 * generated into the benchmark's temporary folder.
 */

/** Debian's Python, where python3-pyftpdlib lives (a python3 earlier on PATH, pyenv say, lacks it). */
export const PYTHON = "/usr/bin/python3"
export const NGINX = "/usr/sbin/nginx"

const PACKAGES = ["nginx", "python3-pyftpdlib", "curl", "lftp", "iperf3"]

const CHECKS: ReadonlyArray<ReadonlyArray<string>> = [
  [NGINX, "-v"],
  [PYTHON, "-c", "import pyftpdlib"],
  ["curl", "--version"],
  ["lftp", "--version"],
  ["iperf3", "--version"]
]

/** Installs the peers from Debian packages (one `apt-get update`, one install) if any is missing. */
export const ensurePackages = async (): Promise<void> => {
  const results = await Promise.all(CHECKS.map(commandWorks))
  if (results.every(Boolean)) return
  if (process.getuid?.() !== 0) {
    throw new Error(`faltam programas para comparar; instale como root: apt-get install -y ${PACKAGES.join(" ")}`)
  }
  console.log(`Instalando os pares de comparação: ${PACKAGES.join(", ")} (apt-get)...`)
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  for (const cmd of [
    ["apt-get", "update"],
    ["apt-get", "install", "-y", ...PACKAGES]
  ]) {
    const child = Bun.spawn(cmd, { env, stdin: "ignore", stdout: "inherit", stderr: "inherit" })
    if ((await child.exited) !== 0) throw new Error(`${cmd.join(" ")} falhou`)
  }
  const after = await Promise.all(CHECKS.map(commandWorks))
  const missing = CHECKS.filter((_, i) => !after[i]).map((cmd) => cmd[0])
  if (missing.length > 0) throw new Error(`ainda faltam depois do apt-get: ${missing.join(", ")}`)
}

export interface Server {
  readonly name: string
  readonly port: number
  readonly daemon: Daemon
}

const launch = async (
  name: string,
  cmd: ReadonlyArray<string>,
  port: number,
  tmp: string,
  cwd?: string
): Promise<Server> => {
  const log = path.join(tmp, `${name}.log`)
  const daemon = startDaemon(name, cmd, cwd === undefined ? { log } : { log, cwd })
  await waitListening(daemon, port, log)
  return { name, port, daemon }
}

/** This project's server, a separate `bun` process over `folder` (`extra`: more options, under its own `name`). */
export const startOurServer = async (
  repo: string,
  folder: string,
  tmp: string,
  extra: { readonly name: string; readonly args: ReadonlyArray<string> } = { name: "servidor", args: [] }
): Promise<Server> => {
  const port = await freePort()
  const cmd = [process.execPath, "bin/servidor.ts", String(port), "--pasta", folder, "--timeout", "60", ...extra.args]
  return launch(extra.name, cmd, port, tmp, repo)
}

/** The Bun limit for small operations: bench/limits/rawServer.ts over `folder`. */
export const startRawBunServer = async (repo: string, folder: string, tmp: string): Promise<Server> => {
  const port = await freePort()
  return launch("bun-cru", [process.execPath, "bench/limits/rawServer.ts", String(port), folder], port, tmp, repo)
}

/**
 * The floor of the design for small operations (bench/limits/designFloor.ts):
 * the Bun limit plus a fiber per connection, the delivery wait and a log line.
 */
export const startDesignFloor = async (repo: string, folder: string, tmp: string): Promise<Server> => {
  const port = await freePort()
  return launch(
    "piso-desenho",
    [process.execPath, "bench/limits/designFloor.ts", String(port), folder],
    port,
    tmp,
    repo
  )
}

/**
 * nginx in the foreground with a generated configuration: one worker (like
 * the other servers, a single process serving everything), sendfile on, no
 * access log, pid and temporary folders inside `tmp`.
 */
export const startNginx = async (folder: string, tmp: string): Promise<Server> => {
  const port = await freePort()
  const prefix = path.join(tmp, "nginx")
  const config = path.join(tmp, "nginx.conf")
  await mkdir(prefix, { recursive: true })
  await Bun.write(
    config,
    `daemon off;
worker_processes 1;
worker_rlimit_nofile 16384;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${folder};
  }
}
`
  )
  return launch("nginx", [NGINX, "-p", prefix, "-e", path.join(prefix, "error.log"), "-c", config], port, tmp)
}

/** pyftpdlib: anonymous login with write permission, sendfile on, only warnings logged. */
export const startFtp = async (folder: string, tmp: string): Promise<Server> => {
  const port = await freePort()
  const script = path.join(tmp, "ftp_server.py")
  await Bun.write(
    script,
    `import logging, sys, warnings
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.log import config_logging
from pyftpdlib.servers import FTPServer

port, root = int(sys.argv[1]), sys.argv[2]
config_logging(level=logging.WARNING)
warnings.simplefilter("ignore")  # "write permissions assigned to anonymous user" is intended here
authorizer = DummyAuthorizer()
authorizer.add_anonymous(root, perm="elradfmwMT")
FTPHandler.authorizer = authorizer
FTPHandler.use_sendfile = True
server = FTPServer(("127.0.0.1", port), FTPHandler)
server.max_cons = 4096
server.serve_forever()
`
  )
  return launch("pyftpdlib", [PYTHON, script, String(port), folder], port, tmp)
}

/** `python3 -m http.server` over the folder. */
export const startHttpServer = async (folder: string, tmp: string): Promise<Server> => {
  const port = await freePort()
  return launch(
    "http.server",
    [PYTHON, "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", folder],
    port,
    tmp
  )
}

/** An iperf3 server for exactly one test (`-s -1`). */
export const startIperfServer = async (tmp: string): Promise<Server> => {
  const port = await freePort()
  return launch("iperf3", ["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", String(port)], port, tmp)
}

/** Versions of everything measured, for the report. */
export const peerVersions = async (): Promise<Record<string, string>> => {
  const first = async (cmd: ReadonlyArray<string>, pattern: RegExp) => {
    try {
      const { stdout, stderr } = await capture(cmd)
      return pattern.exec(`${stdout}\n${stderr}`)?.[1] ?? "?"
    } catch {
      return "?"
    }
  }
  const [nginx, pyftpdlib, python, curl, lftp, iperf3] = await Promise.all([
    first([NGINX, "-v"], /nginx\/(\S+)/),
    first([PYTHON, "-c", "import pyftpdlib; print(pyftpdlib.__ver__)"], /(\S+)/),
    first([PYTHON, "--version"], /Python (\S+)/),
    first(["curl", "--version"], /curl (\S+)/),
    first(["lftp", "--version"], /Version (\S+)/),
    first(["iperf3", "--version"], /iperf (\S+)/)
  ])
  return { Bun: Bun.version, nginx, pyftpdlib, Python: python, curl, lftp, iperf3 }
}

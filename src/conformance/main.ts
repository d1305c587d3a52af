import { checkServer } from "./checkServer.ts"

/** Entry point of `bun run conformidade`. */
process.exit(await checkServer(process.argv.slice(2)))

import { checkClient } from "./judge.ts"

/** Entry point of `bun run conformidade-cliente`. */
process.exit(await checkClient(process.argv.slice(2)))

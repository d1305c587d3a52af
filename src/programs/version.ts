import { version } from "../../package.json" with { type: "json" }

/** The package's version, answered by `--version` on both programs (bundled in at build time). */
export const VERSION: string = version

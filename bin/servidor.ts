import { launch } from "./launch.ts"

await launch("servidor", "src/programs/server/main.ts")

import { launch } from "./launch.ts"

await launch("cliente", "src/programs/client/main.ts")

import { runMain } from "../runMain.ts"
import { clientMain } from "./program.ts"

runMain(clientMain)

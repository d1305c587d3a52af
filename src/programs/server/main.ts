import { runMain } from "../runMain.ts"
import { serverMain } from "./program.ts"

runMain(serverMain)

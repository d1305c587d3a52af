import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"

const plain = Logger.make(({ message }) => {
  console.log(Array.isArray(message) ? message.map(String).join(" ") : String(message))
})

/** Plain lines on stdout: the message only, as the operator reads it (no other logger). */
export const PlainLogger = Layer.mergeAll(
  Logger.remove(Logger.defaultLogger),
  Logger.remove(Logger.prettyLoggerDefault),
  Logger.add(plain)
)

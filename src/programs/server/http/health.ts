import { type HttpRoute, textResponse } from "./listener.ts"

/** Whether the server accepts connections: true from start-up until its shutdown begins. */
export interface Health {
  accepting: boolean
}

/**
 * GET /saude, for balancers: 200 while the server accepts connections, 503
 * from the moment its shutdown begins (the HTTP listener stays up through
 * the drain, so a balancer sees the 503 and sends no one new).
 */
export const healthRoute =
  (health: Health): HttpRoute =>
  () =>
    health.accepting
      ? textResponse(200, "aceitando conexões", { "cache-control": "no-store" })
      : textResponse(503, "encerrando: novas conexões são recusadas", { "cache-control": "no-store" })

import type { Socket, SocketHandler } from "bun"
import type { SocketState } from "./socketState.ts"
import type { Peer } from "./Transport.ts"

/**
 * What the live transport does with a Bun socket itself: the callbacks that
 * feed its state, how it is closed, and who is on the other end.
 */

/** The socket's callbacks: each only records its event in the connection's state. */
export const handlers: SocketHandler<SocketState> = {
  data: (socket, bytes) => socket.data.received(bytes),
  drain: (socket) => socket.data.drained(),
  end: (socket) => socket.data.peerEnded(),
  close: (socket, error) => socket.data.wasClosed(error),
  error: (socket, error) => socket.data.failed(error)
}

/**
 * How long a socket may stay half-open after `end()`: the peer gets that long
 * to read what is still in flight and close its side; then it is cut.
 */
const LINGER_MILLIS = 30_000

/**
 * Ends the socket gracefully: the peer receives everything written, then FIN.
 * What the peer still sends is dropped (a refused upload keeps coming for a
 * moment), and a peer that never closes its side is cut after the linger time.
 */
export const closeSocket = (socket: {
  readonly data: SocketState
  readonly readyState: number
  end(): unknown
  terminate(): unknown
}) => {
  const state = socket.data
  state.discard()
  if (state.closed || socket.readyState <= 0) return
  socket.end()
  // Bun may close the socket inside end(), its close callback already run: a
  // timer armed now would never be cleared and would hold the socket, its
  // state and whatever they reach for the whole linger time.
  if (state.closed) return
  // Cleared when the socket closes, so a closed connection is not kept alive by its timer.
  state.linger = setTimeout(() => {
    if (!state.closed) socket.terminate()
  }, LINGER_MILLIS).unref()
}

/** The peer of a socket; IPv4-mapped IPv6 addresses ("::ffff:10.0.0.1") shown as IPv4. */
export const peerOfSocket = (socket: Socket<SocketState>): Peer => {
  const seen = socket.remoteAddress
  const address = seen.startsWith("::ffff:") && seen.includes(".") ? seen.slice(7) : seen
  return {
    remote: address.includes(":") ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`,
    address,
    openedAt: socket.data.openedAt
  }
}

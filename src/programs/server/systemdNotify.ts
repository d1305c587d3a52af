/**
 * sd_notify(3) without a native module: one datagram to the unix socket
 * named in $NOTIFY_SOCKET ("READY=1", "RELOADING=1", "STOPPING=1"), sent
 * through libc's socket(2) and sendto(2) with bun:ffi (Bun's own sockets
 * do not send unix datagrams). Loaded only when systemd set $NOTIFY_SOCKET
 * (Type=notify); anywhere else, and where libc cannot be opened, it does
 * nothing and says so through its result.
 */

const AF_UNIX = 1
const SOCK_DGRAM = 2
const SOCK_CLOEXEC = 0x80000
/** sizeof(struct sockaddr_un) on Linux: the family, then 108 bytes of path. */
const SOCKADDR_UN_BYTES = 110

export type Notifier = (state: string) => boolean

/** The notifier for `socketPath` ($NOTIFY_SOCKET), or undefined when libc cannot be reached. */
const notifierFor = (socketPath: string): Notifier | undefined => {
  try {
    const { dlopen, FFIType, ptr } = require("bun:ffi") as typeof import("bun:ffi")
    const libc = dlopen("libc.so.6", {
      socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      sendto: {
        args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
        returns: FFIType.i64
      },
      close: { args: [FFIType.i32], returns: FFIType.i32 }
    })
    // An abstract socket ("@name") starts with a NUL byte.
    const pathBytes = new TextEncoder().encode(socketPath.startsWith("@") ? `\0${socketPath.slice(1)}` : socketPath)
    if (pathBytes.length > SOCKADDR_UN_BYTES - 2) return undefined
    const address = new Uint8Array(SOCKADDR_UN_BYTES)
    new DataView(address.buffer).setUint16(0, AF_UNIX, true)
    address.set(pathBytes, 2)
    return (state) => {
      const fd = libc.symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)
      if (fd < 0) return false
      const message = new TextEncoder().encode(state)
      const sent = libc.symbols.sendto(fd, ptr(message), message.length, 0, ptr(address), 2 + pathBytes.length)
      libc.symbols.close(fd)
      return Number(sent) === message.length
    }
  } catch {
    return undefined
  }
}

let cached: Notifier | undefined | null = null

/** Tells systemd `state` (lines "KEY=value"); false when not under Type=notify or it could not be sent. */
export const notifySystemd: Notifier = (state) => {
  const socketPath = process.env.NOTIFY_SOCKET
  if (socketPath === undefined || socketPath === "") return false
  if (cached === null) cached = notifierFor(socketPath)
  return cached?.(state) ?? false
}

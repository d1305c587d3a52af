#!/usr/bin/env python3
"""A fault-injection TCP proxy for the tests, on loopback only.

It sits between a real client and a real server and, per direction
("up": client to server, "down": server to client), can limit bandwidth,
add a delay per chunk, slice chunks into 1-7 byte segments, cut the
connection after N bytes (with FIN or with RST) or stop forwarding after N
bytes while keeping both sockets open (a blackhole).

Backpressure is honest: each direction reads only as fast as it forwards,
through small socket buffers, so the sender really sees a slow peer instead
of megabytes vanishing into the proxy's kernel buffers. With --buffers BYTES
the buffers are that large instead: the path of a long fat link, a bloated
Wi-Fi or 4G queue or a relay, whose sockets take megabytes ahead of the link.

Python, not Bun: Bun's sockets cannot set SO_RCVBUF/SO_SNDBUF, and without
small buffers a "slow" proxy would absorb several MiB before the sender
noticed anything.

Protocol with the test (test/support/proxy.ts), one JSON object per line:
- argv: --target-port P [--target-host H] [--buffers BYTES]; it listens on
  127.0.0.1:0.
- stdout: {"event": "listening", "port": N} once, then
  {"event": "closed", "id": K, "up": BYTES, "down": BYTES} as connections end.
- stdin: {"faults": {...}} sets the faults for connections accepted from
  then on; {"stats": true} prints {"event": "stats", ...} with the totals and
  the connections still open. The proxy exits when stdin closes.

Faults: {"up": DIRECTION, "down": DIRECTION}, each optional; any number
may also be given as [LOW, HIGH], drawn anew for each connection (and
cut_with as "random"), for the soak's mixed faults. A DIRECTION has
  rate: bytes per second (0 or absent: unlimited)
  delay_ms: pause before forwarding each chunk
  slice: true to send every chunk as segments of 1-7 bytes
  cut_after: forward this many bytes, then close both sides
  cut_with: "fin" (default) or "rst"
  blackhole_after: forward this many bytes, then stop (sockets stay open)
"""

import json
import random
import socket
import struct
import sys
import threading
import time

BUFFER = 16 * 1024
CHUNK = 4096

lock = threading.Lock()
faults = {}
totals = {"up": 0, "down": 0, "connections": 0}
live = {}
stop = threading.Event()


def say(message):
    with lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def draw(plan):
    """One connection's faults: each [low, high] range drawn once."""
    drawn = {}
    for name, direction in (plan or {}).items():
        drawn[name] = {}
        for key, value in (direction or {}).items():
            if isinstance(value, list):
                value = random.randint(int(value[0]), int(value[1]))
            elif key == "cut_with" and value == "random":
                value = random.choice(["fin", "rst"])
            drawn[name][key] = value
    return drawn


def small_buffers(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)


def reset(sock):
    """Closes with RST: SO_LINGER on with a zero timeout. The kernel only
    closes once no thread is blocked on the socket, so the pump reading it is
    woken first (SHUT_RD sends nothing)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def finish(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Link:
    """One proxied connection: two sockets and a pump per direction."""

    def __init__(self, ident, client, server, plan):
        self.id = ident
        self.client = client
        self.server = server
        self.plan = plan
        self.count = {"up": 0, "down": 0}
        self.closed = False
        self.pumps_left = 2
        self.state = threading.Lock()

    def start(self):
        for name, src, dst in (("up", self.client, self.server), ("down", self.server, self.client)):
            threading.Thread(target=self.pump, args=(name, src, dst), daemon=True).start()

    def close(self, how):
        with self.state:
            if self.closed:
                return
            self.closed = True
        for sock in (self.client, self.server):
            reset(sock) if how == "rst" else finish(sock)

    def pump_done(self):
        with self.state:
            self.pumps_left -= 1
            last = self.pumps_left == 0
        if last:
            self.close("fin")
            with lock:
                live.pop(self.id, None)
            say({"event": "closed", "id": self.id, "up": self.count["up"], "down": self.count["down"]})

    def pump(self, name, src, dst):
        plan = self.plan.get(name) or {}
        rate = plan.get("rate") or 0
        delay = (plan.get("delay_ms") or 0) / 1000
        cut_after = plan.get("cut_after")
        blackhole_after = plan.get("blackhole_after")
        limit = min(x for x in (cut_after, blackhole_after, float("inf")) if x is not None)
        started = time.monotonic()
        try:
            while not self.closed:
                if self.count[name] >= limit:
                    if cut_after is not None and self.count[name] >= cut_after:
                        self.close(plan.get("cut_with", "fin"))
                        return
                    # Blackhole: read and forward nothing more, keep both sockets open
                    # until the other direction ends (its sender closed) or the proxy stops.
                    while not self.closed and not stop.is_set() and self.pumps_left == 2:
                        time.sleep(0.05)
                    return
                want = int(min(CHUNK, limit - self.count[name]))
                try:
                    data = src.recv(want)
                except OSError:
                    # The sender reset: pass the reset on.
                    self.close("rst")
                    return
                if self.closed:
                    return
                if not data:
                    # The sender finished: pass the FIN on, keep the other direction going.
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                if delay:
                    time.sleep(delay)
                pieces = [data]
                if plan.get("slice"):
                    pieces, at = [], 0
                    while at < len(data):
                        size = random.randint(1, 7)
                        pieces.append(data[at : at + size])
                        at += size
                for piece in pieces:
                    dst.sendall(piece)
                    self.count[name] += len(piece)
                    with lock:
                        totals[name] += len(piece)
                    if rate:
                        ahead = self.count[name] / rate - (time.monotonic() - started)
                        if ahead > 0:
                            time.sleep(ahead)
        except OSError:
            self.close("rst")
        finally:
            self.pump_done()


def accept_loop(listener, host, port):
    ident = 0
    while not stop.is_set():
        try:
            client, _ = listener.accept()
        except OSError:
            return
        ident += 1
        with lock:
            plan = draw(faults)
            totals["connections"] += 1
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        small_buffers(server)
        server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            server.connect((host, port))
        except OSError:
            reset(client)
            say({"event": "closed", "id": ident, "up": 0, "down": 0, "refused": True})
            continue
        link = Link(ident, client, server, plan)
        with lock:
            live[ident] = link
        link.start()


def main():
    global BUFFER
    args = sys.argv[1:]
    host = "127.0.0.1"
    port = None
    while args:
        flag = args.pop(0)
        if flag == "--target-port":
            port = int(args.pop(0))
        elif flag == "--target-host":
            host = args.pop(0)
        elif flag == "--buffers":
            BUFFER = int(args.pop(0))
    if port is None:
        sys.exit("faultproxy: --target-port is required")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit the small buffers.
    small_buffers(listener)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    threading.Thread(target=accept_loop, args=(listener, host, port), daemon=True).start()
    say({"event": "listening", "port": listener.getsockname()[1]})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        command = json.loads(line)
        if "faults" in command:
            with lock:
                faults.clear()
                faults.update(command["faults"])
            say({"event": "faults", "faults": command["faults"]})
        if command.get("stats"):
            with lock:
                open_links = {k: dict(v.count) for k, v in live.items()}
                snapshot = dict(totals)
            say({"event": "stats", "totals": snapshot, "open": open_links})
    stop.set()
    listener.close()


if __name__ == "__main__":
    main()

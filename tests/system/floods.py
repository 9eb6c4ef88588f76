"""floods.py - floods and held-open connections against one turnpiked
(floods.sh starts it with short deadlines), legitimate clients served all
along:

  spoof      unauthenticated Allocates and Bindings from thousands of
             127/8 source addresses: no allocation made, RSS flat;
  hold       TCP and TLS connections that send nothing, half a STUN
             header, a header and half its body, half a ClientHello, and
             HTTP clients trickling a request (slowloris), each from its
             own source: all closed by the server at their deadlines,
             descriptors back to where they were.

Prints "ok - " / "FAIL - " lines and "# " figures."""
import argparse
import os
import select
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from turnlib import MAGIC, attr, metric, ok, rss_fds  # noqa: E402

BINDING, ALLOCATE = 0x0001, 0x0003


class Legit(threading.Thread):
    """A legitimate client in a loop until stopped: an Allocate and echoed
    datagrams with turnpikectl turn, over UDP then TCP, and a TLS Binding;
    counts what worked and what did not."""

    def __init__(self, args):
        super().__init__(daemon=True)
        self.args, self.stop, self.ok, self.bad, self.why = args, threading.Event(), 0, 0, []

    def run(self):
        a = self.args
        while not self.stop.is_set():
            for extra in ([], ["--tcp"]):
                r = subprocess.run([a.ctl, "turn", f"127.0.0.1:{a.port}", "--user", "alice",
                                    "--password", "secret", "--peer", f"127.0.0.1:{a.echo}",
                                    "--count", "2", "--timeout", "3000"] + extra,
                                   capture_output=True, text=True, timeout=30)
                self.count(r.returncode == 0, f"turn {extra}: {r.stdout}{r.stderr}")
            self.count(tls_binding(a.tls_port), "TLS Binding")
            self.stop.wait(0.2)

    def count(self, good, why):
        if good:
            self.ok += 1
        else:
            self.bad += 1
            self.why.append(why.strip()[:200])


def tls_binding(port):
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw) as s:
                s.sendall(struct.pack("!HHI", BINDING, 0, MAGIC) + os.urandom(12))
                return len(s.recv(4096)) >= 20
    except OSError:
        return False


def echo_peer():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))

    def run():
        while True:
            d, src = s.recvfrom(65536)
            s.sendto(d, src)
    threading.Thread(target=run, daemon=True).start()
    return s.getsockname()[1]


def spoof(args, rnd):
    """Unauthenticated Allocates and Bindings from many sources (round rnd:
    the first warms the server's paths and allocator up, the second is
    measured, from new sources)."""
    allocate = struct.pack("!HHI", ALLOCATE, 8, MAGIC)
    binding = struct.pack("!HHI", BINDING, 0, MAGIC)
    transport = attr(0x0019, b"\x11\0\0\0")
    rss0, _ = rss_fds(args.pid)
    sent = answered = 0
    t0 = time.monotonic()
    batch = 250
    for first in range(0, args.sources, batch):
        socks = []
        for i in range(first, min(first + batch, args.sources)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            j = i + rnd * args.sources
            s.bind((f"127.{10 + (j >> 16) & 0xff}.{(j >> 8) & 0xff}.{1 + (j & 0xff) % 254}", 0))
            s.setblocking(False)
            socks.append(s)
        for _ in range(args.per_source):
            for s in socks:
                for m in (allocate + os.urandom(12) + transport, binding + os.urandom(12)):
                    try:
                        s.sendto(m, ("127.0.0.1", args.port))
                        sent += 1
                    except BlockingIOError:
                        pass
        # Answers: whatever came back within 100 ms of the batch.
        deadline = time.monotonic() + 0.1
        while time.monotonic() < deadline:
            r, _, _ = select.select(socks, [], [], max(0, deadline - time.monotonic()))
            for s in r:
                try:
                    while s.recv(4096):
                        answered += 1
                except BlockingIOError:
                    pass
        for s in socks:
            s.close()
    took = time.monotonic() - t0
    time.sleep(1)
    rss1, _ = rss_fds(args.pid)
    print(f"# spoof round {rnd + 1}: {sent} requests (Allocate and Binding) from {args.sources} sources in "
          f"{took:.1f} s ({sent / took:.0f}/s), {answered} answers seen; RSS {rss0} KiB before, "
          f"{rss1} KiB after (+{rss1 - rss0} KiB)", flush=True)
    if rnd == 0:
        return
    ok(sent >= args.sources * args.per_source * 2 * 0.9, f"the flood went out ({sent} requests)")
    ok(rss1 - rss0 <= args.rss_slack_kb,
       f"RSS flat under a second spoofed flood from new sources (+{rss1 - rss0} KiB, bound {args.rss_slack_kb} KiB)")
    active = metric(args.http, "turnpike_allocations_active")
    ok(active == 0, f"no state for unauthenticated sources: no allocation ({active:.0f})")


def client_hello_half():
    """The first half of a real TLS ClientHello."""
    a, b = socket.socketpair()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    a.close()
    b.close()
    return hello[:len(hello) // 2]


def hold(args):
    """Connections that never complete anything, each from its own source,
    and how long the server takes to close them."""
    half_hdr = struct.pack("!HHI", BINDING, 40, MAGIC)[:6]
    half_body = struct.pack("!HHI", BINDING, 40, MAGIC) + os.urandom(12) + b"\0" * 8
    kinds = [  # name, port, first bytes, deadline (s), trickle
        ("tcp-silent", args.port, b"", args.hs_timeout, False),
        ("tcp-half-header", args.port, half_hdr, args.idle_timeout, False),
        ("tcp-half-body", args.port, half_body, args.idle_timeout, False),
        ("tls-silent", args.tls_port, b"", args.hs_timeout, False),
        ("tls-half-hello", args.tls_port, client_hello_half(), args.hs_timeout, False),
        ("http-slowloris", args.http_port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n",
         args.http_timeout, True),
    ]
    _, fd0 = rss_fds(args.pid)
    conns = []  # (socket, kind index, opened at)
    n = 0
    for k, (name, port, first, _, _) in enumerate(kinds):
        for _ in range(args.per_kind):
            n += 1
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((f"127.20.{n >> 8}.{1 + (n & 0xff) % 254}", 0))
            s.connect(("127.0.0.1", port))
            if first:
                s.sendall(first)
            s.setblocking(False)
            conns.append((s, k, time.monotonic()))
    time.sleep(0.5)
    _, fd_held = rss_fds(args.pid)
    closed = {}  # socket -> seconds until the server closed it
    longest = max(k[3] for k in kinds) + 3
    t_end = time.monotonic() + longest
    last_trickle = time.monotonic()
    while len(closed) < len(conns) and time.monotonic() < t_end:
        live = [c[0] for c in conns if c[0] not in closed]
        r, _, _ = select.select(live, [], [], 0.1)
        now = time.monotonic()
        for s in r:
            try:
                if s.recv(4096):
                    continue  # an answer (a 408, say) before the close
            except BlockingIOError:
                continue
            except OSError:
                pass
            closed[s] = now
        if now - last_trickle >= 0.5:  # slowloris: one header byte at a time
            last_trickle = now
            for s, k, _ in conns:
                if kinds[k][4] and s not in closed:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass
    for k, (name, _, _, deadline, _) in enumerate(kinds):
        mine = [(s, t0) for s, kk, t0 in conns if kk == k]
        times = [closed[s] - t0 for s, t0 in mine if s in closed]
        span = f"{min(times):.1f}..{max(times):.1f} s" if times else "none"
        ok(len(times) == len(mine) and all(deadline - 0.5 <= t <= deadline + 2 for t in times),
           f"{name}: {len(times)} of {len(mine)} closed by the server at its {deadline} s "
           f"deadline ({span})")
    for s, _, _ in conns:
        s.close()
    fd_end = fd0 + 1
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _, fd_end = rss_fds(args.pid)
        if fd_end <= fd0:
            break
        time.sleep(0.1)
    print(f"# hold: {len(conns)} connections held open; server descriptors {fd0} before, "
          f"{fd_held} while held, {fd_end} after", flush=True)
    ok(fd_held >= fd0 + len(conns) * 0.9, f"the server held them ({fd_held - fd0} descriptors)")
    # fd0 may count a legitimate client's connection of the moment.
    ok(fd_end <= fd0, f"descriptors back to where they were ({fd_end}, before {fd0})")


def main():
    ap = argparse.ArgumentParser()
    for name in ("--pid", "--port", "--tls-port", "--http-port", "--hs-timeout",
                 "--idle-timeout", "--http-timeout"):
        ap.add_argument(name, type=int, required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--sources", type=int, default=5000)
    ap.add_argument("--per-source", type=int, default=4)
    ap.add_argument("--per-kind", type=int, default=40)
    ap.add_argument("--rss-slack-kb", type=int, default=512)
    args = ap.parse_args()
    args.http = f"127.0.0.1:{args.http_port}"
    args.echo = echo_peer()

    legit = Legit(args)
    legit.start()
    spoof(args, 0)
    spoof(args, 1)
    hold(args)
    legit.stop.set()
    legit.join(60)
    ok(legit.ok > 0 and legit.bad == 0,
       f"legitimate clients served all along (UDP and TCP relays, TLS Bindings: {legit.ok} "
       f"worked, {legit.bad} failed{': ' + legit.why[0] if legit.why else ''})")


if __name__ == "__main__":
    main()
    sys.exit(ok.finish())

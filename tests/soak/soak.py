"""soak.py - the soak driver (tests/soak/README): TURN sessions churning at
a steady rate over UDP, TCP and TLS against a running turnpiked, each one an
Allocate, a permission or a channel, echoed traffic through an echo peer of
our own, a Refresh, and an end (deleted, left to expire, or its connection
closed). Samples the server's RSS and descriptors; fails when a relayed
packet is lost, when either grows beyond its bound after warm-up, or when
allocations or descriptors are still held once the churn has stopped.

Prints "ok - " / "FAIL - " lines and a "soak: " summary line."""
import argparse
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
from turnlib import (A_DATA, A_ERROR, A_LIFETIME, A_MI, A_NONCE, A_PEER, A_REALM,  # noqa: E402
                     A_RELAYED, A_TRANSPORT, A_USERNAME, ALLOCATE, DATA, ERROR, INDICATION,
                     MAGIC, PERMISSION, REFRESH, SEND, SUCCESS, attr, error_code, metric, ok,
                     parse, rss_fds, unxor_addr, xor_addr)

CHANNEL_BIND = 0x009
A_CHANNEL = 0x0C
ECHO_TIMEOUT = 3.0  # a loopback echo that takes longer is lost
EXPIRE_LIFETIME = 2  # seconds: a session ending by expiry refreshes to this


class Conn:
    """STUN and ChannelData to the server over UDP, TCP or TLS."""

    def __init__(self, kind, port, tls_port):
        self.kind = kind
        if kind == "udp":
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.connect(("127.0.0.1", port))
        else:
            raw = socket.create_connection(("127.0.0.1", tls_port if kind == "tls" else port),
                                           timeout=5)
            if kind == "tls":
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                raw = ctx.wrap_socket(raw)
            self.s = raw
        self.s.settimeout(ECHO_TIMEOUT)
        self.buf = b""

    def send(self, data):
        if self.kind == "udp":
            self.s.send(data)
        else:
            # RFC 8656 §12.5: ChannelData over a stream is padded to 4 bytes.
            self.s.sendall(data + b"\0" * (-len(data) % 4))

    def recv(self):
        """One message: ("stun", (type, txn, attrs)) or ("chan", (number,
        data)). Raises socket.timeout."""
        if self.kind == "udp":
            return self.decode(self.s.recv(65536))
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack("!H", self.buf[2:4])[0]
                need = 20 + n if self.buf[0] < 0x40 else 4 + n + (-n % 4)
                if len(self.buf) >= need:
                    msg, self.buf = self.buf[:need], self.buf[need:]
                    return self.decode(msg)
            data = self.s.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data

    @staticmethod
    def decode(msg):
        if msg[0] >= 0x40:
            num, n = struct.unpack("!HH", msg[:4])
            return "chan", (num, msg[4:4 + n])
        return "stun", parse(msg)

    def close(self):
        self.s.close()


class Session:
    """One TURN client session with long-term credentials."""

    def __init__(self, conn, user, password, realm):
        self.c, self.user, self.realm = conn, user, realm
        self.key = hashlib.md5(f"{user}:{realm}:{password}".encode()).digest()
        self.nonce = None

    def message(self, mtype, attrs, auth=True):
        txn = os.urandom(12)
        body = b"".join(attrs)
        if auth:
            body += attr(A_USERNAME, self.user.encode()) + attr(A_REALM, self.realm.encode())
            body += attr(A_NONCE, self.nonce)
            hdr = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + txn
            body += attr(A_MI, hmac.new(self.key, hdr + body, hashlib.sha1).digest())
        return txn, struct.pack("!HHI", mtype, len(body), MAGIC) + txn + body

    def request(self, method, attrs, auth=True):
        """Sends a request and returns its answer's (type, attrs); on 438
        takes the new nonce and asks again. UDP requests are retransmitted
        (RFC 8489 §6.2.1), three times at most."""
        for _ in range(3):
            txn, msg = self.message(method, attrs, auth)
            for _ in range(4 if self.c.kind == "udp" else 1):
                self.c.send(msg)
                try:
                    mtype, attrs_ = self.answer(txn)
                    break
                except socket.timeout:
                    if self.c.kind != "udp":
                        raise
            else:
                raise socket.timeout(f"no answer to method {method:#x}")
            if mtype == method | ERROR and error_code(attrs_) == 438:
                self.nonce = attrs_[A_NONCE]
                continue
            return mtype, attrs_
        raise RuntimeError("stale nonce three times")

    def answer(self, txn):
        while True:
            kind, m = self.c.recv()
            if kind == "stun" and m[1] == txn:
                return m[0], m[2]

    def allocate(self):
        mtype, attrs = self.request(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0")], auth=False)
        if error_code(attrs) != 401:
            raise RuntimeError(f"first Allocate: {mtype:#x} {error_code(attrs)}")
        self.nonce = attrs[A_NONCE]
        mtype, attrs = self.request(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0")])
        if mtype != ALLOCATE | SUCCESS:
            raise RuntimeError(f"Allocate: {mtype:#x} {error_code(attrs)}")
        return unxor_addr(attrs[A_RELAYED])

    def expect(self, method, attrs, what):
        mtype, a = self.request(method, attrs)
        if mtype != method | SUCCESS:
            raise RuntimeError(f"{what}: {mtype:#x} {error_code(a)} {a.get(A_ERROR, b'')[4:]!r}")

    def lifetime(self, seconds):
        self.expect(REFRESH, [attr(A_LIFETIME, struct.pack("!I", seconds))], "Refresh")


class Echo(threading.Thread):
    """A UDP peer that sends every datagram back where it came from."""

    def __init__(self):
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        self.count = 0

    def run(self):
        while True:
            data, src = self.s.recvfrom(65536)
            self.count += 1
            self.s.sendto(data, src)


class Lingering:
    """The sockets of UDP sessions left to expire, kept bound until their
    allocation has expired: a new session given that source port by the
    kernel would meet it (437, RFC 8656 §7.2)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.q = []  # (close at, Conn)

    def add(self, conn):
        with self.lock:
            self.q.append((time.monotonic() + EXPIRE_LIFETIME + 3, conn))

    def close_due(self, everything=False):
        now = time.monotonic()
        with self.lock:
            due = [c for t, c in self.q if everything or t <= now]
            self.q = [(t, c) for t, c in self.q if not (everything or t <= now)]
        for c in due:
            c.close()


LINGERING = Lingering()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}

    def add(self, key, v=1):
        with self.lock:
            self.n[key] = self.n.get(key, 0) + v


def churn(idx, kind, args, echo, stop, st):
    """Sessions one after another on one transport until stop is set, at
    most one every args.pace seconds."""
    k = 0
    while not stop.is_set():
        t0 = time.monotonic()
        k += 1
        try:
            run_session(idx, k, kind, args, echo, st)
        except Exception as e:  # counted and reported: never hidden
            st.add("errors")
            st.add(f"error:{kind}:{type(e).__name__}:{e}"[:160])
        LINGERING.close_due()
        rest = args.pace - (time.monotonic() - t0)
        if rest > 0:
            stop.wait(rest)


def run_session(idx, k, kind, args, echo, st):
    conn = Conn(kind, args.port, args.tls_port)
    linger = False
    try:
        s = Session(conn, args.user, args.password, args.realm)
        s.allocate()
        st.add("allocations")
        st.add(f"allocations:{kind}")
        peer = [attr(A_PEER, xor_addr("127.0.0.1", echo.port))]
        channel = 0x4000 + (k % 0x3000) if k % 2 else None
        if channel:
            s.expect(CHANNEL_BIND, [attr(A_CHANNEL, struct.pack("!HH", channel, 0))] + peer,
                     "ChannelBind")
            st.add("channels")
        else:
            s.expect(PERMISSION, peer, "CreatePermission")
            st.add("permissions")
        for i in range(args.packets):
            if i == args.packets // 2:
                s.lifetime(600)
                st.add("refreshes")
            payload = struct.pack("!III", idx, k, i) + os.urandom(args.size - 12)
            if channel:
                conn.send(struct.pack("!HH", channel, len(payload)) + payload)
            else:
                conn.send(s.message(SEND | INDICATION, peer + [attr(A_DATA, payload)],
                                    auth=False)[1])
            st.add("sent")
            if got_echo(conn, payload):
                st.add("echoed")
            else:
                st.add("lost")
        # The end: deleted, left to expire, or (TCP, TLS) hung up.
        end = ("delete", "expire", "close")[k % (2 if kind == "udp" else 3)]
        if end == "delete":
            s.lifetime(0)
        elif end == "expire":
            s.lifetime(EXPIRE_LIFETIME)
            linger = kind == "udp"
        st.add(f"ended:{end}")
    finally:
        if linger:
            LINGERING.add(conn)
        else:
            conn.close()


def got_echo(conn, payload):
    """Waits for payload to come back, as ChannelData or a Data indication."""
    deadline = time.monotonic() + ECHO_TIMEOUT
    while time.monotonic() < deadline:
        try:
            kind, m = conn.recv()
        except socket.timeout:
            return False
        if kind == "chan" and m[1] == payload:
            return True
        if kind == "stun" and m[0] == DATA | INDICATION and m[2].get(A_DATA) == payload:
            return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True, help="turnpiked's PID")
    ap.add_argument("--port", type=int, required=True, help="TURN UDP and TCP port")
    ap.add_argument("--tls-port", type=int, required=True)
    ap.add_argument("--http", required=True, help="IP:PORT of http-listen")
    ap.add_argument("--user", default="alice")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--realm", default="example.org")
    ap.add_argument("--seconds", type=float, default=150)
    ap.add_argument("--warmup", type=float, default=0, help="default: a fifth, 20 s to 10 min")
    ap.add_argument("--packets", type=int, default=20, help="echoed per session")
    ap.add_argument("--size", type=int, default=160, help="payload bytes")
    ap.add_argument("--pace", type=float, default=0.25, help="seconds per session per thread")
    ap.add_argument("--rss-slack-kb", type=int, default=1536)
    ap.add_argument("--fd-slack", type=int, default=8)
    args = ap.parse_args()
    warmup = args.warmup or min(max(args.seconds / 5, 20), 600)
    kinds = ["udp", "udp", "tcp", "tls"]

    echo = Echo()
    echo.start()
    rss0, fd0 = rss_fds(args.pid)
    stop, st = threading.Event(), Stats()
    threads = [threading.Thread(target=churn, args=(i, kind, args, echo, stop, st), daemon=True)
               for i, kind in enumerate(kinds)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    samples = []  # (seconds, rss KiB, fds)
    while time.monotonic() - t0 < args.seconds:
        time.sleep(min(2.0, max(0.0, args.seconds - (time.monotonic() - t0))))
        rss, fds = rss_fds(args.pid)
        samples.append((time.monotonic() - t0, rss, fds))
    stop.set()
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - t0
    # Quiet: the sessions left to expire go (lifetime + the 1 s tick).
    deadline = time.monotonic() + EXPIRE_LIFETIME + 10
    while time.monotonic() < deadline and metric(args.http, "turnpike_allocations_active") > 0:
        time.sleep(0.5)
    active = metric(args.http, "turnpike_allocations_active")
    LINGERING.close_due(everything=True)
    time.sleep(0.5)
    rss_end, fd_end = rss_fds(args.pid)

    n = st.n
    after = [s for s in samples if s[0] >= warmup]
    base = after[0] if after else samples[-1]
    rss_peak = max(s[1] for s in after) if after else base[1]
    fd_peak = max(s[2] for s in after) if after else base[2]
    # Under churn the count swings with the sessions open and expiring: its
    # peak after warm-up is bounded by the one during it (a leak shows as
    # growth; the count at the end, back at idle, is the exact test).
    fd_warm = max([s[2] for s in samples if s[0] < warmup] or [fd0])
    fd_bound = fd_warm + args.fd_slack
    print(f"soak: {elapsed:.0f} s, warm-up {warmup:.0f} s, {n.get('allocations', 0)} allocations "
          f"(udp {n.get('allocations:udp', 0)}, tcp {n.get('allocations:tcp', 0)}, "
          f"tls {n.get('allocations:tls', 0)}), {n.get('permissions', 0)} permissions, "
          f"{n.get('channels', 0)} channels, {n.get('refreshes', 0)} refreshes, "
          f"ended: {n.get('ended:delete', 0)} deleted, {n.get('ended:expire', 0)} expired, "
          f"{n.get('ended:close', 0)} closed; {n.get('sent', 0)} packets sent, "
          f"{n.get('echoed', 0)} echoed, {n.get('lost', 0)} lost", flush=True)
    print(f"soak: RSS {rss0} KiB idle, {base[1]} KiB after warm-up, peak {rss_peak} KiB after, "
          f"{rss_end} KiB at the end; descriptors {fd0} idle, peak {fd_warm} in warm-up, "
          f"{fd_peak} after, "
          f"{fd_end} at the end", flush=True)
    for key in sorted(k for k in n if k.startswith("error:"))[:10]:
        print(f"  {key} ({n[key]})")
    ok(n.get("errors", 0) == 0, f"every session went through ({n.get('errors', 0)} failed)")
    ok(n.get("allocations:udp", 0) > 0 and n.get("allocations:tcp", 0) > 0 and
       n.get("allocations:tls", 0) > 0, "sessions over UDP, TCP and TLS")
    ok(n.get("sent", 0) > 0 and n.get("lost", 0) == 0,
       f"no relayed packet lost ({n.get('echoed', 0)} of {n.get('sent', 0)} echoed)")
    ok(rss_peak <= base[1] + args.rss_slack_kb,
       f"RSS after warm-up grew {rss_peak - base[1]} KiB (bound {args.rss_slack_kb} KiB)")
    ok(fd_peak <= fd_bound, f"descriptors under churn at most {fd_peak} (bound {fd_bound})")
    ok(active == 0, f"no allocation left once the churn stopped ({active:.0f})")
    ok(fd_end == fd0, f"descriptors back to idle ({fd_end}, idle {fd0})")
    return 0


if __name__ == "__main__":
    main()
    sys.exit(ok.finish())

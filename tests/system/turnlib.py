"""turnlib.py - a small STUN/TURN client for the system tests written in
Python: messages with long-term credentials, TCP framing, UDP, and the
"ok - " / "FAIL - " lines and closing tally the shell tests read."""
import argparse
import hashlib
import hmac
import os
import signal
import socket
import struct
import subprocess
import time
import urllib.request

MAGIC = 0x2112A442
REALM = "example.org"
USER, PASSWORD = "alice", "wonderland"
ALLOCATE, REFRESH, PERMISSION, SEND, DATA = 0x003, 0x004, 0x008, 0x006, 0x007
SUCCESS, ERROR, INDICATION = 0x100, 0x110, 0x010
A_USERNAME, A_MI, A_ERROR, A_LIFETIME, A_PEER, A_DATA = 0x06, 0x08, 0x09, 0x0D, 0x12, 0x13
A_REALM, A_NONCE, A_RELAYED, A_TRANSPORT = 0x14, 0x15, 0x16, 0x19


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
            print("ok - " + what, flush=True)
        else:
            self.failed += 1
            print("FAIL - " + what, flush=True)

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


ok = Tally()


def attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4)


def xor_addr(ip, port):
    raw = socket.inet_aton(ip)
    x = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", MAGIC)))
    return struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + x


def unxor_addr(v):
    port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    ip = bytes(a ^ b for a, b in zip(v[4:8], struct.pack("!I", MAGIC)))
    return socket.inet_ntoa(ip), port


def message(mtype, txn, attrs, nonce=None):
    body = b"".join(attrs)
    if nonce is not None:
        body += attr(A_USERNAME, USER.encode()) + attr(A_REALM, REALM.encode())
        body += attr(A_NONCE, nonce)
        key = hashlib.md5(f"{USER}:{REALM}:{PASSWORD}".encode()).digest()
        hdr = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + txn
        mac = hmac.new(key, hdr + body, hashlib.sha1).digest()
        body += attr(A_MI, mac)
    return struct.pack("!HHI", mtype, len(body), MAGIC) + txn + body


def parse(buf):
    mtype, length, _ = struct.unpack("!HHI", buf[:8])
    txn, attrs, off = buf[8:20], {}, 20
    if len(buf) < 20 or len(buf) != 20 + length:
        raise ValueError(f"not one STUN message ({len(buf)} bytes, length field {length})")
    while off + 4 <= 20 + length:
        t, n = struct.unpack("!HH", buf[off:off + 4])
        attrs.setdefault(t, buf[off + 4:off + 4 + n])
        off += 4 + n + (-n % 4)
    return mtype, txn, attrs


def error_code(attrs):
    v = attrs.get(A_ERROR)
    return v[2] * 100 + v[3] if v else None


def allocate(txn, nonce):
    return message(ALLOCATE, txn, [attr(A_TRANSPORT, b"\x11\0\0\0"), attr(A_LIFETIME,
                   struct.pack("!I", 600))], nonce)


class Stream:
    """STUN messages over one TCP connection."""

    def __init__(self, port, src_port=0, src_ip="127.0.0.1"):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((src_ip, src_port))
        self.s.settimeout(5)
        self.s.connect(("127.0.0.1", port))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def recv(self):
        while True:
            if len(self.buf) >= 4:
                need = 20 + struct.unpack("!H", self.buf[2:4])[0]
                if len(self.buf) >= need:
                    msg, self.buf = self.buf[:need], self.buf[need:]
                    return parse(msg)
            data = self.s.recv(4096)
            if not data:
                raise EOFError("connection closed")
            self.buf += data

    def reset(self):
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.s.close()


class Dgram:
    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(3)
        self.to = ("127.0.0.1", port)

    def send(self, data):
        self.s.sendto(data, self.to)

    def recv(self):
        return parse(self.s.recv(4096))


def nonce_of(conn):
    """The nonce from a first, unauthenticated Allocate's 401."""
    conn.send(allocate(os.urandom(12), None))
    _, _, attrs = conn.recv()
    return attrs[A_NONCE]




# ---- the server under test ----

def arguments(*extra):
    """The command line every Python system test takes from lib.sh's
    run_py: --turnpiked, --port and --log; extra: (name, kwargs) pairs."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--turnpiked", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    for name, kw in extra:
        ap.add_argument(name, **kw)
    return ap.parse_args()


def start(cmd, log):
    """Starts turnpiked (cmd) with its output in the file log, on no
    configuration file but the command line (as lib.sh's start_server)."""
    if "-c" not in cmd:
        cmd = cmd[:1] + ["-c", "/dev/null"] + cmd[1:]
    with open(log, "w") as f:
        srv = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    # Until its listeners are up (the "ready" line, at info), it exits, or
    # 10 s: under load a fixed pause was not enough, and a DTLS client
    # that sent its hello too early waited for an answer that never came.
    end = time.monotonic() + 10
    while srv.poll() is None and time.monotonic() < end:
        with open(log, errors="replace") as f:
            if " ready with " in f.read():
                break
        time.sleep(0.02)
    return srv


def stop(srv, log):
    """Stops srv (SIGTERM; SIGKILL after 10 s) if it still runs, checks that
    it exits 0 with no sanitizer report, and returns its log."""
    if srv.poll() is None:
        srv.send_signal(signal.SIGTERM)
    try:
        rc = srv.wait(10)
    except subprocess.TimeoutExpired:
        srv.kill()
        rc = srv.wait()
    ok(rc == 0, f"turnpiked stops cleanly (exit status {rc})")
    with open(log) as f:
        text = f.read()
    ok("Sanitizer" not in text, "no sanitizer report")
    return text


def rss_fds(pid):
    """(resident memory in KiB, open descriptors) of process pid."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def metric(http, name):
    """The sum of a metric's samples in the /metrics of http (host:port)."""
    text = urllib.request.urlopen(f"http://{http}/metrics", timeout=10).read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))

#!/usr/bin/env python3
"""alternate.py - 300 Try Alternate (RFC 8489 §10, issue 10): turnpiked in
redirection mode (alternate-server) sends every authenticated Allocate to
the next configured server of the client's family, signed; with
overflow-server it sends there only the Allocates it cannot take itself
(total-quota reached, draining) instead of 508.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import hashlib
import hmac
import os
import signal
import socket
import struct
import subprocess
import sys
import time

from turnlib import (ALLOCATE, ERROR, SUCCESS, A_MI, A_NONCE, PASSWORD, REALM, USER, allocate,
                     arguments, error_code, ok, start, stop)

A_ALTERNATE = 0x8023


def sock(family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1" if family == socket.AF_INET else "::1", 0))
    s.settimeout(2)
    return s


def ask(s, port, nonce=None, raw=False):
    """One Allocate (authenticated when nonce is given); returns the parsed
    answer, and the raw bytes when raw."""
    host = "127.0.0.1" if s.family == socket.AF_INET else "::1"
    txn = os.urandom(12)
    s.sendto(allocate(txn, nonce), (host, port))
    data = s.recv(4096)
    mtype, rtxn, attrs = parse_all(data)
    assert rtxn == txn
    return (mtype, attrs, data) if raw else (mtype, attrs)


def parse_all(buf):
    mtype, length = struct.unpack("!HH", buf[:4])
    attrs, off = {}, 20
    while off + 4 <= 20 + length:
        t, n = struct.unpack("!HH", buf[off:off + 4])
        attrs.setdefault(t, buf[off + 4:off + 4 + n])
        off += 4 + n + (-n % 4)
    return mtype, buf[8:20], attrs


def alternate_of(attrs):
    v = attrs.get(A_ALTERNATE)
    if not v:
        return None
    port = struct.unpack("!H", v[2:4])[0]
    if v[1] == 1:
        return f"{socket.inet_ntoa(v[4:8])}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, v[4:20])}]:{port}"


def signed(data):
    """Whether MESSAGE-INTEGRITY verifies with the user's long-term key."""
    key = hashlib.md5(f"{USER}:{REALM}:{PASSWORD}".encode()).digest()
    off = 20
    while off + 4 <= len(data):
        t, n = struct.unpack("!HH", data[off:off + 4])
        if t == A_MI:
            hdr = data[:2] + struct.pack("!H", off + 24 - 20) + data[4:20]
            want = hmac.new(key, hdr + data[20:off], hashlib.sha1).digest()
            return hmac.compare_digest(want, data[off + 4:off + 24])
        off += 4 + n + (-n % 4)
    return False


def nonce_of(s, port):
    _, attrs = ask(s, port)
    return attrs[A_NONCE]


def server(args, port, extra):
    cmd = [args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-ip", "::1",
           "--listening-port", str(port), "--relay-threads", "1", "--relay-ip", "127.0.0.1",
           "--realm", REALM, "--user", f"{USER}:{PASSWORD}"] + extra
    log = f"{args.log}.{port}"
    srv = start(cmd, log)
    for _ in range(100):
        time.sleep(0.05)
        try:
            s = sock()
            ask(s, port)
            return srv, log
        except OSError:
            pass
    return srv, log


def redirection(args):
    srv, log = server(args, args.port, ["--alternate-server", "127.0.0.2:4000",
                                        "--alternate-server", "127.0.0.3",
                                        "--alternate-server", "[::1]:5000"])
    try:
        s = sock()
        mtype, attrs = ask(s, args.port)
        ok(mtype == ALLOCATE | ERROR and error_code(attrs) == 401,
           "redirection: an unauthenticated Allocate is challenged, not redirected")
        n = attrs[A_NONCE]
        seen = []
        for _ in range(3):
            s = sock()
            mtype, attrs, raw = ask(s, args.port, nonce_of(s, args.port), raw=True)
            seen.append((error_code(attrs), alternate_of(attrs), signed(raw)))
        ok([x[0] for x in seen] == [300] * 3, f"redirection: 300 Try Alternate ({seen})")
        ok([x[1] for x in seen] == ["127.0.0.2:4000", "127.0.0.3:3478", "127.0.0.2:4000"],
           "redirection: round robin over the IPv4 servers, port 3478 by default")
        ok(all(x[2] for x in seen), "redirection: every 300 is signed (MESSAGE-INTEGRITY)")
        s6 = sock(socket.AF_INET6)
        _, attrs = ask(s6, args.port, nonce_of(s6, args.port))
        ok(alternate_of(attrs) == "[::1]:5000", "redirection: an IPv6 client gets the IPv6 server")
        del n
    finally:
        stop(srv, log)


def overflow(args, port):
    srv, log = server(args, port, ["--overflow-server", "127.0.0.5:4000", "--total-quota", "1",
                                   "--drain-seconds", "5"])
    try:
        s1 = sock()
        mtype, _ = ask(s1, port, nonce_of(s1, port))
        ok(mtype == ALLOCATE | SUCCESS, "overflow: the first Allocate is served here")
        s2 = sock()
        _, attrs = ask(s2, port, nonce_of(s2, port))
        ok(error_code(attrs) == 300 and alternate_of(attrs) == "127.0.0.5:4000",
           f"overflow: over total-quota, 300 to the overflow server "
           f"({error_code(attrs)}, {alternate_of(attrs)})")
        s6 = sock(socket.AF_INET6)
        _, attrs = ask(s6, port, nonce_of(s6, port))
        ok(error_code(attrs) == 508, "overflow: no server of the client's family: 508")
        srv.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        s1.close()
        s3 = sock()
        _, attrs = ask(s3, port, nonce_of(s3, port))
        ok(error_code(attrs) == 300 and alternate_of(attrs) == "127.0.0.5:4000",
           "overflow: while draining, 300 to the overflow server")
    finally:
        srv.send_signal(signal.SIGINT)  # the second signal ends the drain
        try:
            srv.wait(10)  # before stop() signals again: no race
        except subprocess.TimeoutExpired:
            pass
        stop(srv, log)


def main():
    args = arguments(("--port2", {"type": int, "required": True}))
    redirection(args)
    overflow(args, args.port2)
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""redis_flood.py - unauthenticated requests cannot cost unbounded Redis
lookups nor push real users out of the key cache (issue 9 item 6).

turnpiked (one worker) takes long-term users from a real redis-server that
the shell test started. A real user allocates, so its key is cached. Then:
- one source sends 200 Allocates, each with a made-up user name and a MAC
  it cannot know, after one free 401 for the nonce: Redis sees at most the
  source's share of lookups (redis-lookups-per-source), not 200;
- 600 sources make up 9 names each (5,400 "no such user" answers, more than
  the cache holds in all);
- Redis stops: the real user still allocates, its key still cached.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time

from turnlib import (ALLOCATE, SUCCESS, PASSWORD, REALM, USER, allocate, arguments, attr, ok,
                     start, stop)

A_USERNAME, A_REALM, A_NONCE, A_MI = 0x06, 0x14, 0x15, 0x08
RATE = 10
SOURCES = 600  # x 9 names: more than the 4,096 entries a worker's key cache holds


def mget_calls(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "commandstats"],
                         capture_output=True, text=True, timeout=5).stdout
    for line in out.splitlines():
        if line.startswith("cmdstat_mget:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def settle(port, timeout=10):
    """MGET calls once they stop growing."""
    last, end = -1, time.time() + timeout
    while time.time() < end:
        n = mget_calls(port)
        if n == last:
            return n
        last = n
        time.sleep(0.3)
    return last


def udp(src_ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, 0))
    s.settimeout(2)
    return s


def nonce(s, port):
    s.sendto(allocate(os.urandom(12), None), ("127.0.0.1", port))
    data = s.recv(4096)
    off = 20
    while off + 4 <= len(data):
        t, n = int.from_bytes(data[off:off + 2], "big"), int.from_bytes(data[off + 2:off + 4], "big")
        if t == A_NONCE:
            return data[off + 4:off + 4 + n]
        off += 4 + n + (-n % 4)
    raise ValueError("no NONCE in the 401")


def made_up(nonce_value, name):
    """An Allocate for a user nobody has, with a MAC nobody can check."""
    body = attr(0x19, b"\x11\0\0\0") + attr(A_USERNAME, name.encode())
    body += attr(A_REALM, REALM.encode()) + attr(A_NONCE, nonce_value)
    body += attr(A_MI, os.urandom(20))
    return (0x0003).to_bytes(2, "big") + len(body).to_bytes(2, "big") + \
        (0x2112A442).to_bytes(4, "big") + os.urandom(12) + body


def real_allocate(port, src_ip):
    s = udp(src_ip)
    n = nonce(s, port)
    txn = os.urandom(12)
    s.sendto(allocate(txn, n), ("127.0.0.1", port))
    data = s.recv(4096)
    return int.from_bytes(data[:2], "big"), data[8:20] == txn


def main():
    args = arguments(("--redis-port", {"type": int, "required": True}),
                     ("--redis-pid", {"type": int, "required": True}))
    port, rport = args.port, args.redis_port

    key = hashlib.md5(f"{USER}:{REALM}:{PASSWORD}".encode()).hexdigest()
    subprocess.run(["redis-cli", "-p", str(rport), "SET", f"turn/realm/{REALM}/user/{USER}/key",
                    key], check=True, capture_output=True, timeout=5)
    cmd = [args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port", str(port),
           "--relay-threads", "1", "--relay-ip", "127.0.0.1", "--realm", REALM,
           "--redis-userdb", f"ip=127.0.0.1 port={rport} connect_timeout=2",
           "--redis-lookups-per-source", str(RATE)]
    srv = start(cmd, args.log)
    try:
        up = False
        for _ in range(100):
            time.sleep(0.1)
            with open(args.log) as f:
                if f.read().count("connected") >= 2:
                    up = True
                    break
        ok(up, "turnpiked is up with its Redis connections")
        mtype, mine = real_allocate(port, "127.0.0.1")
        ok(mtype == ALLOCATE | SUCCESS and mine, "the real user allocates")

        # One source, 200 made-up names.
        before = settle(rport)
        s = udp("127.0.0.9")
        n = nonce(s, port)
        for i in range(200):
            s.sendto(made_up(n, f"nobody-{i}-{os.urandom(4).hex()}"), ("127.0.0.1", port))
        spent = settle(rport) - before
        ok(spent <= 2 * RATE, f"one source's 200 made-up names cost {spent} Redis lookups "
           f"(at most {2 * RATE})")

        # Many sources, more made-up names than the cache holds.
        before = settle(rport)
        for i in range(SOURCES):
            s = udp(f"127.0.{2 + i // 250}.{1 + i % 250}")
            n = nonce(s, port)
            for j in range(9):
                s.sendto(made_up(n, f"flood-{i}-{j}"), ("127.0.0.1", port))
            s.close()
            if i % 50 == 49:
                settle(rport)  # lookups end before the parking lot fills
        spent = settle(rport) - before
        ok(spent >= 5000, f"{SOURCES} sources made {spent} lookups (within their shares)")

        os.kill(args.redis_pid, signal.SIGTERM)
        time.sleep(0.5)
        mtype, mine = real_allocate(port, "127.0.0.1")
        ok(mtype == ALLOCATE | SUCCESS and mine,
           f"with Redis stopped, the real user still allocates (type 0x{mtype:03x})")
        ok(srv.poll() is None, "turnpiked is still running")
    finally:
        text = stop(srv, args.log)
    ok("redis-lookups-per-source" in text, "the dropped requests are logged with the reason")
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

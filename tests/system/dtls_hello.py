#!/usr/bin/env python3
"""dtls_hello.py - raw DTLS ClientHellos for tests/system/dtls.sh, loopback only.

  capture PORT FILE      keep the first datagram sent to 127.0.0.1:PORT (a
                         ClientHello from openssl s_client) in FILE
  burst PORT FILE N      send FILE's ClientHello N times to 127.0.0.1:PORT,
                         from sources spread over 127.0.0.2-127.0.0.251, never
                         answering a cookie; print how many HelloVerifyRequests
                         came back
  stall PORT FILE        echo the cookie of the HelloVerifyRequest, wait for
                         the server's first flight, then send nothing more;
                         print the moment the flight came (ms since the epoch)

Every wait is bounded; exit status 1 on a failure, with one line saying why.
"""
import select
import socket
import sys
import time

HANDSHAKE = 22
HELLO_VERIFY_REQUEST = 3
SERVER_HELLO = 2


def fail(why):
    print(why)
    sys.exit(1)


def capture(port, path):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(5)
    try:
        data, _ = s.recvfrom(65535)
    except socket.timeout:
        fail("no datagram within 5 s")
    if len(data) < 25 or data[0] != HANDSHAKE or data[13] != 1:
        fail("not a ClientHello: %s" % data[:16].hex())
    with open(path, "wb") as f:
        f.write(data)


def is_hvr(d):
    return len(d) > 25 and d[0] == HANDSHAKE and d[13] == HELLO_VERIFY_REQUEST


def drain(socks, got, until):
    """Counts HelloVerifyRequests arriving on socks until the deadline."""
    while time.monotonic() < until:
        r, _, _ = select.select(socks, [], [], max(0.0, until - time.monotonic()))
        if not r:
            return got
        for s in r:
            try:
                while True:
                    d = s.recv(65535)
                    if is_hvr(d):
                        got += 1
            except BlockingIOError:
                pass
    return got


def burst(port, path, n):
    hello = open(path, "rb").read()
    socks = []
    for i in range(250):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind(("127.0.0.%d" % (2 + i), 0))
        s.setblocking(False)
        socks.append(s)
    got = 0
    for i in range(n):
        try:
            socks[i % len(socks)].sendto(hello, ("127.0.0.1", port))
        except BlockingIOError:
            pass
        # Pace the burst so the kernel's buffers, not the server, decide.
        if i % 250 == 249:
            got = drain(socks, got, time.monotonic() + 0.005)
    got = drain(socks, got, time.monotonic() + 1.0)
    print(got)


def with_cookie(hello, cookie):
    """The ClientHello again, with the cookie and the next sequence numbers
    (RFC 6347 §4.2.1)."""
    rec, hs = hello[:13], hello[13:25]
    body = hello[25:]
    sid_len = body[34]
    at = 35 + sid_len  # the cookie's length byte
    if body[at] != 0:
        fail("the captured ClientHello already carries a cookie")
    body = body[:at] + bytes([len(cookie)]) + cookie + body[at + 1:]
    blen = len(body).to_bytes(3, "big")
    hs = hs[:1] + blen + (1).to_bytes(2, "big") + hs[6:9] + blen
    rec = rec[:3] + rec[3:5] + (1).to_bytes(6, "big") + (len(hs) + len(body)).to_bytes(2, "big")
    return rec + hs + body


def stall(port, path):
    hello = open(path, "rb").read()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    s.sendto(hello, ("127.0.0.1", port))
    try:
        d = s.recv(65535)
    except socket.timeout:
        fail("no HelloVerifyRequest within 3 s")
    if not is_hvr(d):
        fail("not a HelloVerifyRequest: %s" % d[:16].hex())
    cookie = d[28:28 + d[27]]
    s.sendto(with_cookie(hello, cookie), ("127.0.0.1", port))
    try:
        d = s.recv(65535)
    except socket.timeout:
        fail("no ServerHello within 3 s of the cookie")
    if len(d) < 14 or d[0] != HANDSHAKE or d[13] != SERVER_HELLO:
        fail("not a ServerHello: %s" % d[:16].hex())
    print(int(time.time() * 1000))
    sys.stdout.flush()
    # Stall: read the retransmissions, answer nothing, for a bounded time.
    s.settimeout(0.5)
    end = time.monotonic() + 8
    while time.monotonic() < end:
        try:
            s.recv(65535)
        except socket.timeout:
            pass


def main():
    cmd, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if cmd == "capture":
        capture(port, path)
    elif cmd == "burst":
        burst(port, path, int(sys.argv[4]))
    elif cmd == "stall":
        stall(port, path)
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()

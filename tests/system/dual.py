#!/usr/bin/env python3
"""dual.py - dual allocations (RFC 8656 §7.2, ADDITIONAL-ADDRESS-FAMILY;
issue 10): with IPv4 and IPv6 relay addresses, an Allocate asking for IPv6
in addition gets two XOR-RELAYED-ADDRESS, one per family, and relays to a
peer of either family, each from the relay of its family, both ways;
without IPv6 relays it gets its IPv4 relay and ADDRESS-ERROR-CODE 440.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import os
import socket
import struct
import sys
import time

from turnlib import (ALLOCATE, DATA, INDICATION, PERMISSION, SEND, SUCCESS, A_DATA, A_LIFETIME,
                     A_NONCE, A_PEER, A_TRANSPORT, MAGIC, PASSWORD, REALM, USER, arguments, attr,
                     message, ok, start, stop)

A_ADDITIONAL = 0x8000
A_ADDRESS_ERROR = 0x8001
A_RELAYED = 0x16


def all_attrs(buf):
    """Every attribute, repeated ones included: [(type, value)]."""
    length = struct.unpack("!H", buf[2:4])[0]
    out, off = [], 20
    while off + 4 <= 20 + length:
        t, n = struct.unpack("!HH", buf[off:off + 4])
        out.append((t, buf[off + 4:off + 4 + n]))
        off += 4 + n + (-n % 4)
    return out


def unxor(v, txn):
    port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    key = struct.pack("!I", MAGIC) + txn
    if v[1] == 1:
        return socket.AF_INET, socket.inet_ntoa(bytes(a ^ b for a, b in zip(v[4:8], key))), port
    ip = socket.inet_ntop(socket.AF_INET6, bytes(a ^ b for a, b in zip(v[4:20], key)))
    return socket.AF_INET6, ip, port


def xor(family, ip, port, txn):
    key = struct.pack("!I", MAGIC) + txn
    raw = socket.inet_pton(family, ip)
    fam = 1 if family == socket.AF_INET else 2
    return struct.pack("!BBH", 0, fam, port ^ (MAGIC >> 16)) + bytes(a ^ b for a, b in
                                                                      zip(raw, key))


class Client:
    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(3)
        self.to = ("127.0.0.1", port)
        self.nonce = None

    def request(self, mtype, attrs, auth=True, txn=None):
        txn = txn or os.urandom(12)
        self.s.sendto(message(mtype, txn, attrs, self.nonce if auth else None), self.to)
        while True:
            buf = self.s.recv(4096)
            if buf[8:20] == txn:
                return struct.unpack("!H", buf[:2])[0], txn, all_attrs(buf)

    def allocate(self, dual):
        _, _, attrs = self.request(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0")], auth=False)
        self.nonce = dict(attrs)[A_NONCE]
        extra = [attr(A_ADDITIONAL, b"\x02\0\0\0")] if dual else []
        return self.request(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0"),
                                       attr(A_LIFETIME, struct.pack("!I", 600))] + extra)

    def permit(self, family, ip, port):
        txn = os.urandom(12)
        mtype, _, _ = self.request(PERMISSION, [attr(A_PEER, xor(family, ip, port, txn))],
                                   txn=txn)
        return mtype

    def send(self, family, ip, port, data):
        txn = os.urandom(12)
        self.s.sendto(message(SEND | INDICATION, txn, [attr(A_PEER, xor(family, ip, port, txn)),
                                                       attr(A_DATA, data)]), self.to)

    def data(self):
        buf = self.s.recv(4096)
        attrs = dict(all_attrs(buf))
        if struct.unpack("!H", buf[:2])[0] != DATA | INDICATION:
            return None
        return unxor(attrs[A_PEER], buf[8:20]), attrs.get(A_DATA)


def relays(attrs, txn):
    return [unxor(v, txn) for t, v in attrs if t == A_RELAYED]


def scenario_dual(port):
    c = Client(port)
    mtype, txn, attrs = c.allocate(dual=True)
    rel = relays(attrs, txn)
    fams = sorted(r[0] for r in rel)
    ok(mtype == ALLOCATE | SUCCESS and fams == [socket.AF_INET, socket.AF_INET6],
       f"a dual Allocate gets an IPv4 and an IPv6 relayed address ({rel})")
    ok(A_ADDRESS_ERROR not in dict(attrs), "no ADDRESS-ERROR-CODE when both families are served")
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        peer = socket.socket(family, socket.SOCK_DGRAM)
        peer.bind((host, 0))
        peer.settimeout(3)
        pport = peer.getsockname()[1]
        name = "IPv4" if family == socket.AF_INET else "IPv6"
        ok(c.permit(family, host, pport) == PERMISSION | SUCCESS,
           f"CreatePermission for an {name} peer")
        c.send(family, host, pport, b"ping-" + name.encode())
        try:
            got, src = peer.recvfrom(2048)
            want = [r for r in rel if r[0] == family][0]
            ok(got == b"ping-" + name.encode() and src[1] == want[2],
               f"the {name} peer gets the data from the {name} relay (port {src[1]})")
            peer.sendto(b"pong-" + name.encode(), src)
            (fam, ip, pp), payload = c.data()
            ok(payload == b"pong-" + name.encode() and fam == family and pp == pport,
               f"the {name} peer's answer comes back as a Data indication")
        except (OSError, TypeError, IndexError) as e:
            ok(False, f"relaying to the {name} peer ({e!r})")
        peer.close()


def scenario_single(port):
    c = Client(port)
    mtype, txn, attrs = c.allocate(dual=True)
    rel = relays(attrs, txn)
    err = dict(attrs).get(A_ADDRESS_ERROR)
    code = err[2] * 100 + err[3] if err else None
    ok(mtype == ALLOCATE | SUCCESS and [r[0] for r in rel] == [socket.AF_INET] and
       err and err[0] == 2 and code == 440,
       f"without IPv6 relays: the IPv4 relay and ADDRESS-ERROR-CODE 440 for IPv6 ({rel}, {code})")
    ok(c.permit(socket.AF_INET6, "::1", 9) == PERMISSION | 0x110,
       "and an IPv6 peer is refused (443)")


def main():
    args = arguments(("--port2", {"type": int, "required": True}))
    common = ["--listening-ip", "127.0.0.1", "--relay-threads", "1", "--realm", REALM,
              "--user", f"{USER}:{PASSWORD}", "--allow-loopback-peers"]
    srv = start([args.turnpiked, "--listening-port", str(args.port), "--relay-ip", "127.0.0.1",
                 "--relay-ip", "::1"] + common, args.log)
    time.sleep(0.4)
    try:
        scenario_dual(args.port)
    finally:
        stop(srv, args.log)
    srv = start([args.turnpiked, "--listening-port", str(args.port2), "--relay-ip",
                 "127.0.0.1"] + common, args.log + ".single")
    time.sleep(0.4)
    try:
        scenario_single(args.port2)
    finally:
        stop(srv, args.log + ".single")
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""security.py - the security regression suite (issue 15): one named check
per bypass that has hit TURN servers.

Peer addresses (RFC 8656 §17, the peer policy): unspecified, loopback in
every IPv4/IPv6 spelling (IPv4-mapped and -compatible, IPv4-translated,
NAT64 64:ff9b::/96 and 64:ff9b:1::/96 (RFC 8215), 6to4, Teredo with an
embedded loopback or private address), link-local and the cloud metadata
address, private, CGNAT, multicast, reserved, each through CreatePermission,
ChannelBind, the Send indication (dropped, counted in /metrics) and the RFC
6062 Connect; the server's own listening ports (TURN and HTTP) on every
loopback spelling with allow-loopback-peers on. Messages: attributes after
MESSAGE-INTEGRITY are ignored (RFC 8489 §14.5) but FINGERPRINT, oversized
attributes and a DATA attribute whose length lies get no answer and relay
nothing. Every request travels to turnpiked on loopback; nothing is sent
to the addresses under test (they are refused before any packet leaves).
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import hashlib
import hmac
import os
import re
import socket
import struct
import sys
import time
import urllib.request
import zlib

from turnlib import (ALLOCATE, DATA, ERROR, INDICATION, PASSWORD, PERMISSION, REALM, SEND,
                     SUCCESS, USER, A_DATA, A_LIFETIME, A_MI, A_NONCE, A_PEER, A_TRANSPORT,
                     MAGIC, Stream, arguments, attr, error_code, message, ok, parse, start,
                     stop)

CHANNEL_BIND, CONNECT = 0x009, 0x00A
A_CHANNEL, A_FAMILY, A_FINGERPRINT, A_USERNAME = 0x000C, 0x0017, 0x8028, 0x0006
UDP, TCP = b"\x11\0\0\0", b"\x06\0\0\0"


def xor_peer(ip, port, txn):
    """XOR-PEER-ADDRESS value for an IPv4 or IPv6 literal (RFC 8489 §14.2)."""
    if ":" in ip:
        key = struct.pack("!I", MAGIC) + txn
        raw = socket.inet_pton(socket.AF_INET6, ip)
        return struct.pack("!BBH", 0, 2, port ^ (MAGIC >> 16)) + bytes(
            a ^ b for a, b in zip(raw, key))
    raw = socket.inet_aton(ip)
    return struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + bytes(
        a ^ b for a, b in zip(raw, struct.pack("!I", MAGIC)))


def teredo(server, client):
    """A Teredo address (RFC 4380 §4): 2001:0::/32, the server's IPv4, flags
    and port, then the client's IPv4 inverted."""
    s = socket.inet_aton(server)
    c = bytes(b ^ 0xFF for b in socket.inet_aton(client))
    return socket.inet_ntop(socket.AF_INET6, b"\x20\x01\x00\x00" + s + b"\0\0\xff\xff" + c)


# (name, address): every one must be refused. Port 9 (discard) throughout.
V4_BYPASSES = [
    ("unspecified 0.0.0.0", "0.0.0.0"),
    ("this-network 0.1.2.3", "0.1.2.3"),
    ("loopback 127.0.0.1", "127.0.0.1"),
    ("loopback 127.255.255.254", "127.255.255.254"),
    ("link-local 169.254.0.1", "169.254.0.1"),
    ("cloud metadata 169.254.169.254", "169.254.169.254"),
    ("private 10.0.0.1", "10.0.0.1"),
    ("private 172.16.0.1", "172.16.0.1"),
    ("private 192.168.1.1", "192.168.1.1"),
    ("CGNAT 100.64.0.1", "100.64.0.1"),
    ("multicast 224.0.0.1", "224.0.0.1"),
    ("multicast 239.255.255.250 (SSDP)", "239.255.255.250"),
    ("broadcast 255.255.255.255", "255.255.255.255"),
    ("reserved 240.0.0.1", "240.0.0.1"),
]
V6_BYPASSES = [
    ("unspecified ::", "::"),
    ("loopback ::1", "::1"),
    ("IPv4-mapped ::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    ("IPv4-compatible ::127.0.0.1", "::127.0.0.1"),
    ("IPv4-translated ::ffff:0:127.0.0.1", "::ffff:0:7f00:1"),
    ("NAT64 64:ff9b::7f00:1", "64:ff9b::7f00:1"),
    ("NAT64 local-use 64:ff9b:1::7f00:1 (RFC 8215)", "64:ff9b:1::7f00:1"),
    ("NAT64 to metadata 64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe"),
    ("6to4 2002:7f00:1:: (loopback)", "2002:7f00:1::"),
    ("6to4 2002:a9fe:a9fe:: (metadata)", "2002:a9fe:a9fe::1"),
    ("Teredo, client 127.0.0.1", teredo("45.33.32.156", "127.0.0.1")),
    ("Teredo, client 10.0.0.1", teredo("45.33.32.156", "10.0.0.1")),
    ("Teredo, server 127.0.0.1", teredo("127.0.0.1", "45.33.32.156")),
    ("IPv4-mapped metadata ::ffff:169.254.169.254", "::ffff:169.254.169.254"),
    ("IPv4-mapped private ::ffff:10.0.0.1", "::ffff:10.0.0.1"),
    ("link-local fe80::1", "fe80::1"),
    ("unique-local fd00::1", "fd00::1"),
    ("multicast ff02::1", "ff02::1"),
    ("documentation 2001:db8::1", "2001:db8::1"),
]
PUBLIC = [("public 45.33.32.156", "45.33.32.156"), ("public 2606:4700::1111", "2606:4700::1111")]


class Client:
    """A UDP TURN client with long-term credentials (alice, MD5)."""

    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(2)
        self.to = ("127.0.0.1", port)
        self.nonce = None

    def send(self, data):
        self.s.sendto(data, self.to)

    def recv(self, timeout=2):
        self.s.settimeout(timeout)
        return parse(self.s.recv(65536))

    def request(self, method, attrs):
        """Sends a signed request (fetching a nonce first); returns the
        answer's class and error code (None on success, 0 on no answer)."""
        for _ in range(2):
            txn = os.urandom(12)
            a = attrs(txn) if callable(attrs) else attrs
            self.send(message(method, txn, a, self.nonce))
            try:
                mtype, _, got = self.recv()
            except socket.timeout:
                return None, 0
            code = error_code(got)
            if code in (401, 438) and A_NONCE in got:
                self.nonce = got[A_NONCE]
                continue
            return mtype & 0x110, code
        return mtype & 0x110, code

    def allocate(self, *extra):
        cls, code = self.request(ALLOCATE, [attr(A_TRANSPORT, UDP), *extra])
        return cls == SUCCESS

    def close(self):
        self.s.close()


def metric(http, name, label):
    """One counter from /metrics, or -1."""
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^turnpike_%s\{%s\} (\d+)" % (re.escape(name), re.escape(label)), text,
                  re.M)
    return int(m.group(1)) if m else -1


def send_drops(http):
    """Send indications dropped for want of a permission or by the policy."""
    return metric(http, "dropped_total", 'cause="no_permission"') + \
        metric(http, "dropped_total", 'cause="peer_policy"')


def policy_checks(port, http):
    """Every bypass through CreatePermission, ChannelBind and Send."""
    v4 = Client(port)
    v6 = Client(port)
    ok(v4.allocate(), "IPv4 allocation for the peer-policy checks")
    ok(v6.allocate(attr(A_FAMILY, b"\x02\0\0\0")),
       "IPv6 allocation (REQUESTED-ADDRESS-FAMILY) for the peer-policy checks")
    chan = 0x4000
    for name, ip in V4_BYPASSES + V6_BYPASSES:
        c = v6 if ":" in ip else v4
        cls, code = c.request(PERMISSION, lambda t, ip=ip: [attr(A_PEER, xor_peer(ip, 9, t))])
        ok(code == 403, f"CreatePermission to {name}: 403 (got {code})")
        cls, code = c.request(CHANNEL_BIND, lambda t, ip=ip, n=chan: [
            attr(A_CHANNEL, struct.pack("!HH", n, 0)), attr(A_PEER, xor_peer(ip, 9, t))])
        ok(code == 403, f"ChannelBind to {name}: 403 (got {code})")
        chan += 1
        # No permission can exist for it: dropped as such (or, for our
        # own addresses, by the policy check every packet gets).
        before = send_drops(http)
        txn = os.urandom(12)
        c.send(message(SEND | INDICATION, txn, [attr(A_PEER, xor_peer(ip, 9, txn)),
                                                attr(A_DATA, b"bypass?")]))
        after = before
        for _ in range(40):
            after = send_drops(http)
            if after > before:
                break
            time.sleep(0.05)
        ok(before >= 0 and after == before + 1,
           f"Send indication to {name}: dropped, nothing relayed ({before} -> {after})")
    # The control: the same requests for public addresses go through
    # (permissions only; nothing is sent to them).
    for name, ip in PUBLIC:
        c = v6 if ":" in ip else v4
        cls, code = c.request(PERMISSION, lambda t, ip=ip: [attr(A_PEER, xor_peer(ip, 9, t))])
        ok(cls == SUCCESS, f"control: CreatePermission to {name} granted (got {code})")
    # All or nothing: one refused peer refuses the request (RFC 8656 §9.2).
    cls, code = v4.request(PERMISSION, lambda t: [attr(A_PEER, xor_peer("45.33.32.156", 9, t)),
                                                   attr(A_PEER, xor_peer("127.0.0.1", 9, t))])
    ok(code == 403, f"CreatePermission with a public and a loopback peer: 403 (got {code})")
    v4.close()
    v6.close()


def connect_checks(port):
    """RFC 6062 Connect over a TCP allocation to every IPv4 bypass."""
    s = Stream(port)
    nonce = [None]

    def req(method, attrs):
        for _ in range(2):
            txn = os.urandom(12)
            s.send(message(method, txn, attrs(txn) if callable(attrs) else attrs, nonce[0]))
            while True:
                mtype, rtxn, got = s.recv()
                if rtxn == txn:
                    break
            code = error_code(got)
            if code in (401, 438):
                nonce[0] = got[A_NONCE]
                continue
            return mtype & 0x110, code
        return mtype & 0x110, code

    # A relay port another process holds gives 508: ask again.
    for _ in range(3):
        cls, code = req(ALLOCATE, [attr(A_TRANSPORT, TCP)])
        if code != 508:
            break
    ok(cls == SUCCESS, f"TCP allocation (RFC 6062) for the Connect checks (got {code})")
    for name, ip in V4_BYPASSES:
        cls, code = req(CONNECT, lambda t, ip=ip: [attr(A_PEER, xor_peer(ip, 9, t))])
        ok(code == 403, f"Connect to {name}: 403 (got {code})")
    s.reset()


def self_checks(port, http):
    """allow-loopback-peers: loopback peers are fine but for our listening
    ports, in every spelling."""
    c = Client(port)
    ok(c.allocate(), "IPv4 allocation on the allow-loopback-peers server")
    v6 = Client(port)
    ok(v6.allocate(attr(A_FAMILY, b"\x02\0\0\0")), "IPv6 allocation there")
    for p, what in ((port, "TURN port"), (http, "HTTP port")):
        for ip in ("127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1", "::127.0.0.1",
                   "64:ff9b::7f00:1", "2002:7f00:1::"):
            cl = v6 if ":" in ip else c
            cls, code = cl.request(PERMISSION, lambda t, ip=ip, p=p: [
                attr(A_PEER, xor_peer(ip, p, t))])
            ok(code == 403, f"our own {what} at {ip}: CreatePermission 403 (got {code})")
    cls, code = c.request(PERMISSION, lambda t: [attr(A_PEER, xor_peer("127.0.0.1", 9, t))])
    ok(cls == SUCCESS, f"control: a loopback peer on another port is granted (got {code})")
    c.close()
    v6.close()


def sign(mtype, txn, attrs, nonce, after=b"", fingerprint=False):
    """A signed request with raw bytes after MESSAGE-INTEGRITY, and
    FINGERPRINT last when asked."""
    msg = message(mtype, txn, attrs, nonce)
    msg = msg + after
    msg = msg[:2] + struct.pack("!H", len(msg) - 20) + msg[4:]
    if fingerprint:
        msg = msg[:2] + struct.pack("!H", len(msg) - 20 + 8) + msg[4:]
        crc = (zlib.crc32(msg) ^ 0x5354554E) & 0xFFFFFFFF
        msg += attr(A_FINGERPRINT, struct.pack("!I", crc))
    return msg


def message_checks(port, http):
    """Attributes after MESSAGE-INTEGRITY, oversized attributes, lying lengths."""
    c = Client(port)
    ok(c.allocate(), "allocation for the message checks")
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(0.5)
    pport = peer.getsockname()[1]
    c.request(PERMISSION, lambda t: [attr(A_PEER, xor_peer("127.0.0.1", pport, t))])

    def ask(raw, timeout=1):
        c.send(raw)
        try:
            mtype, _, got = c.recv(timeout)
        except socket.timeout:
            return None
        return mtype & 0x110, error_code(got), got

    # RFC 8489 §14.5: what follows MESSAGE-INTEGRITY is ignored; a
    # denied peer there must not turn into a permission, nor a refusal.
    txn = os.urandom(12)
    raw = sign(PERMISSION, txn, [attr(A_PEER, xor_peer("45.33.32.156", 9, txn))], c.nonce,
               after=attr(A_PEER, xor_peer("169.254.169.254", 80, txn)))
    r = ask(raw)
    ok(r is not None and r[0] == SUCCESS,
       f"a peer after MESSAGE-INTEGRITY is ignored (answer {r and r[:2]})")
    txn = os.urandom(12)
    raw = sign(PERMISSION, txn, [attr(A_PEER, xor_peer("45.33.32.156", 9, txn))], c.nonce,
               after=attr(A_USERNAME, b"mallory"))
    r = ask(raw)
    ok(r is not None and r[0] == SUCCESS,
       f"a USERNAME after MESSAGE-INTEGRITY is ignored (answer {r and r[:2]})")
    txn = os.urandom(12)
    raw = sign(PERMISSION, txn, [attr(A_PEER, xor_peer("45.33.32.156", 9, txn))], c.nonce,
               fingerprint=True)
    r = ask(raw)
    ok(r is not None and r[0] == SUCCESS and A_FINGERPRINT in r[2],
       f"FINGERPRINT after MESSAGE-INTEGRITY is taken, and answered with one (answer "
       f"{r and r[:2]})")
    # An unsigned request with a forged MESSAGE-INTEGRITY: a challenge, nothing else.
    txn = os.urandom(12)
    raw = message(PERMISSION, txn, [attr(A_PEER, xor_peer("45.33.32.156", 9, txn)),
                                    attr(A_USERNAME, USER.encode()), attr(A_NONCE, c.nonce),
                                    attr(0x0014, REALM.encode()), attr(A_MI, b"\0" * 20)])
    r = ask(raw)
    ok(r is not None and r[1] == 401, f"a forged MESSAGE-INTEGRITY gets 401 (answer {r and r[:2]})")

    # Oversized: a length beyond the message, an over-long USERNAME, a
    # SOFTWARE past its 763 bytes. No answer (malformed, counted) or 400.
    before = metric(http, "dropped_total", 'cause="malformed"')
    txn = os.urandom(12)
    body = attr(A_TRANSPORT, UDP)[:2] + struct.pack("!H", 1000) + UDP
    raw = struct.pack("!HHI", ALLOCATE, len(body), MAGIC) + txn + body
    r = ask(raw, 0.5)
    ok(r is None, f"an attribute longer than its message: no answer (got {r and r[:2]})")
    for what, a in (("a 600-byte USERNAME", attr(A_USERNAME, b"u" * 600)),
                    ("a 764-byte SOFTWARE", attr(0x8022, b"s" * 764))):
        txn = os.urandom(12)
        raw = message(ALLOCATE, txn, [attr(A_TRANSPORT, UDP), a])
        r = ask(raw, 0.5)
        ok(r is None or r[1] == 400, f"{what}: no answer or 400 (got {r and r[:2]})")
    after = metric(http, "dropped_total", 'cause="malformed"')
    ok(after >= before + 2, f"  ... counted as malformed ({before} -> {after})")

    # A DATA attribute whose length lies: longer than the message, or a
    # Send whose header length claims more than the datagram holds.
    txn = os.urandom(12)
    body = attr(A_PEER, xor_peer("127.0.0.1", pport, txn)) + struct.pack("!HH", A_DATA, 200) + \
        b"lie!" * 4
    c.send(struct.pack("!HHI", SEND | INDICATION, len(body), MAGIC) + txn + body)
    txn = os.urandom(12)
    body = attr(A_PEER, xor_peer("127.0.0.1", pport, txn)) + attr(A_DATA, b"lie!" * 4)
    c.send(struct.pack("!HHI", SEND | INDICATION, len(body) + 64, MAGIC) + txn + body)
    # A ChannelData whose length exceeds the datagram.
    c.send(struct.pack("!HH", 0x4000, 500) + b"lie!" * 4)
    try:
        got = peer.recv(2048)
    except socket.timeout:
        got = None
    ok(got is None, f"a DATA attribute or ChannelData whose length lies: nothing relayed ({got!r})")
    # The control: the same Send, honest, arrives.
    txn = os.urandom(12)
    c.send(message(SEND | INDICATION, txn, [attr(A_PEER, xor_peer("127.0.0.1", pport, txn)),
                                            attr(A_DATA, b"honest")]))
    try:
        got = peer.recv(2048)
    except socket.timeout:
        got = None
    ok(got == b"honest", f"control: an honest Send indication is relayed ({got!r})")
    peer.close()
    c.close()


def main():
    args = arguments(("--http", {"type": int, "required": True}),
                     ("--port2", {"type": int, "required": True}),
                     ("--http2", {"type": int, "required": True}))
    common = ["--listening-ip", "127.0.0.1", "--relay-threads", "2", "--realm", REALM,
              "--user", f"{USER}:{PASSWORD}", "--relay-ip", "127.0.0.1", "--relay-ip", "::1"]
    strict = start([args.turnpiked, "--listening-port", str(args.port), "--http-listen",
                    str(args.http)] + common, args.log)
    log2 = args.log + ".loopback"
    loose = start([args.turnpiked, "--listening-port", str(args.port2), "--http-listen",
                   str(args.http2), "--allow-loopback-peers"] + common, log2)
    time.sleep(0.5)
    for p in (args.http, args.http2):
        for _ in range(50):
            try:
                metric(p, "dropped_total", 'cause="peer_policy"')
                break
            except OSError:
                time.sleep(0.1)
    try:
        policy_checks(args.port, args.http)
        connect_checks(args.port)
        self_checks(args.port2, args.http2)
        message_checks(args.port2, args.http2)
    finally:
        stop(strict, args.log)
        stop(loose, log2)
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

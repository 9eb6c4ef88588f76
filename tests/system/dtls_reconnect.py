#!/usr/bin/env python3
"""dtls_reconnect.py - a DTLS client that starts again on the same address
and port (RFC 6347 §4.2.8), for tests/system/dtls.sh, loopback only.

A client (pyOpenSSL over a UDP socket it owns) makes an allocation over
DTLS and relays to a UDP peer. A ClientHello without a cookie from its
address and port (what anyone spoofing it can send) gets a
HelloVerifyRequest and leaves the session relaying. Then the client
"crashes" (no close_notify) and a new one on the same port handshakes at
once, well within the old session's idle timeout: its cookie echoed, the
old session and its allocation go (a new Allocate succeeds, not 437), and
the new one relays.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import os
import socket
import struct
import sys
import time

from turnlib import (ALLOCATE, DATA, ERROR, INDICATION, PERMISSION, REALM, SEND, SUCCESS, A_DATA,
                     A_LIFETIME, A_NONCE, A_PEER, A_RELAYED, A_TRANSPORT, PASSWORD, USER,
                     arguments, attr, error_code, message, ok, parse, start, stop, unxor_addr,
                     xor_addr)

try:
    from OpenSSL import SSL
except ImportError:
    SSL = None

BINDING = 0x001
HANDSHAKE, CLIENT_HELLO, HELLO_VERIFY_REQUEST = 22, 1, 3


class Dtls:
    """A DTLS 1.2 client over a UDP socket bound to 127.0.0.1:port (0: any):
    OpenSSL works on memory BIOs, this moves the datagrams."""

    def __init__(self, server, port=0):
        self.server = server
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", port))
        self.port = self.s.getsockname()[1]
        self.c = self.conn()
        self.nonce = None

    @staticmethod
    def conn():
        ctx = SSL.Context(SSL.DTLS_CLIENT_METHOD)
        ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
        c = SSL.Connection(ctx, None)
        c.set_connect_state()
        return c

    def flush(self, c=None):
        c = c or self.c
        while True:
            try:
                d = c.bio_read(65536)
            except SSL.WantReadError:
                return
            self.s.sendto(d, self.server)

    def handshake(self, timeout=3):
        """Returns the seconds the handshake took, or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                self.c.do_handshake()
                self.flush()
                return time.monotonic() - t0
            except SSL.WantReadError:
                self.flush()
            self.s.settimeout(max(0.05, timeout - (time.monotonic() - t0)))
            try:
                self.c.bio_write(self.s.recv(65535))
            except socket.timeout:
                return None
        return None

    def hello(self):
        """A fresh ClientHello (no cookie), as one datagram."""
        c = self.conn()
        try:
            c.do_handshake()
        except SSL.WantReadError:
            pass
        return c.bio_read(65536)

    def send(self, msg):
        self.c.send(msg)
        self.flush()

    def recv(self, timeout=2):
        """The next record's plaintext; raw datagrams that are not records
        of this session (a HelloVerifyRequest) are set aside in self.raw."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise socket.timeout("no record")
            self.s.settimeout(left)
            d = self.s.recv(65535)
            if len(d) > 13 and d[0] == HANDSHAKE and d[13] == HELLO_VERIFY_REQUEST:
                self.raw = d
                continue
            self.c.bio_write(d)
            try:
                return self.c.recv(65535)
            except SSL.WantReadError:
                continue

    def request(self, mtype, attrs):
        for _ in range(2):
            txn = os.urandom(12)
            self.send(message(mtype, txn, attrs, self.nonce))
            while True:
                rtype, rtxn, rattrs = parse(self.recv())
                if rtxn == txn:
                    break
            if rtype & 0x110 == ERROR and error_code(rattrs) in (401, 438) and \
               A_NONCE in rattrs and rattrs[A_NONCE] != self.nonce:
                self.nonce = rattrs[A_NONCE]
                continue
            return rtype, rattrs
        return rtype, rattrs


def allocate(d):
    mtype, attrs = d.request(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0"),
                                        attr(A_LIFETIME, struct.pack("!I", 600))])
    relayed = unxor_addr(attrs[A_RELAYED]) if A_RELAYED in attrs else None
    return mtype, attrs, relayed


def relays(d, peer, relayed, tag):
    """A Send indication reaches the peer, and the peer's answer comes back
    as a Data indication."""
    d.send(message(SEND | INDICATION, os.urandom(12),
                   [attr(A_PEER, xor_addr(*peer.getsockname())), attr(A_DATA, tag)]))
    peer.settimeout(2)
    try:
        got, src = peer.recvfrom(2048)
    except socket.timeout:
        return False
    if got != tag or src != relayed:
        return False
    peer.sendto(tag[::-1], relayed)
    try:
        mtype, _, attrs = parse(d.recv())
    except (socket.timeout, SSL.Error):
        return False
    return mtype == DATA | INDICATION and attrs.get(A_DATA) == tag[::-1]


def main():
    args = arguments(("--tls-port", {"type": int, "required": True}),
                     ("--cert", {"required": True}), ("--key", {"required": True}))
    if SSL is None:
        print("skip - pyOpenSSL not installed (Debian package python3-openssl)")
        return 0
    srv = start([args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port",
                 str(args.port), "--relay-ip", "127.0.0.1", "--realm", REALM,
                 "--user", f"{USER}:{PASSWORD}", "--allow-loopback-peers", "--min-port",
                 "40000", "--max-port", "40999", "--cert", args.cert, "--pkey", args.key,
                 "--tls-listening-port", str(args.tls_port), "--tcp-idle-timeout", "60",
                 "--log-level", "debug"], args.log)
    time.sleep(0.4)
    server = ("127.0.0.1", args.tls_port)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    try:
        d = Dtls(server)
        took = d.handshake()
        ok(took is not None, f"a DTLS client on port {d.port}: handshake done")
        mtype, _, relayed = allocate(d)
        ok(mtype == ALLOCATE | SUCCESS and relayed, f"an allocation over DTLS ({relayed})")
        mtype, _ = d.request(PERMISSION, [attr(A_PEER, xor_addr(*peer.getsockname()))])
        ok(mtype == PERMISSION | SUCCESS, "CreatePermission for the peer")
        ok(relays(d, peer, relayed, b"first"), "it relays to the peer and back")

        # Anyone who spoofs the client's address and port can send this.
        d.raw = None
        d.s.sendto(d.hello(), server)
        ok(relays(d, peer, relayed, b"after a spoofed hello"),
           "a ClientHello without a cookie from its address and port: it still relays")
        ok(d.raw is not None, "... and the ClientHello got a HelloVerifyRequest")
        txn = os.urandom(12)
        d.send(message(BINDING, txn, []))
        mtype, rtxn, _ = parse(d.recv())
        ok(mtype == BINDING | SUCCESS and rtxn == txn, "... and still answers requests")

        # The client restarts on the same port without a close_notify.
        d.s.close()
        d2 = Dtls(server, d.port)
        took = d2.handshake()
        ok(took is not None,
           f"a new client on the same port: handshake done at once ({took or 0:.2f} s; "
           "tcp-idle-timeout 60 s)")
        mtype, attrs, relayed2 = allocate(d2) if took is not None else (None, {}, None)
        ok(mtype == ALLOCATE | SUCCESS,
           f"... the old allocation is gone: a new Allocate succeeds ({error_code(attrs) or 'ok'})")
        if relayed2:
            d2.request(PERMISSION, [attr(A_PEER, xor_addr(*peer.getsockname()))])
        ok(relayed2 and relays(d2, peer, relayed2, b"second"), "... and the new session relays")
    finally:
        text = stop(srv, args.log)
    ok("began a new session: the old one is closed" in text, "the reconnect is logged")
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

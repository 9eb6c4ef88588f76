#!/usr/bin/env python3
"""proxy.py - PROXY protocol on the TCP and TLS listeners (issue 10):
turnpiked trusts 127.0.0.1 as a load balancer (proxy-protocol), so the
client address a v1 or v2 header names is the one it sees (XOR-MAPPED-
ADDRESS, the per-source limit); a trusted connection without a valid header
is closed, and a header from an untrusted address is not taken.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import os
import socket
import ssl
import struct
import sys
import time

from turnlib import MAGIC, arguments, message, ok, parse, start, stop

BINDING = 0x001
A_XOR_MAPPED = 0x20


def v1(ip, port):
    fam = "TCP6" if ":" in ip else "TCP4"
    return f"PROXY {fam} {ip} 127.0.0.1 {port} 3478\r\n".encode()


def v2(ip, port):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    if ":" in ip:
        body = socket.inet_pton(socket.AF_INET6, ip) + socket.inet_pton(socket.AF_INET6, "::1")
        return sig + bytes([0x21, 0x21]) + struct.pack("!H", 36) + body + struct.pack(
            "!HH", port, 3478)
    body = socket.inet_aton(ip) + socket.inet_aton("127.0.0.1")
    return sig + bytes([0x21, 0x11]) + struct.pack("!H", 12) + body + struct.pack("!HH", port,
                                                                                 3478)


def mapped(v, txn):
    port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    key = struct.pack("!I", MAGIC) + txn
    if v[1] == 1:
        return f"{socket.inet_ntoa(bytes(a ^ b for a, b in zip(v[4:8], key)))}:{port}"
    raw = bytes(a ^ b for a, b in zip(v[4:20], key))
    return f"[{socket.inet_ntop(socket.AF_INET6, raw)}]:{port}"


def binding_over(s):
    """A Binding on the stream s; returns the mapped address, or None when
    the server closed it."""
    txn = os.urandom(12)
    try:
        s.sendall(message(BINDING, txn, []))
        buf = b""
        while len(buf) < 20 or len(buf) < 20 + struct.unpack("!H", buf[2:4])[0]:
            data = s.recv(4096)
            if not data:
                return None
            buf += data
    except OSError:
        return None
    _, _, attrs = parse(buf)
    return mapped(attrs[A_XOR_MAPPED], txn) if A_XOR_MAPPED in attrs else None


def connect(port, src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    return s


def closed(s, within=3.0):
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def main():
    args = arguments(("--tls-port", {"type": int, "required": True}),
                     ("--cert", {"required": True}), ("--key", {"required": True}))
    cmd = [args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port", str(args.port),
           "--relay-threads", "1", "--proxy-protocol", "127.0.0.1",
           "--max-tcp-unauthenticated-per-source", "2", "--tls-handshake-timeout", "2",
           "--cert", args.cert, "--pkey", args.key, "--tls-listening-port", str(args.tls_port)]
    srv = start(cmd, args.log)
    time.sleep(0.5)
    try:
        s = connect(args.port)
        s.sendall(v1("203.0.113.7", 40000))
        ok(binding_over(s) == "203.0.113.7:40000", "v1 header: the client is 203.0.113.7:40000")
        s2 = connect(args.port)
        s2.sendall(v2("2001:db8::7", 40001))
        ok(binding_over(s2) == "[2001:db8::7]:40001",
           "v2 header (IPv6): the client is [2001:db8::7]:40001")
        # TLS after the header.
        raw = connect(args.tls_port)
        raw.sendall(v2("198.51.100.9", 40002))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            t = ctx.wrap_socket(raw)
            ok(binding_over(t) == "198.51.100.9:40002",
               f"TLS after a v2 header: the client is 198.51.100.9:40002 ({t.version()})")
            t.close()
        except (OSError, ssl.SSLError) as e:
            ok(False, f"TLS after a v2 header ({e!r})")
        # TLS after a v1 header on the plain port too (the first byte after
        # the header decides), with ALPN stun.turn (RFC 7443).
        raw = connect(args.port)
        raw.sendall(v1("198.51.100.10", 40003))
        ctx.set_alpn_protocols(["stun.turn"])
        try:
            t = ctx.wrap_socket(raw)
            ok(binding_over(t) == "198.51.100.10:40003" and
               t.selected_alpn_protocol() == "stun.turn",
               f"TLS after a v1 header on listening-port: the client is 198.51.100.10:40003, "
               f"ALPN {t.selected_alpn_protocol()}")
            t.close()
        except (OSError, ssl.SSLError) as e:
            ok(False, f"TLS after a v1 header on listening-port ({e!r})")
        # The per-source share counts the named client, not the balancer.
        held = [connect(args.port) for _ in range(3)]
        for h in held:
            h.sendall(v1("203.0.113.50", 1))
        time.sleep(0.3)
        ok(not closed(held[0], 0.3) and not closed(held[1], 0.3) and closed(held[2]),
           "two unauthenticated connections for 203.0.113.50, its third closed")
        other = connect(args.port)
        other.sendall(v1("203.0.113.51", 1))
        ok(binding_over(other) == "203.0.113.51:1",
           "while another client behind the same balancer is served")
        # No header, a bad one, or silence: closed.
        s3 = connect(args.port)
        ok(binding_over(s3) is None, "from the balancer, a Binding without a header is closed")
        s4 = connect(args.port)
        s4.sendall(b"PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n")
        ok(closed(s4), "a malformed v1 header is closed")
        s5 = connect(args.port)
        t0 = time.time()
        ok(closed(s5, 4) and 1.5 < time.time() - t0 < 3.5,
           f"a balancer connection that sends nothing is closed at the deadline "
           f"({time.time() - t0:.1f} s)")
        # Not from a balancer: a header is not taken.
        u = connect(args.port, "127.0.0.2")
        u.sendall(v1("203.0.113.99", 9))
        ok(binding_over(u) is None, "a header from an untrusted address closes the connection")
        u2 = connect(args.port, "127.0.0.2")
        ok(binding_over(u2) == f"127.0.0.2:{u2.getsockname()[1]}",
           "an untrusted address without a header is served as itself")
    finally:
        text = stop(srv, args.log)
    ok("no valid PROXY protocol header" in text, "the refusals are logged with the reason")
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

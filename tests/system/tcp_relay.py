#!/usr/bin/env python3
"""tcp_relay.py - RFC 6062 TCP relay (issue 10): Allocate with
REQUESTED-TRANSPORT TCP over a TCP control connection, Connect to a TCP
echo peer, ConnectionBind on a second connection and data both ways (a
megabyte, through the backpressure bound); a peer connecting to the relayed
address with a permission gets a ConnectionAttempt, without one is shut
out; Connect to 0.0.0.0, [::] and the server's own port refused (403); a
second Connect to the same peer 446; a connection id left unbound for 30 s
dropped (the peer sees the close, a late ConnectionBind gets 400); TCP
asked for over UDP 442. The server runs four workers, so binds reach
workers other than the one holding the id. Over TLS (control and data
connections on tls-listening-port) a ConnectionBind that reaches another
worker moves there with its TLS session and the bytes sent right behind it;
a bounded stream goes through intact both ways.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

from turnlib import (ALLOCATE, ERROR, INDICATION, PERMISSION, REALM, SUCCESS, A_ERROR,
                     A_LIFETIME, A_NONCE, A_PEER, A_RELAYED, A_TRANSPORT, MAGIC, PASSWORD, USER,
                     Dgram, Stream, arguments, attr, error_code, message, ok, start, stop,
                     unxor_addr)

CONNECT, BIND, ATTEMPT = 0x00A, 0x00B, 0x00C
A_CONNID, A_FAMILY = 0x002A, 0x0017
TCP = b"\x06\0\0\0"


def xor6(ip, port, txn):
    key = struct.pack("!I", MAGIC) + txn
    raw = socket.inet_pton(socket.AF_INET6, ip)
    return struct.pack("!BBH", 0, 2, port ^ (MAGIC >> 16)) + bytes(a ^ b for a, b in
                                                                      zip(raw, key))


def xor4(ip, port, _txn=None):
    raw = socket.inet_aton(ip)
    x = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", MAGIC)))
    return struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + x


class Control(Stream):
    """A TCP connection speaking STUN, keeping its nonce."""

    def __init__(self, port, src_port=0):
        super().__init__(port, src_port)
        self.nonce = None
        self.pending = []  # indications read while waiting for an answer

    def request(self, method, attrs, txn=None):
        for _ in range(2):
            t = txn or os.urandom(12)
            self.send(message(method, t, attrs(t) if callable(attrs) else attrs, self.nonce))
            while True:
                mtype, rtxn, rattrs = self.recv()
                if rtxn == t:
                    break
                self.pending.append((mtype, rattrs))
            if mtype & 0x110 == ERROR and error_code(rattrs) in (401, 438) and \
               A_NONCE in rattrs and self.nonce != rattrs[A_NONCE]:
                self.nonce = rattrs[A_NONCE]
                continue
            return mtype, rattrs
        return mtype, rattrs

    def indication(self, timeout=3):
        if self.pending:
            return self.pending.pop(0)
        self.s.settimeout(timeout)
        try:
            mtype, _, attrs = self.recv()
        finally:
            self.s.settimeout(5)
        return mtype, attrs


class TlsControl(Control):
    """A Control over TLS (the test certificate is not verified)."""

    def __init__(self, port, src_port=0, proxy=None):
        super().__init__(port, src_port)
        if proxy:  # a balancer's PROXY header, then TLS
            self.s.sendall(proxy)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.s = ctx.wrap_socket(self.s)


def allocate_tcp(port, family=None, cls=None):
    c = (cls or Control)(port)
    extra = [attr(A_FAMILY, b"\x02\0\0\0")] if family == 6 else []
    mtype, attrs = c.request(ALLOCATE, [attr(A_TRANSPORT, TCP),
                                        attr(A_LIFETIME, struct.pack("!I", 600))] + extra)
    return c, mtype, attrs


def connect(c, ip, port, six=False):
    mk = xor6 if six else xor4
    mtype, attrs = c.request(CONNECT, lambda t: [attr(A_PEER, mk(ip, port, t))])
    cid = attrs.get(A_CONNID)
    return mtype, attrs, cid


def bind(port, cid, cls=None):
    d = (cls or Control)(port)
    mtype, attrs = d.request(BIND, [attr(A_CONNID, cid)])
    return d, mtype, attrs


class Echo:
    """A TCP echo peer on 127.0.0.1; records whether a connection ended."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.closed = 0
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(s,), daemon=True).start()

    def serve(self, s):
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                s.sendall(b)
        except OSError:
            pass
        self.closed += 1
        s.close()


def exchange(sock, payload, timeout=10):
    """Sends payload while reading the echo back; returns what came back."""
    got = bytearray()
    t = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
    sock.settimeout(timeout)
    t.start()
    try:
        while len(got) < len(payload):
            b = sock.recv(65536)
            if not b:
                break
            got += b
    except OSError:
        pass
    t.join(timeout)
    return bytes(got)


def pump(sock, out, want, got=b"", timeout=10):
    """Sends out while reading until want bytes came back, then reads for
    0.3 s more (nothing more may come); all on one thread, as an SSL object
    must not be used by two at once. Returns what came back."""
    got = bytearray(got)
    sock.setblocking(False)
    end = time.monotonic() + timeout
    quiet = None
    while time.monotonic() < end:
        if not out and len(got) >= want:
            quiet = quiet or time.monotonic() + 0.3
            if time.monotonic() > quiet:
                break
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
        r, w, _ = select.select([sock], [sock] if out else [], [], 0 if pending else 0.1)
        try:
            if r or pending:
                b = sock.recv(65536)
                if not b:
                    break
                got += b
            if w and out:
                out = out[sock.send(out[:16384]):]
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            pass
        except OSError:
            break
    sock.settimeout(5)
    return bytes(got)


def leftover(d):
    """Data bytes that arrived behind the ConnectionBind answer."""
    b, d.buf = d.buf, b""
    return b


def scenario_connect(port, echo):
    c, mtype, attrs = allocate_tcp(port)
    ok(mtype == ALLOCATE | SUCCESS, f"Allocate with REQUESTED-TRANSPORT TCP succeeds ({mtype:#x})")
    mtype, attrs, cid = connect(c, "127.0.0.1", echo.port)
    ok(mtype == CONNECT | SUCCESS and cid and len(cid) == 4,
       f"Connect to the echo peer answers with a CONNECTION-ID ({mtype:#x})")
    mtype, attrs, _ = connect(c, "127.0.0.1", echo.port)
    ok(mtype == CONNECT | ERROR and error_code(attrs) == 446,
       f"a second Connect to the same peer: 446 ({error_code(attrs)})")
    if not cid:
        return
    d, mtype, attrs = bind(port, cid)
    ok(mtype == BIND | SUCCESS, f"ConnectionBind on a new connection succeeds ({mtype:#x})")
    first = leftover(d)
    d.s.sendall(b"hello")
    got = first
    d.s.settimeout(5)
    while len(got) < 5:
        b = d.s.recv(100)
        if not b:
            break
        got += b
    ok(got == b"hello", f"data goes to the peer and its echo comes back ({got!r})")
    blob = os.urandom(1 << 20)
    back = exchange(d.s, blob)
    ok(back == blob, f"a megabyte through the pipe both ways ({len(back)} bytes back intact)")
    # Several more binds: with four workers some land on another one.
    good = 0
    for _ in range(6):
        p = Echo()
        mtype, attrs, cid2 = connect(c, "127.0.0.1", p.port)
        if mtype != CONNECT | SUCCESS:
            continue
        e, mtype, _ = bind(port, cid2)
        if mtype == BIND | SUCCESS:
            got = leftover(e) + exchange(e.s, b"x" * 1000)
            good += got == b"x" * 1000
        e.s.close()
    ok(good == 6, f"six more Connect + ConnectionBind pairs relay, whichever worker ({good}/6)")
    d.s.close()
    c.s.close()


def scenario_attempt(port):
    c, mtype, attrs = allocate_tcp(port)
    relayed = unxor_addr(attrs[A_RELAYED]) if A_RELAYED in attrs else None
    ok(mtype == ALLOCATE | SUCCESS and relayed, f"a second TCP allocation ({relayed})")
    if not relayed:
        return
    # No permission yet: the relay takes the connection and closes it.
    p = socket.create_connection(relayed, timeout=3)
    p.settimeout(3)
    try:
        shut = p.recv(10) == b""
    except ConnectionResetError:
        shut = True
    except OSError:
        shut = False
    p.close()
    ok(shut, "a peer without a permission is shut out")
    mtype, _ = c.request(PERMISSION, [attr(A_PEER, xor4("127.0.0.1", 9))])
    ok(mtype == PERMISSION | SUCCESS, "CreatePermission for 127.0.0.1")
    p = socket.create_connection(relayed, timeout=3)
    try:
        mtype, iattrs = c.indication()
    except OSError as e:
        mtype, iattrs = None, {}
        print(f"# no indication: {e!r}")
    cid = iattrs.get(A_CONNID)
    peer = unxor_addr(iattrs[A_PEER]) if A_PEER in iattrs else None
    ok(mtype == ATTEMPT | INDICATION and cid and peer == p.getsockname(),
       f"a peer with a permission: ConnectionAttempt with its address ({peer})")
    if not cid:
        return
    p.sendall(b"early")  # before the bind: held until then
    d, mtype, _ = bind(port, cid)
    ok(mtype == BIND | SUCCESS, "ConnectionBind for the attempt succeeds")
    got = leftover(d)
    d.s.settimeout(5)
    while len(got) < 5:
        b = d.s.recv(100)
        if not b:
            break
        got += b
    ok(got == b"early", f"what the peer sent before the bind arrives ({got!r})")
    d.s.sendall(b"to-peer")
    p.settimeout(5)
    ok(p.recv(100) == b"to-peer", "and the client's data reaches the peer")
    p.close()
    d.s.settimeout(5)
    try:
        closed = d.s.recv(100) == b""
    except OSError:
        closed = True
    ok(closed, "the peer closing closes the data connection")
    d.s.close()
    c.s.close()


def scenario_refused(port):
    c, mtype, _ = allocate_tcp(port)
    for ip, pp, six, what in (("0.0.0.0", 9, False, "0.0.0.0"),
                              ("127.0.0.1", port, False, "the server's own port")):
        mtype, attrs, _ = connect(c, ip, pp, six)
        ok(mtype == CONNECT | ERROR and error_code(attrs) == 403,
           f"Connect to {what}: 403 ({error_code(attrs)})")
    c6, mtype, _ = allocate_tcp(port, family=6)
    ok(mtype == ALLOCATE | SUCCESS, "an IPv6 TCP allocation")
    mtype, attrs, _ = connect(c6, "::", 9, True)
    ok(mtype == CONNECT | ERROR and error_code(attrs) == 403,
       f"Connect to [::]: 403 ({error_code(attrs)})")
    mtype, attrs = c.request(BIND, [attr(A_CONNID, b"\0\0\0\x01")])
    ok(mtype == BIND | ERROR and error_code(attrs) == 400,
       f"ConnectionBind on the control connection, unknown id: 400 ({error_code(attrs)})")
    u = Dgram(port)
    u.send(message(ALLOCATE, os.urandom(12), [attr(A_TRANSPORT, TCP)]))
    _, _, attrs = u.recv()
    nonce = attrs.get(A_NONCE)
    txn = os.urandom(12)
    u.send(message(ALLOCATE, txn, [attr(A_TRANSPORT, TCP)], nonce))
    _, _, attrs = u.recv()
    ok(error_code(attrs) == 442, f"TCP asked for over UDP: 442 ({error_code(attrs)})")
    c.s.close()
    c6.s.close()


def moved_tls(log):
    """How many TLS connections the server's workers took over."""
    with open(log) as f:
        return f.read().count("takes a TLS connection over for its ConnectionBind")


def bind_pipelined(tls_port, cid, blob, proxy=None):
    """ConnectionBind with the data right behind it, in the same TLS record
    and in more records before any answer is read: learns a nonce for a
    source first (nonces are per address and port), then binds from it at
    once: the same port, or behind a balancer the same PROXY header.
    Returns (answer type, bytes echoed back)."""
    d0 = TlsControl(tls_port, proxy=proxy)
    port = d0.s.getsockname()[1]
    d0.send(message(BIND, os.urandom(12), [attr(A_CONNID, cid)]))
    try:
        _, _, attrs = d0.recv()
    except (OSError, EOFError) as e:
        print(f"# no answer to the first ConnectionBind: {e!r}")
        return None, b""
    nonce = attrs.get(A_NONCE)
    d0.reset()  # RST: the port is free again at once
    d = TlsControl(tls_port, src_port=0 if proxy else port, proxy=proxy)
    txn = os.urandom(12)
    head = 16000 - 200  # with the request, one TLS record
    d.send(message(BIND, txn, [attr(A_CONNID, cid)], nonce) + blob[:head])
    try:
        mtype, rtxn, _ = d.recv()
    except (OSError, EOFError):
        mtype, rtxn = None, None
    got = pump(d.s, blob[head:], len(blob), leftover(d))
    d.s.close()
    return (mtype if rtxn == txn else None), bytes(got)


def scenario_tls(tls_port, log):
    c, mtype, _ = allocate_tcp(tls_port, cls=TlsControl)
    ok(mtype == ALLOCATE | SUCCESS, f"a TCP allocation over TLS ({mtype:#x})")
    before = moved_tls(log)
    good_dance = good_pipe = tries = 0
    for i in range(12):
        p = Echo()
        mtype, _, cid = connect(c, "127.0.0.1", p.port)
        if mtype != CONNECT | SUCCESS:
            continue
        tries += 1
        blob = os.urandom(200_000)
        if i % 2:
            # The 401 dance on the data connection, wherever it moved.
            d, mtype, _ = bind(tls_port, cid, cls=TlsControl)
            back = pump(d.s, blob, len(blob), leftover(d)) if mtype == BIND | SUCCESS else b""
            good_dance += back == blob
            d.s.close()
        else:
            mtype, back = bind_pipelined(tls_port, cid, blob)
            good_pipe += mtype == BIND | SUCCESS and back == blob
    ok(tries == 12 and good_dance == 6,
       f"TLS ConnectionBind after a 401: 200 kB both ways intact ({good_dance}/6)")
    ok(tries == 12 and good_pipe == 6,
       "TLS ConnectionBind with data right behind it: one answer, then 200 kB both ways "
       f"intact ({good_pipe}/6)")
    n = moved_tls(log) - before
    ok(n >= 1, f"TLS connections moved to the worker holding their id ({n})")
    c.s.close()


def scenario_tls_proxied(args):
    """Behind a balancer (proxy-protocol): TLS starts after the PROXY
    header, over an OpenSSL filter; pipelined binds move the same way."""
    log = args.log + ".proxied"
    tls = args.tls_port2
    srv = start([args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port",
                 str(args.port2), "--relay-ip", "127.0.0.1", "--relay-threads", "4",
                 "--realm", REALM, "--user", f"{USER}:{PASSWORD}", "--allow-loopback-peers",
                 "--min-port", "30000", "--max-port", "39999", "--log-level", "debug",
                 "--cert", args.cert, "--pkey", args.key, "--tls-listening-port", str(tls),
                 "--proxy-protocol", "127.0.0.1"], log)
    time.sleep(0.4)

    def header(ip, port):
        return f"PROXY TCP4 {ip} 127.0.0.1 {port} {tls}\r\n".encode()

    try:
        c = TlsControl(tls, proxy=header("198.51.100.1", 40000))
        mtype, _ = c.request(ALLOCATE, [attr(A_TRANSPORT, TCP),
                                        attr(A_LIFETIME, struct.pack("!I", 600))])
        ok(mtype == ALLOCATE | SUCCESS, f"behind a balancer: a TCP allocation over TLS ({mtype:#x})")
        good = tries = 0
        for i in range(8):
            p = Echo()
            mtype, _, cid = connect(c, "127.0.0.1", p.port)
            if mtype != CONNECT | SUCCESS:
                continue
            tries += 1
            blob = os.urandom(200_000)
            mtype, back = bind_pipelined(tls, cid, blob, header("198.51.100.2", 41000 + i))
            good += mtype == BIND | SUCCESS and back == blob
        ok(tries == 8 and good == 8,
           f"behind a balancer: TLS ConnectionBind with data right behind it, 200 kB both ways "
           f"intact ({good}/8)")
        n = moved_tls(log)
        ok(n >= 1, f"behind a balancer: TLS connections moved to the worker holding their id ({n})")
        c.s.close()
    finally:
        stop(srv, log)


def main():
    args = arguments(("--tls-port", {"type": int, "required": True}),
                     ("--port2", {"type": int, "required": True}),
                     ("--tls-port2", {"type": int, "required": True}),
                     ("--cert", {"required": True}), ("--key", {"required": True}))
    srv = start([args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port",
                 str(args.port), "--relay-ip", "127.0.0.1", "--relay-ip", "::1",
                 "--relay-threads", "4", "--realm", REALM, "--user", f"{USER}:{PASSWORD}",
                 "--allow-loopback-peers", "--min-port", "20000", "--max-port", "29999",
                 "--log-level", "debug", "--cert", args.cert, "--pkey", args.key,
                 "--tls-listening-port", str(args.tls_port)], args.log)
    time.sleep(0.4)
    try:
        # Started first, checked last: the id left unbound for 30 s.
        late = Echo()
        lc, mtype, _ = allocate_tcp(args.port)
        mtype, _, late_cid = connect(lc, "127.0.0.1", late.port)
        t0 = time.monotonic()
        ok(mtype == CONNECT | SUCCESS, "a Connect left unbound")
        echo = Echo()
        scenario_connect(args.port, echo)
        scenario_attempt(args.port)
        scenario_refused(args.port)
        scenario_tls(args.tls_port, args.log)
        scenario_tls_proxied(args)
        for _ in range(400):  # at most 40 s
            if late.closed or time.monotonic() - t0 > 36:
                break
            time.sleep(0.1)
        waited = time.monotonic() - t0
        ok(late.closed and waited >= 29,
           f"the unbound connection to the peer is closed after {waited:.1f} s")
        if late_cid:
            _, mtype, attrs = bind(args.port, late_cid)
            ok(mtype == BIND | ERROR and error_code(attrs) == 400,
               f"a ConnectionBind for the dropped id: 400 ({error_code(attrs)})")
        lc.s.close()
    finally:
        stop(srv, args.log)
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

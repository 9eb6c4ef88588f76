#!/usr/bin/env python3
"""reload.py - SIGHUP reloads (issue 13): with two workers, a live UDP
allocation relays both ways without a single loss while the file rotates
the REST secret (old and new, then new only), removes a user, changes
denied-peer-ip / allowed-peer-ip, user-quota, max-bps, alternate-server and
rest-api-key; new requests see each new value at once; a broken file is
refused with one log line and changes nothing.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import base64
import hashlib
import hmac
import os
import signal
import socket
import struct
import threading
import time
import urllib.error
import urllib.request

from turnlib import (ALLOCATE, ERROR, PERMISSION, SEND, DATA, SUCCESS, A_DATA, A_MI, A_NONCE,
                     A_PEER, A_REALM, A_RELAYED, A_TRANSPORT, A_LIFETIME, A_USERNAME, MAGIC,
                     REALM, arguments, attr, error_code, ok, parse, start, stop, unxor_addr,
                     xor_addr)

OLD, NEW = "old-rest-secret-0123", "new-rest-secret-4567"
KEY1, KEY2 = "first-api-key-0123456789", "second-api-key-0123456789"


def signed(mtype, attrs, user, password, nonce):
    txn = os.urandom(12)
    body = b"".join(attrs) + attr(A_USERNAME, user.encode()) + attr(A_REALM, REALM.encode())
    body += attr(A_NONCE, nonce)
    key = hashlib.md5(f"{user}:{REALM}:{password}".encode()).digest()
    hdr = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + txn
    body += attr(A_MI, hmac.new(key, hdr + body, hashlib.sha1).digest())
    return struct.pack("!HHI", mtype, len(body), MAGIC) + txn + body


class Client:
    """One UDP client 5-tuple with its credentials."""

    def __init__(self, port, user, password):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(2)
        self.to = ("127.0.0.1", port)
        self.user, self.password, self.nonce = user, password, b"x"

    def ask(self, mtype, attrs):
        """A signed request (a fresh nonce on 401/438); the answer's type,
        attributes and error code."""
        for _ in range(3):
            self.s.sendto(signed(mtype, attrs, self.user, self.password, self.nonce), self.to)
            while True:
                t, _, a = parse(self.s.recv(4096))
                if t & 0x110 != 0x010:  # skip indications
                    break
            code = error_code(a)
            if code in (401, 438) and A_NONCE in a and a[A_NONCE] != self.nonce:
                self.nonce = a[A_NONCE]
                continue
            return t, a, code
        return t, a, code

    def allocate(self):
        t, a, code = self.ask(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0"),
                                         attr(A_LIFETIME, struct.pack("!I", 600))])
        self.relayed = unxor_addr(a[A_RELAYED]) if t == ALLOCATE | SUCCESS else None
        return code or 0, a

    def permit(self, ip):
        return self.ask(PERMISSION, [attr(A_PEER, xor_addr(ip, 9))])[2] or 0


def rest_user(secret, name="carol"):
    user = f"{int(time.time()) + 3600}:{name}"
    return user, base64.b64encode(hmac.new(secret.encode(), user.encode(),
                                            hashlib.sha1).digest()).decode()


class Live(threading.Thread):
    """Ping-pong through one allocation: client → Send → peer, peer →
    relayed address → Data → client. Counts round trips and losses."""

    def __init__(self, c, peer):
        super().__init__(daemon=True)
        self.c, self.peer = c, peer
        self.stop, self.trips, self.lost = threading.Event(), 0, 0

    def run(self):
        pip, pport = self.peer.getsockname()
        t_end = time.time() + 90
        for i in range(200000):
            if self.stop.is_set() or time.time() > t_end:
                break
            payload = b"live-%08d" % i
            ind = struct.pack("!HHI", SEND | 0x010, 0, MAGIC) + os.urandom(12)
            body = attr(A_PEER, xor_addr(pip, pport)) + attr(A_DATA, payload)
            ind = ind[:2] + struct.pack("!H", len(body)) + ind[4:] + body
            try:
                self.c.s.sendto(ind, self.c.to)
                data, src = self.peer.recvfrom(4096)
                if data != payload:
                    self.lost += 1
                    continue
                self.peer.sendto(b"back-%08d" % i, src)
                while True:
                    t, _, a = parse(self.c.s.recv(4096))
                    if t == DATA | 0x010:
                        break
                if a.get(A_DATA) != b"back-%08d" % i:
                    self.lost += 1
                    continue
                self.trips += 1
            except (socket.timeout, OSError):
                self.lost += 1
            time.sleep(0.002)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http_status(hport, key):
    url = (f"http://127.0.0.1:{hport}/api/v1/turn/credentials?service=turn&username=dan"
           f"&key={key}")
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    args = arguments()
    hport = free_port()
    conf = args.log + ".conf"
    base = [f"listening-ip=127.0.0.1", f"listening-port={args.port}", "relay-threads=2",
            f"realm={REALM}", "allow-loopback-peers", "use-auth-secret",
            f"http-listen=127.0.0.1:{hport}", "log-level=info", "user=alice:wonderland"]

    def write(*extra):
        with open(conf, "w") as f:
            f.write("\n".join(base + list(extra)) + "\n")

    def reload(what):
        before = open(args.log).read().count("configuration reloaded")
        srv.send_signal(signal.SIGHUP)
        for _ in range(100):
            text = open(args.log).read()
            if text.count("configuration reloaded") > before or "reload: " in text[-2000:] \
                    and "keeping the running" in text[-2000:]:
                break
            time.sleep(0.05)
        # The policy and server lists are swapped at once; nothing to wait for.
        time.sleep(0.1)

    write(f"static-auth-secret={OLD}", "user=bob:builder", "denied-peer-ip=127.0.0.3",
          f"rest-api-key={KEY1}")
    srv = start([args.turnpiked, "-c", conf], args.log)
    try:
        for _ in range(100):
            try:
                if Client(args.port, "alice", "wonderland").allocate()[0] == 0:
                    break
            except (socket.timeout, OSError):
                pass
            time.sleep(0.1)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.settimeout(2)
        live = Client(args.port, "alice", "wonderland")
        ok(live.allocate()[0] == 0 and live.permit("127.0.0.1") == 0,
           "the live allocation is made, with a permission for its peer")
        relay = Live(live, peer)
        relay.start()
        time.sleep(0.5)

        u, p = rest_user(OLD)
        ok(Client(args.port, u, p).allocate()[0] == 0, "before: the old REST secret works")
        ok(Client(args.port, "bob", "builder").allocate()[0] == 0, "before: bob may allocate")
        c = Client(args.port, "alice", "wonderland")
        ok(c.allocate()[0] == 0 and c.permit("127.0.0.2") == 0,
           "before: a second allocation for alice; 127.0.0.2 is a permitted peer")
        ok(c.permit("127.0.0.3") == 403, "before: denied-peer-ip 127.0.0.3 gets 403")
        ok(http_status(hport, KEY1) == 200, "before: the REST hook takes API key 1")

        # 1: old and new secret; bob gone; 127.0.0.2 denied, .3 allowed;
        # user-quota 1; max-bps; API key 2 instead of 1.
        write(f"static-auth-secret={OLD}", f"static-auth-secret={NEW}",
              "denied-peer-ip=127.0.0.2", "denied-peer-ip=127.0.0.3", "allowed-peer-ip=127.0.0.3",
              "user-quota=1", "max-bps=4096", f"rest-api-key={KEY2}")
        reload("first")
        u, p = rest_user(OLD, "erin")
        ok(Client(args.port, u, p).allocate()[0] == 0, "both secrets: the old one still works")
        u2, p2 = rest_user(NEW, "frank")
        rc = Client(args.port, u2, p2)
        ok(rc.allocate()[0] == 0, "both secrets: the new one works")
        ok(Client(args.port, "bob", "builder").allocate()[0] == 401, "a removed user gets 401")
        ok(c.permit("127.0.0.2") == 403, "a newly denied peer gets 403")
        ok(c.permit("127.0.0.3") == 0, "a newly allowed peer is permitted")
        code = Client(args.port, "alice", "wonderland").allocate()[0]
        ok(code == 486, f"user-quota 1: another allocation for alice gets 486 ({code})")
        # max-bps 4096 on a new allocation: a burst of 30 x 1000 bytes is cut.
        ok(rc.permit("127.0.0.1") == 0, "the new allocation permits the peer")
        pip, pport = peer.getsockname()
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(0.5)
        spip, spport = sink.getsockname()
        for i in range(30):
            body = attr(A_PEER, xor_addr(spip, spport)) + attr(A_DATA, b"z" * 1000)
            rc.s.sendto(struct.pack("!HHI", SEND | 0x010, len(body), MAGIC) + os.urandom(12)
                        + body, rc.to)
        got = 0
        try:
            while got < 30:
                sink.recv(2048)
                got += 1
        except socket.timeout:
            pass
        ok(0 < got < 15, f"max-bps 4096: a new allocation relays {got} of a 30 kB burst")
        ok(http_status(hport, KEY2) == 200, "the new API key works")
        code = http_status(hport, KEY1)
        ok(code in (401, 403), f"the old API key is refused ({code})")

        # 2: the old secret removed; alternate-server on.
        write(f"static-auth-secret={NEW}", "alternate-server=127.0.0.9:3478",
              f"rest-api-key={KEY2}")
        reload("second")
        u, p = rest_user(OLD, "gina")
        ok(Client(args.port, u, p).allocate()[0] == 401, "old secret removed: 401")
        u, p = rest_user(NEW, "hank")
        t, a = Client(args.port, u, p).allocate()
        ok(t == 300 and a.get(0x8023), f"alternate-server: a new Allocate gets 300 ({t})")

        # 3: a broken file changes nothing.
        with open(conf, "a") as f:
            f.write("no-such-option-here=1\n")
        before = open(args.log).read().count("keeping the running configuration")
        reload("broken")
        text = open(args.log).read()
        ok(text.count("keeping the running configuration") == before + 1,
           "a broken file is refused in one log line")
        t, a = Client(args.port, u, p).allocate()
        ok(t == 300, "after the broken file: the alternate-server still applies")
        ok(http_status(hport, KEY2) == 200, "after the broken file: the API key still works")

        time.sleep(1)
        relay.stop.set()
        relay.join(10)
        ok(relay.trips > 100 and relay.lost == 0,
           f"the live allocation relayed {relay.trips} round trips across 3 reloads, "
           f"{relay.lost} lost")
        for name in ("static-auth-secret", "user", "denied-peer-ip", "user-quota", "max-bps",
                     "alternate-server", "rest-api-key"):
            ok(f"config: {name} changed; it takes effect after a restart" not in text,
               f"{name} is reloaded, not deferred to a restart")
    finally:
        text = stop(srv, args.log)
    return ok.finish()


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""ctl_sessions.py - live administration (issue 13): turnpikectl sessions
lists the live allocations of a 2-worker server (users, transports, traffic
each way), --user filters, kill ID ends exactly that one (the client's next
Refresh gets 437, the end line says admin), kill --user ends all of a
user's; wrong or missing admin keys are refused (401/403, logged without
the key). Then a fleet of two servers on one Redis: sessions shows both
servers' allocations, kill reaches the other server; with Redis stopped,
the local HTTP path still works. Metrics carry the address family.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import hashlib
import hmac
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

from turnlib import (A_DATA, A_ERROR, A_LIFETIME, A_NONCE, A_PEER, A_REALM, A_RELAYED,
                     A_TRANSPORT, A_USERNAME, A_MI, ALLOCATE, ERROR, MAGIC, PERMISSION,
                     REFRESH, SEND, SUCCESS, INDICATION, arguments, attr, ok, parse, start, stop,
                     unxor_addr, xor_addr)

REALM = "example.org"
KEY = "admin-key-0123456789abcdef"
USERS = {"alice": "wonderland", "bob": "builder", "carol": "singer", "dave": "diver"}
INDICATION_DATA = 0x0017


class Client:
    """One allocation with its own credentials, over UDP or TCP."""

    def __init__(self, port, user, tcp=False):
        self.user, self.password, self.tcp = user, USERS[user], tcp
        if tcp:
            self.s = socket.create_connection(("127.0.0.1", port), timeout=3)
            self.buf = b""
        else:
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.bind(("127.0.0.1", 0))
            self.s.settimeout(3)
            self.s.connect(("127.0.0.1", port))
        self.nonce = None

    def send(self, data):
        self.s.sendall(data) if self.tcp else self.s.send(data)

    def recv_one(self):
        if not self.tcp:
            return parse(self.s.recv(65536))
        while True:
            if len(self.buf) >= 4:
                need = 20 + struct.unpack("!H", self.buf[2:4])[0]
                need += -need % 4
                if len(self.buf) >= need:
                    msg, self.buf = self.buf[:need], self.buf[need:]
                    return parse(msg[:20 + struct.unpack("!H", msg[2:4])[0]])
            data = self.s.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data

    def recv(self):
        """The next answer, past Data indications from the peer."""
        while True:
            mtype, txn, attrs = self.recv_one()
            if mtype != INDICATION_DATA:
                return mtype, txn, attrs

    def msg(self, mtype, attrs, signed=True):
        txn = os.urandom(12)
        body = b"".join(attrs)
        if signed:
            body += attr(A_USERNAME, self.user.encode()) + attr(A_REALM, REALM.encode())
            body += attr(A_NONCE, self.nonce)
            key = hashlib.md5(f"{self.user}:{REALM}:{self.password}".encode()).digest()
            hdr = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + txn
            body += attr(A_MI, hmac.new(key, hdr + body, hashlib.sha1).digest())
        return struct.pack("!HHI", mtype, len(body), MAGIC) + txn + body

    def ask(self, mtype, attrs):
        """A request; answers a 438 (stale nonce) once. Returns (class, attrs)."""
        for _ in range(2):
            self.send(self.msg(mtype, attrs))
            t, _, a = self.recv()
            if t == mtype | ERROR and a.get(A_ERROR, b"\0\0\0\0")[2:4] == b"\x04\x26":
                self.nonce = a[A_NONCE]
                continue
            return t, a
        return t, a

    def allocate(self):
        self.send(self.msg(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0")], signed=False))
        _, _, a = self.recv()
        self.nonce = a[A_NONCE]
        t, a = self.ask(ALLOCATE, [attr(A_TRANSPORT, b"\x11\0\0\0"),
                                   attr(A_LIFETIME, struct.pack("!I", 600))])
        self.relayed = unxor_addr(a[A_RELAYED]) if t == ALLOCATE | SUCCESS else None
        return self.relayed is not None

    def traffic(self, peer, n):
        """Permission for the peer, then n datagrams to it."""
        t, _ = self.ask(PERMISSION, [attr(A_PEER, xor_addr(*peer.getsockname()))])
        for i in range(n):
            self.send(self.msg(SEND | INDICATION, [attr(A_PEER, xor_addr(*peer.getsockname())),
                                      attr(A_DATA, b"hello %d" % i)], signed=False))
        return t == PERMISSION | SUCCESS

    def refresh(self):
        """The answer to a Refresh: 0 for success, else the error code."""
        try:
            t, a = self.ask(REFRESH, [attr(A_LIFETIME, struct.pack("!I", 600))])
        except (OSError, EOFError) as e:
            return f"no answer ({e})"
        if t == REFRESH | SUCCESS:
            return 0
        e = a.get(A_ERROR)
        return e[2] * 100 + e[3] if e else t


def echo(peer, want, secs=3):
    """Echoes what reaches the peer back to where it came from."""
    got, end = 0, time.time() + secs
    peer.settimeout(0.2)
    while got < want and time.time() < end:
        try:
            data, src = peer.recvfrom(65536)
        except socket.timeout:
            continue
        peer.sendto(data, src)
        got += 1
    return got


def ctl(argv, *args):
    r = subprocess.run([argv.ctl, *args], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def sessions_json(out):
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def http_status(port, path, key=None, data=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    if key:
        req.add_header("Authorization", "Bearer " + key)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def metric(port, name, labels):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(f"turnpike_{name}{{{labels}}} "):
                return float(line.split()[-1])
    return None


def server(args, name, port, http, minp, extra):
    cmd = [args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port", str(port),
           "--relay-threads", "2", "--realm", REALM, "--allow-loopback-peers",
           "--relay-ip", "127.0.0.1", "--min-port", str(minp), "--max-port", str(minp + 99),
           "--http-listen", f"127.0.0.1:{http}", "--admin-api-key", KEY, *extra]
    for u, p in USERS.items():
        cmd += ["--user", f"{u}:{p}"]
    log = f"{args.log}.{name}"
    srv = start(cmd, log)
    end = time.time() + 10
    while time.time() < end and srv.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=1):
                return srv, log
        except OSError:
            time.sleep(0.1)
    ok(False, f"turnpiked ({name}) serves: " + open(log).read()[-300:].strip())
    stop(srv, log)
    return None, log


def local(args, peer):
    port, http = args.port, args.http_ports[0]
    srv, log = server(args, "local", port, http, 43000, [])
    if not srv:
        return
    held = {"a1": Client(port, "alice"), "a2": Client(port, "alice"),
            "at": Client(port, "alice", tcp=True), "b1": Client(port, "bob"),
            "bt": Client(port, "bob", tcp=True)}
    ok(all(c.allocate() for c in held.values()), "five allocations: alice 2 udp + tcp, bob udp + tcp")
    ok(all(c.traffic(peer, 3) for c in held.values()), "each sends 3 datagrams to the peer")
    ok(echo(peer, 15) == 15, "the peer got all 15 and echoed them")
    time.sleep(0.3)
    hp = f"127.0.0.1:{http}"

    rc, out, err = ctl(args, "sessions", "--http", hp, "--key", KEY, "--json")
    s = sessions_json(out)
    users = sorted(x["user"] for x in s)
    ok(rc == 0 and users == ["alice", "alice", "alice", "bob", "bob"],
       f"sessions lists the five with their users (rc {rc}, {users}) {err.strip()}")
    ok(sorted(x["transport"] for x in s) == ["tcp", "tcp", "udp", "udp", "udp"],
       "with their transports")
    ok(all(x["client_bytes"] > 0 and x["peer_bytes"] > 0 and x["client_packets"] == 3 for x in s),
       "and traffic each way: " + ", ".join(f'{x["client_packets"]}p/{x["client_bytes"]}B up, '
                                            f'{x["peer_packets"]}p/{x["peer_bytes"]}B down'
                                            for x in s[:2]))
    mine = {f"{c.s.getsockname()[0]}:{c.s.getsockname()[1]}": k for k, c in held.items()}
    ok(sorted(mine.get(x["client"], "?") for x in s) == sorted(held),
       "each client address is one of ours")
    ok(all(x["relay"] == "%s:%d" % held[mine[x["client"]]].relayed for x in s),
       "with its relayed address")
    rc, table, _ = ctl(args, "sessions", "--http", hp, "--key", KEY)
    rows = [l for l in table.splitlines()[1:] if l.strip()]
    ok(rc == 0 and table.startswith("ID") and len(rows) == 5 and
       all(any(l.startswith(x["id"]) for l in rows) for x in s),
       f"the table has a row per allocation ({len(rows)})")
    print("  " + table.splitlines()[0] + "\n  " + rows[0] if rows else "", flush=True)
    rc, out, _ = ctl(args, "sessions", "--http", hp, "--key", KEY, "--json", "--user", "bob")
    ok(rc == 0 and sorted(x["user"] for x in sessions_json(out)) == ["bob", "bob"],
       "--user bob lists bob's two")

    a1 = next(x["id"] for x in s if mine[x["client"]] == "a1")
    rc, out, err = ctl(args, "kill", a1, "--http", hp, "--key", KEY)
    ok(rc == 0 and "ended: 1" in out, f"kill ID ends one ({out.strip()!r}, rc {rc})")
    got = held["a1"].refresh()
    ok(got == 437, f"its client's next Refresh gets 437 ({got})")
    ok(held["a2"].refresh() == 0 and held["at"].refresh() == 0,
       "alice's other two refresh fine")
    rc, out, _ = ctl(args, "kill", a1, "--http", hp, "--key", KEY)
    ok(rc == 1 and "ended: 0" in out, f"killing it again ends nothing, exit 1 ({rc})")
    rc, out, _ = ctl(args, "kill", "--user", "bob", "--http", hp, "--key", KEY)
    ok(rc == 0 and "ended: 2" in out, f"kill --user bob ends both ({out.strip()!r})")
    got = (held["b1"].refresh(), held["bt"].refresh())
    ok(got == (437, 437), f"bob's udp and tcp clients get 437 ({got})")
    rc, out, _ = ctl(args, "sessions", "--http", hp, "--key", KEY, "--json")
    ok(sorted(mine[x["client"]] for x in sessions_json(out)) == ["a2", "at"],
       "sessions lists the two left")

    # The key: wrong, missing, the credential hook's kind of check.
    rc, _, err = ctl(args, "sessions", "--http", hp, "--key", "wrong-key-0123456789abcdef")
    ok(rc == 1 and "403" in err, f"a wrong key is refused: {err.strip()}")
    got = (http_status(http, "/api/v1/admin/sessions"),
           http_status(http, "/api/v1/admin/sessions/kill", data=b"user=alice"),
           http_status(http, "/api/v1/admin/sessions?key=wrong-key-0123456789"),
           http_status(http, "/api/v1/admin/sessions/kill", KEY),
           http_status(http, "/api/v1/admin/sessions/kill", KEY, b"id=xyz"))
    ok(got == (401, 401, 403, 405, 400),
       f"no key 401, wrong 403, GET on kill 405, a bad id 400 ({got})")
    ok(held["a2"].refresh() == 0, "nothing was ended by the refused requests")

    # Metrics: the address family as a bounded label.
    killed = None
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=5) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith("turnpike_allocations_killed_total "):
            killed = float(line.split()[-1])
    v4 = metric(http, "allocations_active_by_family", 'family="ipv4"')
    v6 = metric(http, "allocations_active_by_family", 'family="ipv6"')
    up = metric(http, "relay_bytes_by_family_total", 'direction="client_to_peer",family="ipv4"')
    down = metric(http, "relay_bytes_by_family_total", 'direction="peer_to_client",family="ipv4"')
    ok(killed == 3 and v4 == 2 and v6 == 0,
       f"metrics: 3 killed, 2 active on ipv4, 0 on ipv6 ({killed}, {v4}, {v6})")
    ok(up and down and up > 0 and down > 0,
       f"metrics: relayed bytes by family, each way ({up}, {down})")
    for c in held.values():
        c.s.close()
    text = stop(srv, log)
    ended = [l for l in text.splitlines() if "ended (admin)" in l]
    ok(len(ended) == 3 and any(a1 in l for l in ended) and
       sum('user "bob"' in l for l in ended) == 2,
       f"three end lines say admin, one for {a1[:8]}.., two for bob")
    ok(KEY not in text and "wrong-key" not in text, "no key appears in the log")
    ok("admin request from 127.0.0.1" in text and "refused (401): missing API key" in text
       and "refused (403): wrong API key" in text, "the refusals are logged with their reason")


def fleet(args, peer):
    p1, p2 = args.fleet_ports
    h1, h2 = args.http_ports[1], args.http_ports[2]
    redis = f"redis://127.0.0.1:{args.redis_port}/0"
    s1, l1 = server(args, "fleet1", p1, h1, 44000, ["--redis-statsdb", redis])
    s2, l2 = server(args, "fleet2", p2, h2, 45000, ["--redis-statsdb", redis])
    if not s1 or not s2:
        for s, l in ((s1, l1), (s2, l2)):
            if s:
                stop(s, l)
        return
    end = time.time() + 10
    subs = 0
    while time.time() < end:
        out = subprocess.run(["redis-cli", "-p", str(args.redis_port), "PUBSUB", "NUMSUB",
                              "turnpike:admin"], capture_output=True, text=True).stdout.split()
        subs = int(out[1]) if len(out) == 2 else 0
        if subs == 2:
            break
        time.sleep(0.1)
    ok(subs == 2, f"both servers listen on turnpike:admin ({subs})")
    held = {"c1": Client(p1, "carol"), "d2": Client(p2, "dave"),
            "c2": Client(p2, "carol", tcp=True)}
    ok(all(c.allocate() for c in held.values()), "carol on server 1 (udp) and 2 (tcp), dave on 2")
    ok(all(c.traffic(peer, 2) for c in held.values()) and echo(peer, 6) == 6,
       "each relays 2 datagrams each way")
    time.sleep(0.3)
    rarg = ["-c", "/dev/null", "--redis-statsdb", redis]
    rc, out, err = ctl(args, "sessions", *rarg, "--json")
    s = sessions_json(out)
    servers = sorted(set(x.get("server", "").rsplit(":", 1)[-1] for x in s))
    ok(rc == 0 and sorted(x["user"] for x in s) == ["carol", "carol", "dave"] and
       servers == sorted([str(p1), str(p2)]),
       f"sessions through redis lists both servers' allocations ({len(s)}, servers {servers}) "
       f"{err.strip()}")
    ok(all(x["client_bytes"] > 0 and x["peer_bytes"] > 0 for x in s), "with their traffic")
    rc, out, _ = ctl(args, "sessions", *rarg, "--json", "--user", "carol")
    ok(rc == 0 and [x["user"] for x in sessions_json(out)] == ["carol", "carol"],
       "--user carol: hers on both servers")
    dave = next(x["id"] for x in s if x["user"] == "dave")
    rc, out, err = ctl(args, "kill", dave, *rarg)
    ok(rc == 0 and "ended: 1" in out, f"kill ID through redis reaches server 2 ({out.strip()!r})")
    ok(held["d2"].refresh() == 437, "dave's next Refresh gets 437")
    rc, out, err = ctl(args, "kill", "--user", "carol", *rarg)
    ok(rc == 0 and "ended: 2" in out, f"kill --user carol ends hers on both servers ({out.strip()!r})")
    ok((held["c1"].refresh(), held["c2"].refresh()) == (437, 437), "both get 437")

    # Redis goes away: the local path still works.
    c3 = Client(p1, "alice")
    ok(c3.allocate() and c3.traffic(peer, 1) and echo(peer, 1) == 1, "a new allocation on server 1")
    os.kill(args.redis_pid, signal.SIGTERM)
    time.sleep(0.5)
    rc, out, err = ctl(args, "sessions", *rarg, "--timeout", "1000")
    ok(rc == 1, f"through redis: fails, Redis is down ({err.strip()[:80]})")
    rc, out, err = ctl(args, "sessions", "--http", f"127.0.0.1:{h1}", "--key", KEY, "--json")
    ok(rc == 0 and [x["user"] for x in sessions_json(out)] == ["alice"],
       f"through HTTP: server 1 lists its allocation ({rc}) {err.strip()}")
    rc, out, err = ctl(args, "kill", "--user", "alice", "--http", f"127.0.0.1:{h1}", "--key", KEY)
    ok(rc == 0 and "ended: 1" in out and c3.refresh() == 437, "and kills it")
    for c in list(held.values()) + [c3]:
        c.s.close()
    t1, t2 = stop(s1, l1), stop(s2, l2)
    ok(sum("ended (admin)" in l for l in t1.splitlines()) == 2 and
       sum("ended (admin)" in l for l in t2.splitlines()) == 2,
       "each server logged its own two admin ends")


def hold():
    """ctl_sessions.py hold PORT USER PASSWORD SECONDS: one allocation with
    traffic, held until killed or SECONDS pass (doc_snippets.sh)."""
    port, user, password, secs = int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
    USERS[user] = password
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    c = Client(port, user)
    if not (c.allocate() and c.traffic(peer, 1) and echo(peer, 1) == 1):
        print("cannot allocate", flush=True)
        return 1
    print("held", flush=True)
    time.sleep(secs)
    return 0


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "hold":
        return hold()
    args = arguments(("--ctl", {"required": True}),
                     ("--redis-port", {"type": int, "default": 0}),
                     ("--redis-pid", {"type": int, "default": 0}),
                     ("--fleet-ports", {"default": ""}),
                     ("--http-ports", {"required": True}))
    args.http_ports = [int(p) for p in args.http_ports.split(",")]
    args.fleet_ports = [int(p) for p in args.fleet_ports.split(",") if p]
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    local(args, peer)
    if args.redis_port:
        fleet(args, peer)
    else:
        print("skip - the fleet half: no redis-server", flush=True)
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

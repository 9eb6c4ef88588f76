#!/usr/bin/env python3
"""redis_reset.py - Redis resetting while a client leaves (issue 9 item 1).

Runs turnpiked (its path and the ports come from the command line) against a
fake Redis that this script plays, so the test decides when each answer
comes and when the connection is reset. Two clients each park an Allocate on
the fleet-wide user-quota decision, whose answer is held back. Then, with the
server stopped (SIGSTOP), the first client leaves (TCP: the connection is
closed; UDP: Refresh with lifetime 0) and the fake Redis resets the worker's
connection; the server resumes (SIGCONT) and sees both at once, in that
order. The quota removal the leaving client causes is written to the dead
Redis socket: that failure must not run the parked Allocate from inside the
connection's teardown (it would make an allocation on a freed connection)
nor from inside a reply batch (another client's answer would go out in its
place).

Prints "ok - ..." / "FAIL - ..." lines; exit status 1 when any failed.
"""
import hashlib
import os
import signal
import socket
import struct
import sys
import threading
import time

from turnlib import (ALLOCATE, DATA, ERROR, INDICATION, PASSWORD, PERMISSION, REALM,
                     REFRESH, SEND, SUCCESS, USER, A_DATA, A_LIFETIME, A_PEER, Dgram,
                     Stream, allocate, arguments, attr, error_code, message, nonce_of, ok,
                     start, stop, xor_addr)


# ---- the fake Redis ----

def resp(x):
    if x is None:
        return b"$-1\r\n"
    if isinstance(x, int):
        return b":%d\r\n" % x
    if isinstance(x, list):
        return b"*%d\r\n" % len(x) + b"".join(resp(e) for e in x)
    if isinstance(x, str):
        x = x.encode()
    return b"$%d\r\n%s\r\n" % (len(x), x)


class FakeRedis:
    """Answers what turnpiked asks; the quota decisions (EVALSHA) beyond
    the first of each round are held back while `hold` is set."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.userdb = None   # the connection the worker sends MGET/EVALSHA on
        self.takes = 0       # EVALSHA seen
        self.grant_first = 0  # how many EVALSHA to answer before holding
        self.hold = False
        self.doomed = None   # the connection its thread is to reset
        self.reset_done = threading.Event()
        self.conns = {}
        self.transcript = []
        self.key = hashlib.md5(f"{USER}:{REALM}:{PASSWORD}".encode()).hexdigest()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        c.settimeout(0.01)
        try:
            while True:
                if self.doomed is c:
                    # Closed here, not from another thread: a close while
                    # this thread sits in recv() would not send the RST
                    # until the recv returned.
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                    c.close()
                    self.reset_done.set()
                    return
                try:
                    data = c.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    return
                buf += data
                while True:
                    cmd, buf = self.command(buf)
                    if cmd is None:
                        break
                    out = self.answer(c, cmd)
                    self.note(c, cmd, out)
                    if out:
                        c.settimeout(None)  # a reply goes whole, or not at all
                        c.sendall(out)
                        c.settimeout(0.01)
        except OSError as e:
            self.note(c, [b"(closed: %s)" % str(e).encode()], None)
            return
        except Exception as e:  # a bug here: said, not a silent thread's end
            self.note(c, [b"(fake Redis failed: %r)" % e], None)
            raise

    def note(self, c, cmd, out):
        """The transcript: every command with its answer (or "held"), by
        connection, printed when a scenario fails."""
        with self.lock:
            n = self.conns.setdefault(id(c), len(self.conns) + 1)
            line = b" ".join(a[:40] for a in cmd[:3]).decode(errors="replace")
            self.transcript.append("%.3f conn %d: %s -> %s" % (
                time.time(), n, line,
                "held" if out is None and cmd and cmd[0].upper() == b"EVALSHA"
                else repr(out[:40]) if out else "-"))

    def dump(self):
        with self.lock:
            for line in self.transcript[-60:]:
                print("# " + line)

    @staticmethod
    def command(buf):
        if not buf.startswith(b"*"):
            return None, buf
        end = buf.find(b"\r\n")
        if end < 0:
            return None, buf
        n, off, args = int(buf[1:end]), end + 2, []
        for _ in range(n):
            end = buf.find(b"\r\n", off)
            if end < 0:
                return None, buf
            ln = int(buf[off + 1:end])
            if len(buf) < end + 2 + ln + 2:
                return None, buf
            args.append(buf[end + 2:end + 2 + ln])
            off = end + 2 + ln + 2
        return args, buf[off:]

    def answer(self, c, args):
        name = args[0].upper()
        if name in (b"SELECT", b"AUTH"):
            return b"+OK\r\n"
        if name == b"SUBSCRIBE":
            return b"".join(resp(["subscribe", a.decode(), i + 1])
                            for i, a in enumerate(args[1:]))
        if name in (b"SMEMBERS", b"ZRANGE"):
            return resp([])
        if name == b"MGET":
            with self.lock:
                self.userdb = c
            key = self.key if b"/user/" + USER.encode() + b"/key" in args[1] else None
            return resp([key, None])
        if name == b"EVALSHA":
            with self.cond:
                self.userdb = c
                self.takes += 1
                self.cond.notify_all()
                if self.hold and self.takes > self.grant_first:
                    return None
            return resp(1)
        if name in (b"EVAL", b"ZREM"):
            return resp(1)
        if name == b"PUBLISH":
            return resp(0)
        return b"+OK\r\n"

    def round(self, grant_first):
        with self.lock:
            self.takes = 0
            self.grant_first = grant_first
            self.hold = True

    def wait_takes(self, n, timeout=5):
        end = time.time() + timeout
        with self.cond:
            while self.takes < n and time.time() < end:
                self.cond.wait(end - time.time())
            return self.takes >= n

    def reset_userdb(self):
        """Resets (RST) the worker's connection; later ones are answered."""
        with self.lock:
            c, self.userdb, self.hold = self.userdb, None, False
        if c:
            self.reset_done.clear()
            self.doomed = c
            if not self.reset_done.wait(5):
                raise RuntimeError("the fake Redis did not reset the connection")


# ---- the scenarios ----

def wait_stopped(pid, timeout=5):
    """Until every thread of pid is stopped: SIGSTOP takes a moment."""
    end = time.time() + timeout
    while time.time() < end:
        states = []
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except OSError:
                pass
        if states and all(s in "tT" for s in states):
            return
        time.sleep(0.005)
    raise RuntimeError("turnpiked did not stop")


def frozen(pid, *steps):
    """Runs the steps with the server stopped, so it sees their effects at
    once and in this order when it resumes."""
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_stopped(pid)
        for step in steps:
            step()
            time.sleep(0.05)
    finally:
        os.kill(pid, signal.SIGCONT)


def tcp_scenario(pid, port, redis, peer):
    c = Stream(port)
    src_port = c.s.getsockname()[1]
    nonce = nonce_of(c)
    redis.round(grant_first=1)
    t1, t2 = os.urandom(12), os.urandom(12)
    c.send(allocate(t1, nonce) + allocate(t2, nonce))
    mtype, txn, _ = c.recv()
    ok(mtype == ALLOCATE | SUCCESS and txn == t1, "tcp: the first Allocate succeeds")
    ok(redis.wait_takes(2), "tcp: the second Allocate waits on the quota decision")
    frozen(pid, c.reset, redis.reset_userdb)
    time.sleep(0.3)

    # The same 5-tuple again: nothing may be left of the closed connection.
    c = Stream(port, src_port)
    t3 = os.urandom(12)
    c.send(allocate(t3, nonce))
    mtype, txn, attrs = c.recv()
    ok(mtype == ALLOCATE | SUCCESS and txn == t3,
       "tcp: a new connection on the same 5-tuple allocates "
       f"(got type 0x{mtype:03x}, error {error_code(attrs)})")
    # Data from the peer reaches this connection, not a freed one.
    peer_addr = peer.getsockname()
    c.send(message(PERMISSION, os.urandom(12), [attr(A_PEER, xor_addr(*peer_addr))],
                   nonce))
    mtype, _, _ = c.recv()
    ok(mtype == PERMISSION | SUCCESS, "tcp: CreatePermission for the peer")
    c.send(message(SEND | INDICATION, os.urandom(12),
                   [attr(A_PEER, xor_addr(*peer_addr)), attr(A_DATA, b"ping")]))
    try:
        data, relay = peer.recvfrom(2048)
        peer.sendto(b"pong:" + data, relay)
        mtype, _, attrs = c.recv()
        ok(mtype == DATA | INDICATION and attrs.get(A_DATA) == b"pong:ping",
           "tcp: the peer's answer arrives as a Data indication")
    except (OSError, EOFError, ValueError) as e:
        ok(False, f"tcp: relaying through the new allocation ({e})")
    c.reset()


def udp_scenario(pid, port, redis):
    u1, u2 = Dgram(port), Dgram(port)
    n1, n2 = nonce_of(u1), nonce_of(u2)
    redis.round(grant_first=1)
    t1 = os.urandom(12)
    u1.send(allocate(t1, n1))
    mtype, txn, _ = u1.recv()
    ok(mtype == ALLOCATE | SUCCESS and txn == t1, "udp: the first client allocates")
    t2 = os.urandom(12)
    u2.send(allocate(t2, n2))
    ok(redis.wait_takes(2), "udp: the second client's Allocate waits on the quota decision")
    tr = os.urandom(12)
    refresh = message(REFRESH, tr, [attr(A_LIFETIME, struct.pack("!I", 0))], n1)
    frozen(pid, lambda: u1.send(refresh), redis.reset_userdb)
    try:
        mtype, txn, _ = u1.recv()
        ok(mtype == REFRESH | SUCCESS and txn == tr,
           f"udp: the first client gets its own Refresh answer (type 0x{mtype:03x}, "
           f"{'its' if txn == tr else 'another'} transaction)")
    except (OSError, ValueError) as e:
        ok(False, f"udp: the first client gets its Refresh answer ({e})")
    try:
        mtype, txn, attrs = u2.recv()
        ok(txn == t2 and mtype in (ALLOCATE | SUCCESS, ALLOCATE | ERROR),
           f"udp: the second client gets its Allocate answer (type 0x{mtype:03x}, "
           f"error {error_code(attrs)})")
    except (OSError, ValueError) as e:
        ok(False, f"udp: the second client gets its Allocate answer ({e})")


def wait_ready(port, log, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(log) as f:
                # All six (userdb and statsdb of the worker, the registry,
                # the admin, the invalidations, the admin commands): a
                # scenario starts with nothing else in flight.
                if f.read().count("connected") >= 6:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def main():
    args = arguments(("--skip", {"action": "append", "default": [], "help": "tcp or udp"}))

    redis = FakeRedis()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.2", 0))
    peer.settimeout(3)
    cmd = [args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port", str(args.port),
           "--relay-threads", "1", "--relay-ip", "127.0.0.1", "--allow-loopback-peers",
           "--realm", REALM, "--user-quota", "5", "--redis-timeout", "5000",
           "--redis-userdb", f"ip=127.0.0.1 port={redis.port} connect_timeout=2",
           "--log-level", "debug"]
    srv = start(cmd, args.log)
    try:
        ok(wait_ready(args.port, args.log), "turnpiked is up with its Redis connections")
        for name, run in (("tcp", lambda: tcp_scenario(srv.pid, args.port, redis, peer)),
                          ("udp", lambda: udp_scenario(srv.pid, args.port, redis))):
            if name in args.skip:
                continue
            try:
                run()
            except (OSError, EOFError, ValueError, RuntimeError) as e:
                ok(False, f"{name}: the scenario ran to its end ({e!r})")
                print("# what the fake Redis was asked and answered (last 60):")
                redis.dump()
            ok(srv.poll() is None, f"{name}: turnpiked is still running")
            time.sleep(0.5)  # the worker reconnects to the fake Redis
    finally:
        stop(srv, args.log)
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""tcp_slots.py - TCP connections that never authenticate cannot hold the
server's slots (issue 9 item 5). Runs turnpiked with one worker, 8 TCP slots,
4 unauthenticated connections per source and a 3 s idle timeout, then:
- a source's 5th unauthenticated connection is closed at once, while another
  source still gets in;
- with the table full of unauthenticated connections that send a Binding
  every 500 ms, a new client is served and the oldest of them is shed;
- an authenticated connection is never shed, and keeps its allocation;
- a connection that sends Bindings but never authenticates is closed within
  the idle timeout of its accept.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import os
import select
import socket
import sys
import time

from turnlib import (ALLOCATE, REFRESH, SUCCESS, A_LIFETIME, PASSWORD, REALM, USER, Stream,
                     allocate, arguments, attr, message, nonce_of, ok, start, stop)

BINDING = 0x001
IDLE_S = 3


def binding():
    return message(BINDING, os.urandom(12), [])


def answered(conn):
    """Whether a Binding on conn is answered (False: closed or silent)."""
    try:
        conn.send(binding())
        mtype, _, _ = conn.recv()
        return mtype == BINDING | SUCCESS
    except (OSError, EOFError, ValueError):
        return False


def closed(conn, within=1.0):
    """Whether the server closes conn within the given seconds."""
    end = time.time() + within
    while time.time() < end:
        r, _, _ = select.select([conn.s], [], [], max(0, end - time.time()))
        if not r:
            continue
        try:
            data = conn.s.recv(4096)
        except OSError:
            return True
        if not data:
            return True
        conn.buf += data
    return False


def keepalive(conns):
    """A Binding on each connection still open; returns those answered."""
    alive = []
    for c in conns:
        if answered(c):
            alive.append(c)
    return alive


def connect(port, ip):
    try:
        return Stream(port, src_ip=ip)
    except OSError:
        return None


def scenario(port):
    # One source's share.
    mine = [connect(port, "127.0.0.2") for _ in range(4)]
    ok(all(c and answered(c) for c in mine), "4 unauthenticated connections from one source")
    fifth = connect(port, "127.0.0.2")
    ok(fifth is not None and closed(fifth), "its 5th is closed at once")
    other = connect(port, "127.0.0.3")
    ok(other is not None and answered(other), "another source still gets in")

    # Fill the table (8) with unauthenticated clients that keep talking.
    crowd = mine + [other] + [connect(port, "127.0.0.3") for _ in range(3)]
    crowd = keepalive(crowd)
    ok(len(crowd) == 8, f"the table is full of talking, unauthenticated clients ({len(crowd)})")
    new = connect(port, "127.0.0.4")
    ok(new is not None and answered(new), "a new client is served with the table full")
    ok(closed(crowd[0]), "the oldest unauthenticated connection was shed for it")
    for c in crowd[1:] + [new]:
        c.reset()
    time.sleep(0.2)

    # An authenticated connection is never shed.
    authed = Stream(port, src_ip="127.0.0.5")
    nonce = nonce_of(authed)
    authed.send(allocate(os.urandom(12), nonce))
    mtype, _, _ = authed.recv()
    ok(mtype == ALLOCATE | SUCCESS, "an authenticated client allocates over TCP")
    churn = []
    for i in range(12):
        c = connect(port, f"127.0.1.{i + 1}")
        if c:
            churn.append(c)
    time.sleep(0.2)
    tr = os.urandom(12)
    try:
        authed.send(message(REFRESH, tr, [attr(A_LIFETIME, b"\0\0\x02\x58")], nonce))
        mtype, txn, _ = authed.recv()
        ok(mtype == REFRESH | SUCCESS and txn == tr,
           "after 12 more connections, the authenticated one still refreshes")
    except (OSError, EOFError, ValueError) as e:
        ok(False, f"the authenticated connection survives the churn ({e})")
    for c in churn:
        c.reset()

    # Bindings do not keep an unauthenticated connection alive.
    talker = Stream(port, src_ip="127.0.0.6")
    t0 = time.time()
    gone = None
    while time.time() - t0 < IDLE_S + 3:
        if not answered(talker):
            gone = time.time() - t0
            break
        time.sleep(0.5)
    ok(gone is not None and gone <= IDLE_S + 1.5,
       f"a connection that only sends Bindings is closed after the idle timeout "
       f"({'%.1f s' % gone if gone is not None else 'still open'})")
    authed.reset()


def main():
    args = arguments()
    cmd = [args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port", str(args.port),
           "--relay-threads", "1", "--relay-ip", "127.0.0.1", "--realm", REALM,
           "--user", f"{USER}:{PASSWORD}", "--max-tcp-connections", "8",
           "--max-tcp-unauthenticated-per-source", "4", "--tcp-idle-timeout", str(IDLE_S)]
    srv = start(cmd, args.log)
    try:
        up = False
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", args.port), 0.2).close()
                up = True
                break
            except OSError:
                time.sleep(0.1)
        ok(up, "turnpiked is up")
        if up:
            scenario(args.port)
        ok(srv.poll() is None, "turnpiked is still running")
    finally:
        text = stop(srv, args.log)
    ok("max-tcp-unauthenticated-per-source" in text, "the refusal is logged with its reason")
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

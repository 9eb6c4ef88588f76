#!/usr/bin/env python3
"""release.py - the last datagrams a client sends before it releases its
allocation still reach the peer: a Send indication followed at once by a
Refresh with LIFETIME 0 (both in one receive batch more often than not)
must not lose the queued datagram when the relay socket closes; nor must
ChannelData. Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import os
import socket
import struct
import sys

from turnlib import (INDICATION, PERMISSION, REFRESH, SEND, A_DATA, A_LIFETIME, A_PEER, REALM,
                     USER, PASSWORD, Dgram, allocate, arguments, attr, message, nonce_of, ok,
                     start, stop, xor_addr)

CHANNEL_BIND, A_CHANNEL = 0x009, 0x0C
ROUNDS = 30

args = arguments()
srv = start([args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port", str(args.port),
             "--relay-ip", "127.0.0.1", "--allow-loopback-peers", "--realm", REALM,
             "--user", "%s:%s" % (USER, PASSWORD), "--min-port", "20000", "--max-port", "20199"],
            args.log)
peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
peer.bind(("127.0.0.1", 0))
peer.settimeout(1)
pport = peer.getsockname()[1]
PEER = xor_addr("127.0.0.1", pport)

# Wait for the server: a Binding answered.
c = Dgram(args.port)
for _ in range(50):
    try:
        c.send(message(0x001, os.urandom(12), []))
        c.recv()
        break
    except OSError:
        pass


def rounds(channel):
    got = set()
    for i in range(ROUNDS):
        c = Dgram(args.port)
        nonce = nonce_of(c)
        c.send(allocate(os.urandom(12), nonce))
        c.recv()
        c.send(message(PERMISSION, os.urandom(12), [attr(A_PEER, PEER)], nonce))
        c.recv()
        if channel:
            c.send(message(CHANNEL_BIND, os.urandom(12),
                           [attr(A_CHANNEL, struct.pack("!HH", 0x4000, 0)), attr(A_PEER, PEER)],
                           nonce))
            c.recv()
            data = b"last %d" % i
            last = struct.pack("!HH", 0x4000, len(data)) + data + b"\0" * (-len(data) % 4)
        else:
            last = message(SEND | INDICATION, os.urandom(12),
                           [attr(A_PEER, PEER), attr(A_DATA, b"last %d" % i)])
        # The last datagram, then the release, back to back.
        c.send(last)
        c.send(message(REFRESH, os.urandom(12), [attr(A_LIFETIME, struct.pack("!I", 0))], nonce))
        c.recv()
        c.s.close()
    try:
        while len(got) < ROUNDS:
            got.add(peer.recv(100))
    except socket.timeout:
        pass
    return len(got)


n = rounds(False)
ok(n == ROUNDS, "a Send indication right before Refresh(0) reaches the peer: %d of %d" % (n, ROUNDS))
n = rounds(True)
ok(n == ROUNDS, "ChannelData right before Refresh(0) reaches the peer: %d of %d" % (n, ROUNDS))
stop(srv, args.log)
sys.exit(ok.finish())

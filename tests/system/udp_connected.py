#!/usr/bin/env python3
"""udp_connected.py - a relay socket connected to an allocation's one peer.

With one permission, the first datagram to the peer connects a second
socket on the relayed address to it (no route lookup per datagram after
that); the kernel's socket table then shows the relayed address connected
to the peer. Checked around it: both directions relay through the
connected socket; another port of the permitted IP still reaches the
client (a permission is per IP, RFC 8656 §9) and so does the peer's answer
to it; an address without a permission does not; a second peer is served
unconnected from the same relayed address, while the first keeps working;
an allocation that has two permissions before its first datagram is never
connected; /metrics counts the connected sockets. Prints "ok - ..." /
"FAIL - ..." lines and a closing tally.
"""
import os
import socket
import struct
import sys
import urllib.request

from turnlib import (DATA, INDICATION, PERMISSION, REALM, SEND, USER, PASSWORD, Dgram, allocate,
                     arguments, attr, message, nonce_of, ok, parse, start, stop, unxor_addr,
                     xor_addr, A_DATA, A_PEER, A_RELAYED)

CHANNEL_BIND, A_CHANNEL = 0x009, 0x0C


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def udp(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    s.settimeout(2)
    return s


def connected_sockets(relayed):
    """The peers the kernel shows a UDP socket on relayed connected to."""
    out = []
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]

            def addr(hexa):
                ip, port = hexa.split(":")
                return socket.inet_ntoa(struct.pack("<I", int(ip, 16))), int(port, 16)
            if addr(local) == relayed and state == "01":
                out.append(addr(remote))
    return out


def metric(hport, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{hport}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(f"turnpike_{name} "):
                return int(float(line.split()[1]))
    return None


class Client:
    def __init__(self, port):
        self.c = Dgram(port)
        self.nonce = nonce_of(self.c)
        self.c.send(allocate(os.urandom(12), self.nonce))
        _, _, a = self.c.recv()
        self.relayed = unxor_addr(a[A_RELAYED])

    def permit(self, ip, port):
        self.c.send(message(PERMISSION, os.urandom(12), [attr(A_PEER, xor_addr(ip, port))],
                            self.nonce))
        return self.c.recv()[0]

    def bind(self, ip, port):
        self.c.send(message(CHANNEL_BIND, os.urandom(12),
                            [attr(A_CHANNEL, struct.pack("!HH", 0x4000, 0)),
                             attr(A_PEER, xor_addr(ip, port))], self.nonce))
        return self.c.recv()[0]

    def chan(self, data):
        self.c.send(struct.pack("!HH", 0x4000, len(data)) + data)

    def send_ind(self, ip, port, data):
        self.c.send(message(SEND | INDICATION, os.urandom(12),
                            [attr(A_PEER, xor_addr(ip, port)), attr(A_DATA, data)]))

    def got(self):
        """What the next datagram from the server carries: ("chan", data)
        or ("data", (ip, port), data), or None after 2 s."""
        try:
            raw = self.c.s.recv(4096)
        except socket.timeout:
            return None
        if 0x40 <= raw[0] <= 0x7f:
            return ("chan", raw[4:4 + struct.unpack("!H", raw[2:4])[0]])
        mtype, _, attrs = parse(raw)
        if mtype == DATA | INDICATION:
            return ("data", unxor_addr(attrs[A_PEER]), attrs[A_DATA])
        return ("other", mtype)


args = arguments()
hport = free_port()
srv = start([args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port", str(args.port),
             "--relay-ip", "127.0.0.1", "--allow-loopback-peers", "--realm", REALM,
             "--relay-threads", "1", "--http-listen", f"127.0.0.1:{hport}",
             "--user", "%s:%s" % (USER, PASSWORD), "--min-port", "20400", "--max-port", "20599"],
            args.log)
for _ in range(50):
    try:
        w = Dgram(args.port)
        w.send(message(0x001, os.urandom(12), []))
        w.recv()
        break
    except OSError:
        pass

a = udp("127.0.0.1")         # the one permitted peer
a2 = udp("127.0.0.1")        # the same IP, another port
b = udp("127.0.0.4")         # a second peer, permitted later
stranger = udp("127.0.0.3")  # never permitted
A, A2, B = a.getsockname(), a2.getsockname(), b.getsockname()

c = Client(args.port)
ok(c.permit(*A) == 0x108 and c.bind(*A) == 0x109, "one permission, a channel to peer A")
ok(connected_sockets(c.relayed) == [], "no connected relay socket before the first datagram")
c.chan(b"first")
data, src = a.recvfrom(100)
ok(data == b"first" and src == c.relayed, f"ChannelData reaches A from the relayed address ({src})")
ok(connected_sockets(c.relayed) == [A],
   f"the relayed address is now connected to A ({connected_sockets(c.relayed)})")
c.chan(b"second")
data, src = a.recvfrom(100)
ok(data == b"second" and src == c.relayed, "and keeps relaying to A from the relayed address")
a.sendto(b"from A", c.relayed)
ok(c.got() == ("chan", b"from A"), "A's datagram reaches the client on the channel")

# A permission is per IP: another port of A's address is relayed too.
a2.sendto(b"from A's IP, other port", c.relayed)
ok(c.got() == ("data", A2, b"from A's IP, other port"),
   "another port of the permitted IP reaches the client (Data indication)")
c.send_ind(*A2, b"to A2")
data, src = a2.recvfrom(100)
ok(data == b"to A2" and src == c.relayed, "and the client's answer to it arrives from the "
   "relayed address")

# No permission, no relaying: the marker sent after it (to the same,
# unconnected socket) is the first thing the client gets.
stranger.sendto(b"nope", c.relayed)
a2.sendto(b"marker", c.relayed)
ok(c.got() == ("data", A2, b"marker"), "a peer without a permission is not relayed")

# A second peer: served from the relayed address, unconnected.
ok(c.permit(*B) == 0x108, "a second permission, for B")
c.send_ind(*B, b"to B")
data, src = b.recvfrom(100)
ok(data == b"to B" and src == c.relayed, f"B gets the client's data from the relayed address "
   f"({src})")
b.sendto(b"from B", c.relayed)
ok(c.got() == ("data", B, b"from B"), "B's answer reaches the client")
ok(connected_sockets(c.relayed) == [A], "only A's socket is connected")
c.chan(b"third")
data, src = a.recvfrom(100)
a.sendto(b"A again", c.relayed)
ok(data == b"third" and src == c.relayed and c.got() == ("chan", b"A again"),
   "A still relays both ways")

# Two permissions before the first datagram: never connected.
d = Client(args.port)
d.permit(*A)
d.permit(*B)
d.send_ind(*B, b"d to B")
d.send_ind(*A, b"d to A")
got_b, got_a = b.recvfrom(100), a.recvfrom(100)
ok(got_b == (b"d to B", d.relayed) and got_a == (b"d to A", d.relayed),
   "an allocation with two permissions relays to both")
ok(connected_sockets(d.relayed) == [], "and has no connected relay socket")

n = metric(hport, "relay_sockets_connected_total")
ok(n == 1, f"turnpike_relay_sockets_connected_total counts the one connected socket ({n})")
stop(srv, args.log)
sys.exit(ok.finish())

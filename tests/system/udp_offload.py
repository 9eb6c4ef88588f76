#!/usr/bin/env python3
"""udp_offload.py - bursts of same-size datagrams through UDP GSO and GRO.

The client and the peer send their bursts as one UDP GSO send
(UDP_SEGMENT), so each reaches turnpiked as one GRO read, and read with
UDP_GRO on, so what turnpiked sent as one GSO send arrives as one read
with its segment size. Checked: ChannelData client -> peer and peer ->
client arrive intact and in order (a shorter last datagram too), and were
sent on as GSO; so do Data indications, framed around each segment; more
Binding requests in one read than a batch has reply slots are all
answered; a burst from a peer without a permission is not relayed (RFC
8656 §9); a TCP client's ChannelData from one write go on to the peer
as GSO sends, in order, a datagram too big to stage among them; so do a
TLS client's. (Neither write brings the big one and the small ones before
it to one read callback here, so the order of relay.c's direct send after
the staged ones is kept by reading it, not by this test.) The /metrics
counters add up. Prints "ok - ..." / "FAIL - ..."
lines and a closing tally.
"""
import os
import socket
import ssl
import struct
import sys
import urllib.request

from turnlib import (DATA, INDICATION, PERMISSION, REALM, USER, PASSWORD, Dgram, Stream, allocate,
                     arguments, attr, message, nonce_of, ok, parse, start, stop, unxor_addr,
                     xor_addr, A_DATA, A_PEER, A_RELAYED)

CHANNEL_BIND, A_CHANNEL = 0x009, 0x0C
UDP_SEGMENT, UDP_GRO = 103, 104
N = 40          # datagrams per burst: more than one receive batch (32)
SIZE = 196      # ChannelData payload: 200 bytes with the header


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def gro_socket(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_UDP, UDP_GRO, 1)
    s.bind((ip, 0))
    s.settimeout(2)
    return s


def send_gso(s, datagrams, to):
    """All datagrams (one size, the last may be shorter) in one send."""
    size = len(datagrams[0])
    s.sendmsg([b"".join(datagrams)], [(socket.SOL_UDP, UDP_SEGMENT, struct.pack("=H", size))],
              0, to)


def recv_split(s, count):
    """Reads until count datagrams are in, splitting GRO reads. Returns
    (datagrams, segment sizes of the GRO reads)."""
    got, gro = [], []
    try:
        while len(got) < count:
            data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(4))
            seg = 0
            for level, kind, v in anc:
                if level == socket.SOL_UDP and kind == UDP_GRO:
                    seg = struct.unpack("=i", v[:4])[0]
            if seg and seg < len(data):
                gro.append(seg)
                got += [data[o:o + seg] for o in range(0, len(data), seg)]
            else:
                got.append(data)
    except socket.timeout:
        pass
    return got, gro


def payload(tag, i, size=SIZE):
    return (b"%s %04d " % (tag, i)).ljust(size, b".")


def metrics(hport):
    with urllib.request.urlopen(f"http://127.0.0.1:{hport}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("turnpike_") and " " in line:
            name, value = line.rsplit(" ", 1)
            out[name[len("turnpike_"):]] = int(float(value))
    return out


args = arguments(("--cert", {"required": True}), ("--key", {"required": True}))
hport = free_port()
tport = free_port()
srv = start([args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port", str(args.port),
             "--tls-listening-port", str(tport), "--cert", args.cert, "--pkey", args.key,
             "--no-dtls",
             "--relay-ip", "127.0.0.1", "--allow-loopback-peers", "--realm", REALM,
             "--relay-threads", "1", "--http-listen", f"127.0.0.1:{hport}",
             "--user", "%s:%s" % (USER, PASSWORD), "--min-port", "20200", "--max-port", "20399"],
            args.log)

peer = gro_socket("127.0.0.1")
stranger = gro_socket("127.0.0.3")  # no permission for this address
PEER = xor_addr("127.0.0.1", peer.getsockname()[1])

c = Dgram(args.port)
c.s.setsockopt(socket.SOL_UDP, UDP_GRO, 1)
for _ in range(50):
    try:
        c.send(message(0x001, os.urandom(12), []))
        c.recv()
        break
    except OSError:
        pass


def channel_to_peer(conn, number):
    """An allocation on conn with a permission and channel number to the
    peer. Returns (relayed address, the ChannelBind answer's type)."""
    nonce = nonce_of(conn)
    conn.send(allocate(os.urandom(12), nonce))
    _, _, a = conn.recv()
    conn.send(message(PERMISSION, os.urandom(12), [attr(A_PEER, PEER)], nonce))
    conn.recv()
    conn.send(message(CHANNEL_BIND, os.urandom(12),
                      [attr(A_CHANNEL, struct.pack("!HH", number, 0)), attr(A_PEER, PEER)], nonce))
    mtype, _, _ = conn.recv()
    return unxor_addr(a[A_RELAYED]), mtype


relayed, mtype = channel_to_peer(c, 0x4000)
ok(mtype == 0x109, "allocation with a channel to the peer (ChannelBind 0x%03x)" % mtype)


def chandata(data):
    return struct.pack("!HH", 0x4000, len(data)) + data


# Client -> peer: one GSO send of N ChannelData, then one with a short last.
for name, sizes in (("same size", [SIZE] * N), ("shorter last", [SIZE] * (N - 1) + [100])):
    want = [payload(b"fwd", i, sz) for i, sz in enumerate(sizes)]
    send_gso(c.s, [chandata(d) for d in want], ("127.0.0.1", args.port))
    got, gro = recv_split(peer, N)
    ok(got == want, f"client -> peer, {name}: {N} datagrams intact and in order "
       f"({len(got)} arrived, {sum(g == w for g, w in zip(got, want))} matching)")
    ok(gro and all(g == SIZE for g in gro),
       f"client -> peer, {name}: relayed as GSO sends of {SIZE}-byte segments (reads: {gro})")

# Peer -> client: one GSO send of N datagrams to the relayed address.
for name, sizes in (("same size", [SIZE] * N), ("shorter last", [SIZE] * (N - 1) + [100])):
    want = [payload(b"rev", i, sz) for i, sz in enumerate(sizes)]
    send_gso(peer, want, relayed)
    got, gro = recv_split(c.s, N)
    ok(got == [chandata(d) for d in want],
       f"peer -> client, {name}: {N} ChannelData intact and in order ({len(got)} arrived)")
    ok(gro and all(g == SIZE + 4 for g in gro),
       f"peer -> client, {name}: sent as GSO sends of {SIZE + 4}-byte segments (reads: {gro})")

# Another port of the permitted IP has no channel: Data indications, framed
# around each segment (odd size: padding after each one).
other = gro_socket("127.0.0.1")
want = [payload(b"ind", i, 197) for i in range(N)]
send_gso(other, want, relayed)
got, gro = recv_split(c.s, N)
inds = []
for g in got:
    mtype, _, attrs = parse(g)
    inds.append(attrs.get(A_DATA) if mtype == DATA | INDICATION else None)
ok(inds == want, f"peer -> client without a channel: {N} Data indications intact and in order "
   f"({sum(x == y for x, y in zip(inds, want))} matching)")

# A burst from an address without a permission is dropped; the marker the
# permitted peer sends after it is the first thing the client gets.
send_gso(stranger, [payload(b"nope", i) for i in range(N)], relayed)
peer.sendto(b"marker", relayed)
got, _ = recv_split(c.s, 1)
ok(got == [chandata(b"marker")], "a GSO burst from a peer without a permission is not relayed "
   f"(first datagram the client got: {got[0][:12] if got else None})")

# Binding requests: more in one GRO read than a batch has reply slots.
txns = [os.urandom(12) for _ in range(N)]
send_gso(c.s, [message(0x001, t, []) for t in txns], ("127.0.0.1", args.port))
got, _ = recv_split(c.s, N)
answered = [parse(g)[1] for g in got if parse(g)[0] == 0x101]
ok(answered == txns, f"{N} Binding requests in one GSO send: all answered, in order "
   f"({len(answered)})")

# A TCP client: what one read of its stream brings for the peer leaves
# together at the end of the loop pass, a run of one size as one GSO send;
# a datagram too big to stage (20,000 bytes) goes straight out, after the
# ones before it.
t = Stream(args.port)
_, mtype = channel_to_peer(t, 0x4001)
ok(mtype == 0x109, "a TCP client's allocation with a channel to the peer (0x%03x)" % mtype)


def stream_burst(conn, label, chan):
    for name, sizes in (("same size", [SIZE] * N),
                        ("a big one in the middle", [SIZE] * 20 + [20000] + [SIZE] * 20)):
        want = [payload(label.encode(), i, sz) for i, sz in enumerate(sizes)]
        conn.send(b"".join(struct.pack("!HH", chan, len(d)) + d + b"\0" * (-len(d) % 4)
                           for d in want))
        got, gro = recv_split(peer, len(want))
        ok(got == want, f"{label} client -> peer, {name}: {len(want)} datagrams from one write "
           f"intact and in order ({len(got)} arrived, "
           f"{sum(g == w for g, w in zip(got, want))} matching)")
        ok(gro and all(g == SIZE for g in gro),
           f"{label} client -> peer, {name}: sent on as GSO sends of {SIZE}-byte segments "
           f"(reads: {gro})")


stream_burst(t, "TCP", 0x4001)
t.s.close()

# The same over TLS (the certificate is the test's own, not checked).
t = Stream(tport)
tls = ssl.create_default_context()
tls.check_hostname = False
tls.verify_mode = ssl.CERT_NONE
t.s = tls.wrap_socket(t.s)
_, mtype = channel_to_peer(t, 0x4002)
ok(mtype == 0x109, "a TLS client's allocation with a channel to the peer (0x%03x)" % mtype)
stream_burst(t, "TLS", 0x4002)
t.s.close()

m = metrics(hport)
ok(m.get("udp_gro_reads_total", 0) >= 6 and m.get("udp_gro_datagrams_total", 0) >= 6 * N,
   "turnpike_udp_gro_reads_total / udp_gro_datagrams_total count the bursts read at once "
   f"({m.get('udp_gro_reads_total')} / {m.get('udp_gro_datagrams_total')})")
ok(m.get("udp_gso_sends_total", 0) >= 4 and m.get("udp_gso_datagrams_total", 0) >= 4 * N,
   "turnpike_udp_gso_sends_total / udp_gso_datagrams_total count the bursts sent at once "
   f"({m.get('udp_gso_sends_total')} / {m.get('udp_gso_datagrams_total')})")
stop(srv, args.log)
sys.exit(ok.finish())

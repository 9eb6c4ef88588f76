#!/usr/bin/python3
"""peer_aioice.py - the aioice side (Debian's python3-aioice) of a call
with turnpike-peer: it takes TURN credentials from turnpiked's REST hook,
gathers relay candidates only, writes its description as SDP to a file
(candidates from aioice's Candidate.to_sdp()) and reads turnpike-peer's
(Candidate.from_sdp()), connects as the controlling or controlled agent,
answers turnpike-peer's --data probes and sends its own, and says goodbye
as turnpike-peer does (probe kinds 0xF0 ping, 0xF1 echo, 0xF2 bye, 0xF3
bye ack; seq and timestamp after the kind, 100 bytes).

Prints "ok - ..." / "FAIL - ..." lines and exits 0 only if all passed;
the whole run is bounded by --timeout. Used by peer_aioice.sh.
"""

import argparse
import asyncio
import json
import os
import struct
import sys
import time
import urllib.request

import aioice
from aioice import ice

failures = 0
PING, ECHO, BYE, BYE_ACK = 0xF0, 0xF1, 0xF2, 0xF3


def check(desc, cond):
    global failures
    if cond:
        print("ok - %s" % desc, flush=True)
    else:
        failures += 1
        print("FAIL - %s" % desc, flush=True)
    return cond


# aioice makes a host socket on every address of every interface: keep the
# test on loopback, on 127.0.0.3. With the relay policy that host candidate
# is not offered, but aioice still sends checks from it; turnpiked drops
# them at turnpike-peer's relay, whose permissions are for 127.0.0.1 (the
# relay addresses), so the only pair that works is relay <-> relay.
HOST_ADDRESS = "127.0.0.3"
ice.get_host_addresses = lambda use_ipv4, use_ipv6: [HOST_ADDRESS] if use_ipv4 else []


def rest_credentials(hook):
    """username, credential and the TURN server (host, port) from the hook."""
    with urllib.request.urlopen(hook, timeout=5) as r:
        doc = json.load(r)
    entry = doc["iceServers"][0]
    for url in entry["urls"]:
        if url.startswith("turn:127.0.0.1:") and url.endswith("?transport=udp"):
            port = int(url[len("turn:127.0.0.1:"):].split("?")[0])
            return entry["username"], entry["credential"], ("127.0.0.1", port)
    raise RuntimeError("no UDP TURN URL on 127.0.0.1 in %r" % doc)


def write_sdp(path, conn):
    """Our description, written beside the target and renamed into place."""
    lines = [
        "v=0",
        "o=- %d 2 IN IP4 127.0.0.1" % int(time.time()),
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 0",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=rtcp-mux",
        "a=ice-ufrag:%s" % conn.local_username,
        "a=ice-pwd:%s" % conn.local_password,
    ]
    lines += ["a=candidate:%s" % c.to_sdp() for c in conn.local_candidates]
    lines.append("a=end-of-candidates")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\r\n".join(lines) + "\r\n")
    os.rename(tmp, path)


async def read_sdp(path, deadline):
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError("no %s in time" % path)
        await asyncio.sleep(0.05)
    ufrag = pwd = None
    cands = []
    with open(path) as f:
        for line in f.read().splitlines():
            if line.startswith("a=ice-ufrag:"):
                ufrag = line.split(":", 1)[1]
            elif line.startswith("a=ice-pwd:"):
                pwd = line.split(":", 1)[1]
            elif line.startswith("a=candidate:"):
                cands.append(aioice.Candidate.from_sdp(line[len("a=candidate:"):]))
    return ufrag, pwd, cands


def probe(kind, seq=0, stamp=0):
    return struct.pack("!BIQ", kind, seq, stamp).ljust(100 if kind in (PING, ECHO) else 13, b"\0")


async def run(args):
    user, cred, server = rest_credentials(args.hook)
    conn = aioice.Connection(
        ice_controlling=args.controlling,
        turn_server=server,
        turn_username=user,
        turn_password=cred,
        use_ipv6=False,
        transport_policy=ice.TransportPolicy.RELAY,
    )
    deadline = time.monotonic() + args.timeout
    try:
        await conn.gather_candidates()
        relays = [c for c in conn.local_candidates if c.type == "relay"]
        check("aioice gathered a relay candidate through turnpiked (%s)"
              % ", ".join("%s:%d" % (c.host, c.port) for c in relays),
              len(relays) > 0 and len(relays) == len(conn.local_candidates))
        write_sdp(args.local_sdp, conn)
        ufrag, pwd, cands = await read_sdp(args.remote_sdp, deadline)
        check("turnpike-peer's SDP has ice-ufrag, ice-pwd and %d candidates (%s)"
              % (len(cands), ", ".join(c.type for c in cands)),
              ufrag and pwd and len(cands) > 0)
        conn.remote_username, conn.remote_password = ufrag, pwd
        for c in cands:
            await conn.add_remote_candidate(c)
        await conn.add_remote_candidate(None)
        t0 = time.monotonic()
        await asyncio.wait_for(conn.connect(), max(1, deadline - time.monotonic()))
        check("aioice (%s) connected to turnpike-peer in %.0f ms"
              % ("controlling" if args.controlling else "controlled",
                 (time.monotonic() - t0) * 1000), True)

        state = {"echoes": set(), "answered": 0, "bye": False, "acked": False}

        async def receiver():
            while True:
                data = await conn.recv()
                if len(data) < 13:
                    continue
                kind, seq, stamp = struct.unpack("!BIQ", data[:13])
                if kind == PING:
                    state["answered"] += 1
                    await conn.send(bytes([ECHO]) + data[1:])
                elif kind == ECHO:
                    state["echoes"].add(seq)
                elif kind == BYE:
                    state["bye"] = True
                    await conn.send(probe(BYE_ACK))
                elif kind == BYE_ACK:
                    state["acked"] = True

        rx = asyncio.ensure_future(receiver())
        for i in range(args.data):
            await conn.send(probe(PING, i, int(time.monotonic() * 1e6)))
            await asyncio.sleep(0.02)
        end = min(deadline, time.monotonic() + 3)
        while len(state["echoes"]) < args.data and time.monotonic() < end:
            await asyncio.sleep(0.02)
        check("aioice -> turnpike-peer -> aioice: %d of %d datagrams came back"
              % (len(state["echoes"]), args.data), len(state["echoes"]) == args.data)
        # Goodbye both ways, as turnpike-peer does, so neither waits. Its
        # answer to our last bye may be the last thing it sends before it
        # leaves (and releases its allocation): only its own bye, which it
        # repeats until we answer, is required.
        end = min(deadline, time.monotonic() + 5)
        while not (state["acked"] and state["bye"]) and time.monotonic() < end:
            if not state["acked"]:
                await conn.send(probe(BYE))
            if state["bye"]:
                end = min(end, time.monotonic() + 0.5)
            await asyncio.sleep(0.1)
        check("turnpike-peer -> aioice: answered %d of its %d datagrams"
              % (state["answered"], args.peer_data), state["answered"] == args.peer_data)
        check("turnpike-peer said goodbye (our bye answered: %s)" % state["acked"], state["bye"])
        rx.cancel()
    finally:
        await conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hook", required=True, help="the REST hook's ice-servers URL")
    p.add_argument("--controlling", action="store_true")
    p.add_argument("--local-sdp", required=True)
    p.add_argument("--remote-sdp", required=True)
    p.add_argument("--data", type=int, default=20, help="datagrams aioice sends")
    p.add_argument("--peer-data", type=int, default=20, help="datagrams turnpike-peer sends")
    p.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()
    try:
        asyncio.run(asyncio.wait_for(run(args), args.timeout + 5))
    except Exception as e:  # a failure of any kind is one FAIL line
        check("the aioice side ran to the end (%s: %s)" % (type(e).__name__, e), False)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

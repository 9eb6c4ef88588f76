#!/usr/bin/python3
"""turn_aioice.py - two aioice ICE agents (Debian's python3-aioice) that can
reach each other only through turnpiked's relays: each gathers candidates
with the TURN server configured, they trade their relay candidates alone,
connect (one controlling, one controlled) and send datagrams both ways.

Prints one "ok - ..." or "FAIL - ..." line per assertion and exits 0 only if
all passed; the whole run is bounded by --timeout. Used by turn_aioice.sh.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import logging
import sys
import time

import aioice
from aioice import ice, stun

failures = 0


def check(desc, cond):
    global failures
    if cond:
        print("ok - %s" % desc, flush=True)
    else:
        failures += 1
        print("FAIL - %s" % desc, flush=True)
    return cond


# aioice makes a host candidate on every address of every interface but
# 127.0.0.1 (netifaces). Keep every socket of the test on loopback: one host
# candidate on 127.0.0.3. Its checks only go to the remote candidates we add
# (relay addresses on 127.0.0.1), and turnpiked drops them there, as no
# allocation has a permission for 127.0.0.3: the only pair that can work is
# relay <-> relay, through the server.
HOST_ADDRESS = "127.0.0.3"
ice.get_host_addresses = lambda use_ipv4, use_ipv6: [HOST_ADDRESS] if use_ipv4 else []


def describe(c):
    return "%s %s:%d" % (c.type, c.host, c.port)


def is_our_relay(c, args):
    return c.type == "relay" and c.host == args.relay_ip and args.min_port <= c.port <= args.max_port


def payload(direction, i):
    """A datagram of 20 to ~1000 bytes that says who sent it and which it is."""
    body = ("%s %04d " % (direction, i)).encode() * (1 + (i * 37) % 90)
    return body + hashlib.sha256(body).digest()


async def receive(conn, count, per_message_timeout):
    got = []
    try:
        for _ in range(count):
            got.append(await asyncio.wait_for(conn.recv(), per_message_timeout))
    except asyncio.TimeoutError:
        pass
    return got


async def run(args, agents):
    common = dict(
        stun_server=None,  # no STUN server: nothing is asked outside
        turn_server=(args.server, args.port),
        turn_username=args.username,
        turn_password=args.password,
        turn_transport=args.transport,
        use_ipv6=False,
    )
    a = aioice.Connection(ice_controlling=True, **common)
    agents.append(a)
    if args.expect_error:
        # Wrong credentials: gathering must fail with this STUN error code.
        try:
            await a.gather_candidates()
            check("the Allocate is refused (it succeeded: %s)" % a.local_candidates, False)
        except stun.TransactionFailed as e:
            code = e.response.attributes.get("ERROR-CODE", (None, ""))
            check("the Allocate is refused with %s %s" % code, code[0] == args.expect_error)
        return
    b = aioice.Connection(ice_controlling=False, **common)
    agents.append(b)

    await asyncio.gather(a.gather_candidates(), b.gather_candidates())
    relays = {}
    for name, conn in (("A", a), ("B", b)):
        print("  %s local candidates: %s" % (name, ", ".join(describe(c) for c in conn.local_candidates)))
        relays[name] = [c for c in conn.local_candidates if c.type == "relay"]
        check(
            "%s got one relay candidate from turnpiked (%s)" % (name, ", ".join(describe(c) for c in relays[name])),
            len(relays[name]) == 1 and is_our_relay(relays[name][0], args),
        )
        check(
            "%s: every local candidate is on loopback" % name,
            all(c.host.startswith("127.") for c in conn.local_candidates),
        )
    if failures:
        return

    # Signalling: only the relay candidates, then end-of-candidates.
    for local, remote, name in ((a, b, "A"), (b, a, "B")):
        for c in relays[name]:
            await remote.add_remote_candidate(c)
        await remote.add_remote_candidate(None)
        remote.remote_username = local.local_username
        remote.remote_password = local.local_password

    await asyncio.gather(a.connect(), b.connect())
    check("ICE connected (%s over TURN/%s)" % ("A controlling, B controlled", args.transport), True)

    # aioice 0.8 has no public accessor for the selected pair.
    pairs = {}
    for name, conn in (("A", a), ("B", b)):
        pair = conn._nominated.get(1)
        if not check("%s has a nominated pair" % name, pair is not None):
            return
        pairs[name] = pair
        lc, rc = pair.local_candidate, pair.remote_candidate
        check(
            "%s selected pair: local %s -> remote %s, both turnpiked relays" % (name, describe(lc), describe(rc)),
            is_our_relay(lc, args) and is_our_relay(rc, args),
        )
    check(
        "the two selected pairs mirror each other",
        pairs["A"].local_addr == pairs["B"].remote_addr and pairs["A"].remote_addr == pairs["B"].local_addr,
    )

    # Data both ways at once, then collect it.
    sent = {"A": [payload("A->B", i) for i in range(args.count)], "B": [payload("B->A", i) for i in range(args.count)]}
    recv_a = asyncio.ensure_future(receive(a, args.count, 5))
    recv_b = asyncio.ensure_future(receive(b, args.count, 5))
    for i in range(args.count):
        await a.send(sent["A"][i])
        await b.send(sent["B"][i])
        if i % 10 == 9:
            await asyncio.sleep(0.005)
    got = {"B": await recv_b, "A": await recv_a}
    for src, dst in (("A", "B"), ("B", "A")):
        data = got[dst]
        nbytes = sum(len(d) for d in sent[src])
        check(
            "%s -> %s: %d of %d datagrams (%d bytes) arrived through the relays" % (src, dst, len(data), args.count, nbytes),
            len(data) == args.count,
        )
        order = "in order" if data == sent[src] else "not in order"
        check("%s -> %s: every datagram intact (%s)" % (src, dst, order), sorted(data) == sorted(sent[src]))


async def main(args):
    agents = []
    try:
        await asyncio.wait_for(run(args, agents), args.timeout)
    except asyncio.TimeoutError:
        check("finished within %d s" % args.timeout, False)
    except Exception as e:  # what aioice raises: ConnectionError, TransactionError...
        check("no error (%s: %s)" % (type(e).__name__, e), False)
    finally:
        for conn in agents:
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception as e:
                check("close (%s: %s)" % (type(e).__name__, e), False)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--username", help="long-term user, or the user part of a REST name")
    p.add_argument("--password", help="long-term password")
    p.add_argument("--rest-secret", help="TURN REST API shared secret: make time-limited credentials")
    p.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    p.add_argument("--relay-ip", default="127.0.0.1")
    p.add_argument("--min-port", type=int, default=49152)
    p.add_argument("--max-port", type=int, default=65535)
    p.add_argument("--expect-error", type=int, metavar="CODE", help="only check that Allocate fails with CODE")
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--timeout", type=int, default=30)
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    if args.rest_secret:
        # TURN REST API: EXPIRY:USER, password base64(HMAC-SHA1(secret, name)).
        args.username = "%d:%s" % (time.time() + 3600, args.username or "aioice")
        mac = hmac.new(args.rest_secret.encode(), args.username.encode(), hashlib.sha1)
        args.password = base64.b64encode(mac.digest()).decode()
    if not args.username or not args.password:
        p.error("--username and --password, or --rest-secret, are required")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    print(
        "  aioice %s, TURN/%s to %s:%d as %s" % (aioice.__version__, args.transport, args.server, args.port, args.username),
        flush=True,
    )
    asyncio.run(main(args))
    sys.exit(1 if failures else 0)

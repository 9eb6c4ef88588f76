#!/usr/bin/env python3
"""steer.py - the fleet registry in Redis (issue 10, ALTERNATE-SERVER): three
turnpiked register their announce-address and load in the Redis hash
turnpike:servers; server A, full (total-quota 1), sends the Allocates it
cannot take to the least loaded other server, by 300 Try Alternate; a
server that drains is passed over.
Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import signal
import socket
import subprocess
import sys
import time

from turnlib import ALLOCATE, SUCCESS, PASSWORD, REALM, USER, arguments, ok, start, stop
from alternate import alternate_of, ask, error_code, nonce_of, sock

EVERY = 2.0  # the registry's period (steer.c STEER_EVERY_MS)


def allocations(port, n):
    """n allocations on the server at port, kept while the sockets live."""
    held = []
    for _ in range(n):
        s = sock()
        mtype, _ = ask(s, port, nonce_of(s, port))
        if mtype == ALLOCATE | SUCCESS:
            held.append(s)
    return held


def registry(rport):
    out = subprocess.run(["redis-cli", "-p", str(rport), "HGETALL", "turnpike:servers"],
                         capture_output=True, text=True, timeout=5).stdout.split("\n")
    return dict(zip(out[0::2], out[1::2]))


def redirected(port, want=None):
    """The 300 an Allocate on port gets: (code, ALTERNATE-SERVER). With
    want, asks again every 0.5 s, for at most three registry periods (an
    entry is written and read once per period), until that is the answer."""
    end = time.time() + (3 * EVERY if want else 0)
    while True:
        s = sock()
        _, attrs = ask(s, port, nonce_of(s, port))
        got = error_code(attrs), alternate_of(attrs)
        if got == want or time.time() >= end:
            return got
        time.sleep(0.5)


def main():
    args = arguments(("--redis-port", {"type": int, "required": True}),
                     ("--ports", {"required": True, "help": "three free ports, comma-separated"}))
    ports = [int(p) for p in args.ports.split(",")]
    names = ["a", "b", "c"]
    srvs = {}
    for name, port, extra in zip(names, ports, (["--total-quota", "1"],
                                               ["--total-quota", "10", "--drain-seconds", "30"],
                                               ["--total-quota", "10"])):
        cmd = [args.turnpiked, "--listening-ip", "127.0.0.1", "--listening-port", str(port),
               "--relay-threads", "1", "--relay-ip", "127.0.0.1", "--realm", REALM,
               "--user", f"{USER}:{PASSWORD}",
               "--redis-statsdb", f"ip=127.0.0.1 port={args.redis_port}",
               "--announce-address", f"127.0.0.1:{port}"] + extra
        srvs[name] = (start(cmd, f"{args.log}.{name}"), f"{args.log}.{name}")
    a, b, c = ports
    try:
        time.sleep(0.5)
        held_b = allocations(b, 3)
        held_c = allocations(c, 1)
        held_a = allocations(a, 1)
        ok(len(held_b) == 3 and len(held_c) == 1 and len(held_a) == 1,
           "allocations: 3 on b, 1 on c, a full with its 1")
        end = time.time() + 3 * EVERY
        while time.time() < end and len(registry(args.redis_port)) < 3:
            time.sleep(0.2)
        time.sleep(EVERY)  # every server has read the others once
        reg = registry(args.redis_port)
        ok(all(f"127.0.0.1:{p}" in reg for p in ports),
           f"every server is registered ({sorted(reg)})")
        ok(reg.get(f"127.0.0.1:{b}", "").split()[1:2] == ["300"],
           f"b's load is 300 permille ({reg.get(f'127.0.0.1:{b}')})")
        got = redirected(a, (300, f"127.0.0.1:{c}"))
        ok(got == (300, f"127.0.0.1:{c}"), f"a sends its overflow to c, the least loaded ({got})")
        held_c += allocations(c, 4)
        got = redirected(a, (300, f"127.0.0.1:{b}"))
        ok(got == (300, f"127.0.0.1:{b}"), f"c now holds 5: a sends to b ({got})")
        srvs["b"][0].send_signal(signal.SIGTERM)  # b drains
        got = redirected(a, (300, f"127.0.0.1:{c}"))
        ok(got == (300, f"127.0.0.1:{c}"), f"b drains: a sends to c again ({got})")
        for s in held_a + held_b + held_c:
            s.close()
    finally:
        for srv, log in srvs.values():
            if srv.poll() is None:
                srv.send_signal(signal.SIGINT)  # ends a drain, or stops
                try:
                    srv.wait(10)  # before stop() signals again: no race
                except subprocess.TimeoutExpired:
                    pass
            stop(srv, log)
    return ok.finish()


if __name__ == "__main__":
    socket.setdefaulttimeout(5)
    sys.exit(main())

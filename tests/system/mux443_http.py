#!/usr/bin/env python3
"""mux443_http.py - the HTTPS hook on a TURN port keeps its limits, by the
real client address: mux443.sh starts turnpiked with http-listen on its
tls-listening-port (--port here), http-max-connections-per-source 2 and
http-request-timeout 2. From 127.0.0.2, two TLS connections (ALPN
http/1.1) that send no request are held, a third is refused at once while
127.0.0.3 is served, and the held ones are closed at the request timeout;
a connection to the internal listener (--internal) that no worker passed
is refused. Prints "ok - ..." / "FAIL - ..." lines and a closing tally.
"""
import argparse
import socket
import ssl
import sys
import time

passed = failed = 0


def ok(cond, desc):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {desc}")
    else:
        failed += 1
        print(f"FAIL - {desc}")


def https(src, port):
    """A TLS connection from src offering ALPN http/1.1, handshake done."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.socket()
    raw.bind((src, 0))
    raw.settimeout(3)
    raw.connect(("127.0.0.1", port))
    return ctx.wrap_socket(raw)


def closed(s, within):
    """Whether the server closes s within `within` seconds."""
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except (OSError, ssl.SSLError):
        return True


def healthz(src, port):
    try:
        s = https(src, port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        return data.split(b"\r\n", 1)[0].decode(errors="replace")
    except (OSError, ssl.SSLError) as e:
        return repr(e)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--internal", type=int, required=True)
    p.add_argument("--timeout", type=float, required=True)
    a = p.parse_args()

    held = [https("127.0.0.2", a.port) for _ in range(2)]
    t0 = time.time()
    time.sleep(0.3)
    try:
        third = https("127.0.0.2", a.port)
        refused = closed(third, 2)
    except (OSError, ssl.SSLError):
        refused = True
    ok(refused, "a third connection from 127.0.0.2 is refused (http-max-connections-per-source 2)")
    status = healthz("127.0.0.3", a.port)
    ok(status == "HTTP/1.1 200 OK", f"while 127.0.0.3 is served ({status})")
    ok(not closed(held[0], 0.2), "the two held ones are still open")
    ok(closed(held[0], a.timeout + 2) and closed(held[1], 1),
       f"and closed at http-request-timeout ({time.time() - t0:.1f} s, "
       f"http-request-timeout {a.timeout:g} s)")
    # Straight to the internal listener: no worker passed it.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", a.internal))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    ok(closed(s, 3), "a connection to the internal listener that no worker passed is closed")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

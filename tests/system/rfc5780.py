"""rfc5780.py - RFC 5780 NAT behaviour discovery (issue 10): with
alt-listening-ip 127.0.0.2 next to listening-ip 127.0.0.1, Binding answers
name where they leave from (RESPONSE-ORIGIN) and the other address
(OTHER-ADDRESS), a CHANGE-REQUEST is answered from the socket of the address
it asks for and only to the request's source; over TCP, without the
alternate address, and with no-rfc5780, a CHANGE-REQUEST gets 420."""
import os
import select
import socket
import struct
import sys
import time

from turnlib import MAGIC, ERROR, SUCCESS, arguments, attr, error_code, ok, parse, start, stop
from turnlib import unxor_addr

BINDING = 0x001
A_XOR_MAPPED, A_CHANGE, A_UNKNOWN = 0x0020, 0x0003, 0x000A
A_ORIGIN, A_OTHER, A_RESPONSE_PORT = 0x802B, 0x802C, 0x0027
CHANGE_PORT, CHANGE_IP = 0x2, 0x4
PRIMARY, ALT = "127.0.0.1", "127.0.0.2"
# XOR-MAPPED-ADDRESS, RESPONSE-ORIGIN, OTHER-ADDRESS (12 bytes each for
# IPv4) and SOFTWARE "turnpike/x.y.z" after the 20-byte header.
MAX_ANSWER = 20 + 3 * 12 + 24


def binding(flags=None, response_port=None):
    txn = os.urandom(12)
    attrs = [] if flags is None else [attr(A_CHANGE, struct.pack("!I", flags))]
    if response_port is not None:
        attrs.append(attr(A_RESPONSE_PORT, struct.pack("!HH", response_port, 0)))
    body = b"".join(attrs)
    return txn, struct.pack("!HHI", BINDING, len(body), MAGIC) + txn + body


def plain_addr(v):
    """MAPPED-ADDRESS format (RFC 8489 §14.1), IPv4."""
    return socket.inet_ntoa(v[4:8]), struct.unpack("!H", v[2:4])[0]


def udp_ask(to, flags=None, timeout=2.0, response_port=None):
    """Sends one Binding to to; returns (answer bytes, source address) or
    (None, None), and how many more datagrams came within 50 ms."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((PRIMARY, 0))
    s.settimeout(timeout)
    txn, req = binding(flags, response_port)
    s.sendto(req, to)
    try:
        data, src = s.recvfrom(4096)
    except (socket.timeout, ConnectionRefusedError):
        s.close()
        return None, None, None, 0
    extra = 0
    while select.select([s], [], [], 0.05)[0] and extra < 10:
        s.recv(4096)
        extra += 1
    me = s.getsockname()
    s.close()
    if data[8:20] != txn:
        return None, None, me, extra
    return data, src, me, extra


def tcp_ask(to, flags=None):
    s = socket.create_connection(to, timeout=3)
    txn, req = binding(flags)
    s.sendall(req)
    buf = b""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if len(buf) >= 20 and len(buf) >= 20 + struct.unpack("!H", buf[2:4])[0]:
            break
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    s.close()
    mtype, rtxn, attrs = parse(buf[:20 + struct.unpack("!H", buf[2:4])[0]])
    return mtype, rtxn == txn, attrs


def wait_up(port, srv):
    for _ in range(100):
        if srv.poll() is not None:
            return False
        data, _, _, _ = udp_ask((PRIMARY, port), timeout=0.1)
        if data:
            return True
    return False


def is_420_change(mtype, attrs):
    return (mtype == BINDING | ERROR and error_code(attrs) == 420 and
            attrs.get(A_UNKNOWN, b"")[:2] == struct.pack("!H", A_CHANGE))


def check_udp(addrs):
    """Every destination of the four, every CHANGE-REQUEST: the answer's
    source, RESPONSE-ORIGIN and OTHER-ADDRESS (index bit 1: alternate
    port, bit 2: alternate IP, as turnpiked's TURN_NAT_*)."""
    for at in range(4):
        for flags in (None, 0, CHANGE_PORT, CHANGE_IP, CHANGE_IP | CHANGE_PORT):
            bits = (2 if (flags or 0) & CHANGE_IP else 0) | (1 if (flags or 0) & CHANGE_PORT else 0)
            want_src, other = addrs[at ^ bits], addrs[at ^ 3]
            data, src, me, extra = udp_ask(addrs[at], flags)
            what = f"UDP to {addrs[at][0]}:{addrs[at][1]}, CHANGE-REQUEST {flags}"
            if data is None:
                ok(False, f"{what}: answered")
                continue
            mtype, _, attrs = parse(data)
            ok(mtype == BINDING | SUCCESS, f"{what}: success")
            ok(src == want_src, f"{what}: answer from {src[0]}:{src[1]} "
               f"(RFC 5780 §7.2 wants {want_src[0]}:{want_src[1]})")
            ok(A_ORIGIN in attrs and plain_addr(attrs[A_ORIGIN]) == src,
               f"{what}: RESPONSE-ORIGIN is the answer's source (§7.3)")
            ok(A_OTHER in attrs and plain_addr(attrs[A_OTHER]) == other,
               f"{what}: OTHER-ADDRESS {other[0]}:{other[1]} (§7.4)")
            ok(A_XOR_MAPPED in attrs and unxor_addr(attrs[A_XOR_MAPPED]) == me,
               f"{what}: XOR-MAPPED-ADDRESS is our socket")
            ok(len(data) <= MAX_ANSWER and extra == 0,
               f"{what}: one answer of {len(data)} bytes (at most {MAX_ANSWER}), "
               f"{extra} more")


def main():
    args = arguments(("--alt-port", {"type": int, "required": True}))
    port, alt_port = args.port, args.alt_port
    addrs = [(PRIMARY, port), (PRIMARY, alt_port), (ALT, port), (ALT, alt_port)]
    base = [args.turnpiked, "--listening-ip", PRIMARY, "--listening-port", str(port),
            "--relay-threads", "2"]
    nat = ["--alt-listening-ip", ALT, "--alt-listening-port", str(alt_port)]

    srv = start(base + nat, args.log)
    try:
        ok(wait_up(port, srv), "turnpiked with alt-listening-ip answers")
        check_udp(addrs)
        # RFC 5780 §7.5 RESPONSE-PORT is not supported: answers go only
        # where the request came from, so it gets 420 there.
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind((PRIMARY, 0))
        other.setblocking(False)
        data, src, _, extra = udp_ask(addrs[0], CHANGE_IP, response_port=other.getsockname()[1])
        mtype, _, attrs = parse(data) if data else (None, None, {})
        ok(data is not None and src == addrs[0] and extra == 0 and mtype == BINDING | ERROR and
           error_code(attrs) == 420 and
           struct.pack("!H", A_RESPONSE_PORT) in attrs.get(A_UNKNOWN, b""),
           "RESPONSE-PORT: 420 to the request's source, from where it was sent")
        try:
            other.recv(4096)
            ok(False, "RESPONSE-PORT: nothing sent to the port it names")
        except BlockingIOError:
            ok(True, "RESPONSE-PORT: nothing sent to the port it names")
        other.close()
        for at in (0, 3):
            mtype, same, attrs = tcp_ask(addrs[at])
            what = f"TCP to {addrs[at][0]}:{addrs[at][1]}"
            ok(mtype == BINDING | SUCCESS and same and
               plain_addr(attrs.get(A_ORIGIN, b"\0" * 8)) == addrs[at] and
               plain_addr(attrs.get(A_OTHER, b"\0" * 8)) == addrs[at ^ 3],
               f"{what}: RESPONSE-ORIGIN and OTHER-ADDRESS")
            mtype, same, attrs = tcp_ask(addrs[at], CHANGE_IP | CHANGE_PORT)
            ok(same and is_420_change(mtype, attrs),
               f"{what}: CHANGE-REQUEST gets 420 (a connection has one address pair)")
    finally:
        stop(srv, args.log)

    for name, extra in (("without alt-listening-ip", []),
                        ("with no-rfc5780", nat + ["--no-rfc5780"])):
        srv = start(base + extra, args.log)
        try:
            ok(wait_up(port, srv), f"turnpiked {name} answers")
            data, src, _, _ = udp_ask(addrs[0], CHANGE_IP | CHANGE_PORT)
            mtype, _, attrs = parse(data) if data else (None, None, {})
            ok(data is not None and src == addrs[0] and is_420_change(mtype, attrs),
               f"{name}: CHANGE-REQUEST gets 420 from {PRIMARY}:{port} (RFC 5780 §6.1)")
            data, _, _, _ = udp_ask(addrs[0])
            mtype, _, attrs = parse(data) if data else (None, None, {})
            ok(mtype == BINDING | SUCCESS and A_OTHER not in attrs and A_ORIGIN not in attrs,
               f"{name}: Binding answered without OTHER-ADDRESS and RESPONSE-ORIGIN")
            data, _, _, _ = udp_ask(addrs[3], timeout=0.5)
            ok(data is None, f"{name}: nothing listens on {ALT}:{alt_port}")
        finally:
            stop(srv, args.log)
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

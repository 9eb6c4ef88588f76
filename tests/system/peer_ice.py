"""peer_ice.py - a fake ICE agent for peer_ice.sh: it hands turnpike-peer a
description whose one host candidate is this script's UDP socket, reads
turnpike-peer's description, checks that turnpike-peer's connectivity
checks carry what RFC 8445 §7.2.2 asks (USERNAME, PRIORITY, the role
attribute, MESSAGE-INTEGRITY with our password, FINGERPRINT), never answers
them, and throws malformed and wrongly signed checks at turnpike-peer, which
must answer each with the right error or drop it, and still answer a
correct check afterwards."""
import argparse
import hashlib
import hmac
import os
import socket
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from turnlib import MAGIC, attr, ok, parse, unxor_addr  # noqa: E402

BINDING_REQ, BINDING_OK, BINDING_ERR = 0x0001, 0x0101, 0x0111
A_USERNAME, A_MI, A_ERROR, A_XOR_MAPPED = 0x0006, 0x0008, 0x0009, 0x0020
A_PRIORITY, A_USE_CAND, A_FP = 0x0024, 0x0025, 0x8028
A_CONTROLLED, A_CONTROLLING = 0x8029, 0x802A
UFRAG, PWD = "fakeUfrag", "fakePasswordOf24charsXYZ"


def check_msg(mtype, attrs, key=None, fingerprint=True, bad_fp=False, txn=None):
    """A STUN message: attrs, then MESSAGE-INTEGRITY over key, FINGERPRINT."""
    txn = txn or os.urandom(12)
    body = b"".join(attrs)
    if key is not None:
        hdr = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + txn
        body += attr(A_MI, hmac.new(key, hdr + body, hashlib.sha1).digest())
    if fingerprint:
        hdr = struct.pack("!HHI", mtype, len(body) + 8, MAGIC) + txn
        crc = (zlib.crc32(hdr + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += attr(A_FP, struct.pack("!I", crc ^ (1 if bad_fp else 0)))
    return struct.pack("!HHI", mtype, len(body), MAGIC) + txn + body


def mi_ok(buf, key):
    """MESSAGE-INTEGRITY of a message verifies with key (RFC 8489 §14.5)."""
    off = 20
    while off + 4 <= len(buf):
        t, n = struct.unpack("!HH", buf[off:off + 4])
        if t == A_MI:
            hdr = buf[:2] + struct.pack("!H", off + 24 - 20) + buf[4:20]
            want = hmac.new(key, hdr + buf[20:off], hashlib.sha1).digest()
            return hmac.compare_digest(want, buf[off + 4:off + 24])
        off += 4 + n + (-n % 4)
    return False


def fp_ok(buf):
    if len(buf) < 28 or struct.unpack("!H", buf[-8:-6])[0] != A_FP:
        return False
    crc = (zlib.crc32(buf[:-8]) ^ 0x5354554E) & 0xFFFFFFFF
    return struct.unpack("!I", buf[-4:])[0] == crc


def read_sdp(path, deadline):
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
            ufrag = pwd = None
            cands = []
            for line in text.splitlines():
                if line.startswith("a=ice-ufrag:"):
                    ufrag = line.split(":", 1)[1]
                elif line.startswith("a=ice-pwd:"):
                    pwd = line.split(":", 1)[1]
                elif line.startswith("a=candidate:"):
                    f = line.split()
                    cands.append((f[7], f[4], int(f[5])))
            return ufrag, pwd, cands
        time.sleep(0.02)
    return None, None, []


def write_sdp(path, port):
    text = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
            "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
            f"a=ice-ufrag:{UFRAG}\r\na=ice-pwd:{PWD}\r\na=rtcp-mux\r\n"
            "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\na=setup:actpass\r\n"
            f"a=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host\r\n"
            "a=end-of-candidates\r\n")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def ask(sock, to, msg, wait=0.5):
    """Sends msg, returns the answer with its transaction id, or None."""
    sock.sendto(msg, to)
    end = time.monotonic() + wait
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            buf, _ = sock.recvfrom(2048)
        except socket.timeout:
            break
        if len(buf) >= 20 and buf[8:20] == msg[8:20]:
            return buf
    return None


def error_of(buf):
    if not buf or struct.unpack("!H", buf[:2])[0] != BINDING_ERR:
        return None
    v = parse(buf)[2].get(A_ERROR, b"\0\0\0\0")
    return (v[2] & 7) * 100 + v[3]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--local-sdp", required=True, help="turnpike-peer's description")
    p.add_argument("--remote-sdp", required=True, help="ours, for turnpike-peer")
    p.add_argument("--role", choices=["offer", "answer"], required=True,
                   help="turnpike-peer's role")
    p.add_argument("--timeout", type=float, default=10)
    a = p.parse_args()
    deadline = time.monotonic() + a.timeout

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    write_sdp(a.remote_sdp, sock.getsockname()[1])
    ufrag, pwd, cands = read_sdp(a.local_sdp, deadline)
    ok(ufrag is not None and pwd is not None, "turnpike-peer wrote its description")
    if ufrag is None:
        return ok.finish()
    host = [c for c in cands if c[0] == "host"]
    ok(len(host) == 1, f"one host candidate in it ({cands})")
    if not host:
        return ok.finish()
    peer = (host[0][1], host[0][2])

    # Its checks (RFC 8445 §7.2.2), which we never answer.
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        buf, src = sock.recvfrom(2048)
    except socket.timeout:
        buf, src = None, None
    ok(buf is not None and src == peer, f"a check arrives from the host candidate ({src})")
    if buf is not None:
        mtype, _, attrs = parse(buf)
        ok(mtype == BINDING_REQ, "it is a Binding request")
        ok(attrs.get(A_USERNAME) == f"{UFRAG}:{ufrag}".encode(),
           f"USERNAME is rufrag:lufrag ({attrs.get(A_USERNAME)})")
        ok(A_PRIORITY in attrs, "it carries PRIORITY")
        role = A_CONTROLLING if a.role == "offer" else A_CONTROLLED
        ok(role in attrs and len(attrs[role]) == 8,
           f"it carries ICE-{'CONTROLLING' if a.role == 'offer' else 'CONTROLLED'}")
        ok(mi_ok(buf, PWD.encode()), "MESSAGE-INTEGRITY verifies with our password")
        ok(fp_ok(buf), "FINGERPRINT is last and right")

    user = attr(A_USERNAME, f"{ufrag}:{UFRAG}".encode())
    prio = attr(A_PRIORITY, struct.pack("!I", 1862270975))
    role = attr(A_CONTROLLED if a.role == "offer" else A_CONTROLLING, os.urandom(8))
    key = pwd.encode()
    cases = [
        ("no USERNAME, no MESSAGE-INTEGRITY: 400", check_msg(BINDING_REQ, [prio, role]), 400),
        ("signed with a wrong password: 401",
         check_msg(BINDING_REQ, [user, prio, role], key=b"wrong-password-0123456"), 401),
        ("a wrong USERNAME: 401",
         check_msg(BINDING_REQ, [attr(A_USERNAME, f"{ufrag}:other".encode()), prio, role],
                   key=key), 401),
        ("no PRIORITY: 400", check_msg(BINDING_REQ, [user, role], key=key), 400),
        ("a bad FINGERPRINT: dropped",
         check_msg(BINDING_REQ, [user, prio, role], key=key, bad_fp=True), None),
        ("no FINGERPRINT: dropped",
         check_msg(BINDING_REQ, [user, prio, role], key=key, fingerprint=False), None),
        ("a length field past the end: dropped",
         check_msg(BINDING_REQ, [user, prio, role], key=key)[:-4], None),
        ("an attribute running past the message: dropped",
         struct.pack("!HHI", BINDING_REQ, 8, MAGIC) + os.urandom(12) +
         struct.pack("!HH", A_USERNAME, 200) + b"abcd", None),
    ]
    # RFC 8445 §7.3.1.1: our check claims turnpike-peer's own role with a
    # tie-breaker that loses to any of its own: it must answer 487, signed.
    if a.role == "offer":
        same = attr(A_CONTROLLING, struct.pack("!Q", 0))
    else:
        same = attr(A_CONTROLLED, struct.pack("!Q", 2**64 - 1))
    ans = ask(sock, peer, check_msg(BINDING_REQ, [user, prio, same], key=key), 0.5)
    ok(error_of(ans) == 487 and mi_ok(ans, key) and fp_ok(ans),
       f"a role conflict it wins is answered 487, signed (got {error_of(ans) if ans else 'nothing'})")
    for what, msg, want in cases:
        ans = ask(sock, peer, msg, 0.3)
        if want is None:
            ok(ans is None, f"a check with {what}")
        else:
            ok(error_of(ans) == want and fp_ok(ans),
               f"a check with {what} (got {error_of(ans) if ans else 'nothing'})")
    # Still alive and right: a good check gets a signed success.
    ans = ask(sock, peer, check_msg(BINDING_REQ, [user, prio, role], key=key), 1.0)
    good = ans is not None and struct.unpack("!H", ans[:2])[0] == BINDING_OK
    ok(good and mi_ok(ans, key) and fp_ok(ans),
       "then a correct check gets a success signed with its password")
    if good:
        mapped = unxor_addr(parse(ans)[2].get(A_XOR_MAPPED, b"\0" * 8))
        ok(mapped == sock.getsockname(), f"XOR-MAPPED-ADDRESS is our address ({mapped})")
    # RFC 8445 §7.3.1.3-4: a correct check from an address not in our
    # description makes a peer-reflexive candidate, and turnpike-peer sends
    # it a triggered check of its own.
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    ans = ask(other, peer, check_msg(BINDING_REQ, [user, prio, role], key=key), 1.0)
    ok(ans is not None and struct.unpack("!H", ans[:2])[0] == BINDING_OK,
       "a check from an unsignalled address is answered")
    got = None
    end = time.monotonic() + 2
    while got is None and time.monotonic() < end:
        other.settimeout(max(0.01, end - time.monotonic()))
        try:
            buf, src = other.recvfrom(2048)
        except socket.timeout:
            break
        if src == peer and len(buf) >= 20 and struct.unpack("!H", buf[:2])[0] == BINDING_REQ:
            got = buf
    ok(got is not None and mi_ok(got, PWD.encode()),
       "turnpike-peer sends a triggered check to that peer-reflexive candidate")
    return ok.finish()


if __name__ == "__main__":
    sys.exit(main())

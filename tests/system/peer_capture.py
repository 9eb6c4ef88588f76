#!/usr/bin/env python3
"""peer_capture.py - watches the loopback interface while two turnpike-peer
processes call through turnpiked (issue 12) and checks what the relay
forwards between its relayed addresses is not plaintext RTP: the packets
look like RTP from the outside (RFC 7983's first byte) but none carries the
peer's PCMU tone in the clear.

Usage: peer_capture.py --min-port N --max-port N --seconds S --ready PATH
Prints "ok - " / "FAIL - " lines; "skip - " and exit 0 when it may not open
a packet socket (no CAP_NET_RAW)."""
import argparse
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def ulaw(pcm):
    """G.711 µ-law of one 16-bit sample (the same formula as src/peer/rtp.c)."""
    sign = 0
    if pcm < 0:
        pcm, sign = -pcm, 0x80
    pcm = min(pcm, 32635) + 0x84
    exp = 7
    mask = 0x4000
    while exp > 0 and not pcm & mask:
        exp -= 1
        mask >>= 1
    mant = (pcm >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


# turnpike-peer's tone: 1 kHz at 8 kHz, sin(k * 45 deg) at -12 dBFS.
TONE = bytes(ulaw(x) for x in (0, 5793, 8192, 5793, 0, -5793, -8192, -5793))


def plaintext_tone(payload):
    """True when an RTP packet's payload holds a run of the tone."""
    return len(payload) >= 12 + 16 and TONE in payload[12:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-port", type=int, required=True)
    ap.add_argument("--max-port", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()

    # The detector must see the tone in a plaintext packet, or its "none
    # found" below would prove nothing.
    fake = bytes([0x80, 0x00]) + bytes(10) + (TONE * 20)
    if not plaintext_tone(fake):
        print("FAIL - the detector does not recognise a plaintext tone packet")
        return 1
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind(("lo", 0))
    except (PermissionError, OSError) as e:
        print("skip - cannot capture on lo (%s): needs CAP_NET_RAW" % e)
        open(a.ready, "w").write("skip\n")
        return 0
    open(a.ready, "w").write("ready\n")
    relayed = rtp_like = tone = 0
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        frame = s.recv(65535)
        # Loopback frames: a 14-byte Ethernet header of zeros, then IPv4.
        if len(frame) < 14 + 20 + 8 or struct.unpack("!H", frame[12:14])[0] != 0x0800:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17 or len(ip) < ihl + 8:
            continue
        sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
        payload = ip[ihl + 8:]
        # Relay to relay: what one allocation forwards to the other's
        # relayed address, exactly what the peer gave the relay.
        if not (a.min_port <= sport <= a.max_port and a.min_port <= dport <= a.max_port):
            continue
        relayed += 1
        if payload and 128 <= payload[0] <= 191 and len(payload) >= 12 and \
                not 192 <= payload[1] <= 223:
            rtp_like += 1
            if plaintext_tone(payload):
                tone += 1
    print("  captured %d relayed datagrams, %d RTP by their first bytes, %d with the "
          "plaintext tone" % (relayed, rtp_like, tone))
    ok = True
    if rtp_like >= 50:
        print("ok - the capture saw the relayed media (%d RTP-looking datagrams)" % rtp_like)
    else:
        print("FAIL - the capture saw too little relayed media (%d)" % rtp_like)
        ok = False
    if tone == 0:
        print("ok - no relayed packet carries the tone in the clear (SRTP)")
    else:
        print("FAIL - %d relayed packets carry the plaintext tone" % tone)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

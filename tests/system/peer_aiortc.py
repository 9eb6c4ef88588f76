#!/usr/bin/python3
"""peer_aiortc.py - the aiortc side (Debian's python3-aiortc) of a media
call with turnpike-peer (issue 12): an RTCPeerConnection with TURN through
turnpiked, relay candidates only, a 440 Hz tone as its audio track, the
descriptions moved through turnpike-peer's --local-sdp/--remote-sdp files.
aiortc offers (--role offer) or answers turnpike-peer's offer (--role
answer). Then its stats must show PCMU audio received from turnpike-peer
over a selected pair whose local candidate is a relay.

Prints "ok - ..." / "FAIL - ..." lines and "# " lines with the figures;
exits 0 only if all passed; bounded by --timeout. Used by peer_aiortc.sh.
"""

import argparse
import asyncio
import json
import math
import os
import struct
import sys
import time

from aioice import ice
import aiortc
from aiortc import rtcicetransport
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

failures = 0


def check(desc, cond):
    global failures
    if not cond:
        failures += 1
    print("%s - %s" % ("ok" if cond else "FAIL", desc), flush=True)
    return cond


# aiortc makes a host socket on every address of every interface: keep the
# test on loopback, on 127.0.0.3 (turnpiked holds no permission for it, so
# checks from there die at turnpike-peer's relay).
HOST_ADDRESS = "127.0.0.3"
ice.get_host_addresses = lambda use_ipv4, use_ipv6: [HOST_ADDRESS] if use_ipv4 else []


# aiortc 1.4 has no iceTransportPolicy; its ICE agent (aioice) has the
# same policy: relayed candidates only, as a browser's 'relay'.
class RelayConnection(ice.Connection):
    def __init__(self, *args, **kwargs):
        kwargs["transport_policy"] = ice.TransportPolicy.RELAY
        super().__init__(*args, **kwargs)


rtcicetransport.Connection = RelayConnection


class ToneTrack(AudioStreamTrack):
    """20 ms frames of a 440 Hz tone, 8 kHz mono (aiortc paces them)."""

    def __init__(self):
        super().__init__()
        self.n = 0

    async def recv(self):
        frame = await super().recv()
        samples = frame.samples
        pcm = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * (self.n + i) / 8000)))
            for i in range(samples))
        self.n += samples
        frame.planes[0].update(pcm)
        return frame


async def read_peer(path, deadline):
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError("no %s in time" % path)
        await asyncio.sleep(0.05)
    with open(path) as f:
        return f.read()


def write_ours(path, sdp):
    with open(path + ".tmp", "w") as f:
        f.write(sdp)
    os.rename(path + ".tmp", path)


async def consume(track, got):
    try:
        while True:
            await track.recv()
            got["frames"] += 1
    except MediaStreamError:
        pass


async def run(args):
    server = aiortc.RTCIceServer(urls=args.url, username=args.user, credential=args.password)
    pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[server]))
    got = {"frames": 0}
    tasks = []
    pc.on("track", lambda t: tasks.append(asyncio.ensure_future(consume(t, got))))
    deadline = time.monotonic() + args.timeout
    try:
        if args.opus_only:
            # An offer turnpike-peer cannot take: no PCMU in it. It must
            # refuse (no answer) rather than answer with what was not offered.
            tr = pc.addTransceiver(ToneTrack(), direction="sendrecv")
            caps = aiortc.RTCRtpSender.getCapabilities("audio").codecs
            tr.setCodecPreferences([c for c in caps if c.mimeType == "audio/opus"])
            await pc.setLocalDescription(await pc.createOffer())
            write_ours(args.local_sdp, pc.localDescription.sdp)
            check("aiortc offered opus only (%s)" % [c.mimeType for c in tr._preferred_codecs],
                  " 0 " not in pc.localDescription.sdp.split("m=audio")[1].split("\r\n")[0] + " ")
            try:
                await read_peer(args.remote_sdp, min(deadline, time.monotonic() + args.seconds))
                check("turnpike-peer sent no answer to an offer without PCMU", False)
            except TimeoutError:
                check("turnpike-peer sent no answer to an offer without PCMU", True)
            return
        if args.role == "offer":
            pc.addTrack(ToneTrack())
            await pc.setLocalDescription(await pc.createOffer())
            write_ours(args.local_sdp, pc.localDescription.sdp)
            answer = await read_peer(args.remote_sdp, deadline)
            await pc.setRemoteDescription(aiortc.RTCSessionDescription(answer, "answer"))
        else:
            offer = await read_peer(args.remote_sdp, deadline)
            await pc.setRemoteDescription(aiortc.RTCSessionDescription(offer, "offer"))
            pc.addTrack(ToneTrack())
            await pc.setLocalDescription(await pc.createAnswer())
            write_ours(args.local_sdp, pc.localDescription.sdp)
        while pc.connectionState != "connected" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        # Audio flows while turnpike-peer streams: read the figures two
        # thirds into its --duration, before it says goodbye.
        await asyncio.sleep(args.seconds * 2 / 3)
        stats = await pc.getStats()
        inbound = [s for s in stats.values() if s.type == "inbound-rtp"]
        outbound = [s for s in stats.values() if s.type == "outbound-rtp"]
        tr = [t for t in pc.getTransceivers() if t.kind == "audio"][0]
        conn = tr.receiver.transport.transport.iceGatherer._connection
        pair = conn._nominated.get(1)
        codecs = tr.receiver._RTCRtpReceiver__codecs if hasattr(
            tr.receiver, "_RTCRtpReceiver__codecs") else {}
        fig = {
            "state": pc.connectionState,
            "gathered": [c.type for c in conn.local_candidates],
            "local": pair.local_candidate.type if pair else None,
            "remote": pair.remote_candidate.type if pair else None,
            "remote_address": "%s:%d" % (pair.remote_candidate.host, pair.remote_candidate.port)
            if pair else None,
            "received": sum(s.packetsReceived for s in inbound),
            "lost": sum(s.packetsLost for s in inbound),
            "jitter": max([s.jitter for s in inbound], default=None),
            "sent": sum(s.packetsSent for s in outbound),
            "frames_decoded": got["frames"],
            "codecs": sorted(set(c.mimeType for c in codecs.values())),
        }
        print("# aiortc stats (%s): %s" % (args.role, json.dumps(fig)), flush=True)
        check("aiortc gathered relay candidates only (%s)" % ",".join(fig["gathered"]),
              fig["gathered"] and all(t == "relay" for t in fig["gathered"]))
        check("aiortc is connected (%s)" % fig["state"], fig["state"] == "connected")
        check("aiortc's selected pair: relay to relay (%s/%s)" % (fig["local"], fig["remote"]),
              (fig["local"], fig["remote"]) == ("relay", "relay"))
        check("audio from turnpike-peer arrived in aiortc (%d packets, %d frames decoded)"
              % (fig["received"], fig["frames_decoded"]),
              fig["received"] > 0 and fig["frames_decoded"] > 0)
        check("the codec is PCMU (%s)" % fig["codecs"], fig["codecs"] == ["audio/PCMU"])
        check("aiortc sent audio (%d packets)" % fig["sent"], fig["sent"] > 0)
    finally:
        for t in tasks:
            t.cancel()
        await pc.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=("offer", "answer"), required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--local-sdp", required=True)
    ap.add_argument("--remote-sdp", required=True)
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--opus-only", action="store_true",
                    help="offer opus only; expect no answer within --seconds")
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()
    try:
        asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except Exception as e:  # the call did not run: one clear line
        check("the call ran (%s: %s)" % (type(e).__name__, e), False)
    print("# %d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# udp_connected.sh - an allocation with one permitted peer relays through a
# relay socket connected to that peer (no route lookup per datagram);
# permissions stay per IP, other peers are served unconnected from the
# same relayed address. The clients and peers are udp_connected.py.
. "$(dirname "$0")/lib.sh"

run_py udp_connected.py
finish

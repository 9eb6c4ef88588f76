#!/usr/bin/env bash
# tcp_relay.sh - RFC 6062 TCP relay: Connect, ConnectionBind,
# ConnectionAttempt, the peer policy on Connect, the 30-second bind
# deadline (this test takes about 32 s for it).
. "$(dirname "$0")/lib.sh"

run_py tcp_relay.py
finish

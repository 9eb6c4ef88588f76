#!/usr/bin/env bash
# dual.sh - dual allocations (ADDITIONAL-ADDRESS-FAMILY, RFC 8656 §7.2):
# an IPv4 and an IPv6 relayed address, each relaying to peers of its
# family both ways; without IPv6 relays, ADDRESS-ERROR-CODE 440.
. "$(dirname "$0")/lib.sh"

run_py dual.py --port2 "$("$FREEPORT")"
finish

#!/usr/bin/env bash
# udp_offload.sh - bursts of same-size datagrams cross the kernel once:
# turnpiked reads a client's or a peer's UDP GSO burst as one GRO read,
# splits it in order, and sends what goes to one destination at one size
# as one GSO send. The client and peer are udp_offload.py.
. "$(dirname "$0")/lib.sh"
exclusive

make_cert 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" || { fail "openssl makes a test certificate"; finish; }
run_py udp_offload.py --cert "$TMP/cert.pem" --key "$TMP/key.pem"
finish

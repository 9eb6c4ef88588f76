#!/usr/bin/env bash
# reload.sh - SIGHUP reloads the secrets, users, peer policy, quotas,
# bandwidth limits, alternate servers and REST API keys for new requests
# while a live allocation relays without loss, with two workers (reload.py);
# a broken file is refused and changes nothing.
. "$(dirname "$0")/lib.sh"

run_py reload.py
finish

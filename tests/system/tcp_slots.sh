#!/usr/bin/env bash
# tcp_slots.sh - TCP clients that never authenticate cannot hold the
# server's slots (issue 9, item 5): a per-source share, shedding the oldest
# unauthenticated connection when the table is full, authenticated
# connections never shed, and Bindings alone keep no connection alive.
. "$(dirname "$0")/lib.sh"

run_py tcp_slots.py
finish

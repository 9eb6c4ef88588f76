#!/usr/bin/env bash
# release.sh - what a client sends just before it releases its allocation
# still reaches the peer (the relay socket closes after the batch's queued
# datagrams have left). The client is release.py.
. "$(dirname "$0")/lib.sh"

run_py release.py
finish

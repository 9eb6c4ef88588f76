#!/usr/bin/env bash
# redis_reset.sh - the Redis connection reset while clients leave (issue 9,
# item 1): a fake Redis (redis_reset.py) holds a parked Allocate's quota
# decision and resets the worker's connection just as a TCP client closes
# and a UDP client deletes its allocation. On the old code this was a
# heap-use-after-free of the closed TCP connection (ASan), and over UDP the
# leaving client got another client's answer.
. "$(dirname "$0")/lib.sh"

run_py redis_reset.py
finish

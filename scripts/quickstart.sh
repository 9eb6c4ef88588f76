#!/usr/bin/env bash
# quickstart.sh - on a fresh Debian machine: install what turnpike needs,
# build it, and run turnpiked in the foreground on etc/turnpike.conf
# (STUN/TURN on UDP and TCP port 3478, all addresses). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

apt_install $BUILD_PKGS
configure_build build
make -C build -j"$(nproc)" -s
echo "starting build/turnpiked -c etc/turnpike.conf (Ctrl-C to stop)"
exec build/turnpiked -c etc/turnpike.conf "$@"

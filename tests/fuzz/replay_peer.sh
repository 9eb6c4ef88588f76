#!/usr/bin/env bash
# replay_peer.sh - feeds the committed turnpike-peer corpus through its fuzz
# target without libFuzzer (see replay_corpus.sh).
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
exec "$top_builddir/tests/fuzz/replay_peer" "$top_srcdir/tests/fuzz/corpus/peer"

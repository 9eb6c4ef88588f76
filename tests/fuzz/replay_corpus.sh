#!/usr/bin/env bash
# replay_corpus.sh - feeds the committed fuzz corpus through the fuzz target
# without libFuzzer, so `make check` catches regressions on known inputs.
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
exec "$top_builddir/tests/fuzz/replay_stun" "$top_srcdir/tests/fuzz/corpus/stun"

#!/usr/bin/env bash
# replay_conf.sh - feeds the committed configuration corpus through its fuzz
# target without libFuzzer (see replay_corpus.sh).
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
exec "$top_builddir/tests/fuzz/replay_conf" "$top_srcdir/tests/fuzz/corpus/conf"

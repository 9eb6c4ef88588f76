#!/usr/bin/env bash
# replay_stream.sh - feeds the committed stream-framing corpus through its
# fuzz target without libFuzzer (see replay_corpus.sh).
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
exec "$top_builddir/tests/fuzz/replay_stream" "$top_srcdir/tests/fuzz/corpus/stream"

#!/usr/bin/env bash
# replay_server.sh - feeds the committed whole-server corpus through its
# fuzz target without libFuzzer (see replay_corpus.sh).
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
exec "$top_builddir/tests/fuzz/replay_server" "$top_srcdir/tests/fuzz/corpus/server"

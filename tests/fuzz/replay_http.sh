#!/usr/bin/env bash
# replay_http.sh - feeds the committed HTTP-request corpus through its fuzz
# target without libFuzzer (see replay_corpus.sh).
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
exec "$top_builddir/tests/fuzz/replay_http" "$top_srcdir/tests/fuzz/corpus/http"

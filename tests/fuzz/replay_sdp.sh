#!/usr/bin/env bash
# replay_sdp.sh - feeds the committed SDP corpus and the SDP test vectors
# through the SDP fuzz target without libFuzzer (see replay_corpus.sh).
: "${top_builddir:=.}"
: "${top_srcdir:=.}"
exec "$top_builddir/tests/fuzz/replay_sdp" "$top_srcdir/tests/fuzz/corpus/sdp" \
	"$top_srcdir/tests/vectors/sdp"

#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets (clang, --enable-fuzzing: ASan +
# UBSan + libFuzzer, in build-fuzz/) and runs them (tests/fuzz/README).
#
#   scripts/fuzz.sh [SECONDS]          every target SECONDS (default 15)
#                                      from its committed corpus, one at
#                                      a time a core; CI
#   scripts/fuzz.sh run TARGET ARGS..  one target, libFuzzer ARGS, on
#                                      build-fuzz/fz/TARGET and the corpus
#   scripts/fuzz.sh merge TARGET       minimise build-fuzz/fz/TARGET plus
#                                      the committed corpus into it
#
# A crash, leak or timeout fails the run; its input is left in
# build-fuzz/fz/ as crash-*, leak-* or timeout-*. New corpus entries go
# to build-fuzz/fz/TARGET, never to the committed corpus (merge does that).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

TARGETS="stun sdp stream server conf http peer"
dir=build-fuzz

build() {
	apt_install $BUILD_PKGS clang libclang-rt-14-dev
	[ -f "$dir/Makefile" ] || configure_build "$dir" CC=clang --enable-fuzzing
	local progs="" p
	for p in $TARGETS; do progs="$progs tests/fuzz/fuzz_$p"; done
	make -C "$dir" -j"$(nproc)" -s $progs
	mkdir -p "$dir/fz" # work directories and logs (a clean clone has none)
}

# run WORKDIR TARGET ARGS...: the target over its work directory (under
# build-fuzz/fz/, where new inputs go) and its committed corpus.
run() {
	local w=$1 t=$2
	shift 2
	mkdir -p "$dir/fz/$w"
	(cd "$dir/fz" && exec nice -n 10 "../tests/fuzz/fuzz_$t" -artifact_prefix="$PWD/" \
		-print_final_stats=1 "$@" "$w" "../../tests/fuzz/corpus/$t")
}

case "${1:-}" in
run)
	shift
	build
	run "$1" "$@"
	;;
merge)
	t=$2
	build
	tmp=$(mktemp -d)
	"$dir/tests/fuzz/fuzz_$t" -merge=1 "$tmp" "tests/fuzz/corpus/$t" "$dir/fz/$t" >/dev/null 2>&1
	# Over 300 files (the cap per target): keep what covers new edges
	# only, not new hit counts.
	if [ "$(ls "$tmp" | wc -l)" -gt 280 ]; then
		rm -rf "$tmp"
		tmp=$(mktemp -d)
		"$dir/tests/fuzz/fuzz_$t" -merge=1 -use_counters=0 "$tmp" "tests/fuzz/corpus/$t" \
			"$dir/fz/$t" >/dev/null 2>&1
	fi
	# Named files (seeds, regress-*) stay; what fuzzing found is named by
	# its SHA-1 and replaced by the minimised set.
	find "tests/fuzz/corpus/$t" -type f -regextype posix-extended \
		-regex '.*/[0-9a-f]{40}' -delete
	cp "$tmp"/* "tests/fuzz/corpus/$t/"
	rm -rf "$tmp"
	echo "tests/fuzz/corpus/$t: $(ls "tests/fuzz/corpus/$t" | wc -l) files," \
		"$(du -sk "tests/fuzz/corpus/$t" | cut -f1) kB"
	;;
*)
	secs=${1:-15}
	build
	# One lane a core, each running its share of the targets in turn.
	lanes=$(nproc)
	tlist=($TARGETS)
	for ((l = 0; l < lanes; l++)); do
		(
			for ((i = l; i < ${#tlist[@]}; i += lanes)); do
				t=${tlist[i]}
				# From the committed corpus only: a fresh work directory.
				rm -rf "$dir/fz/ci-$t"
				if run "ci-$t" "$t" -max_total_time="$secs" -timeout=10 \
					-rss_limit_mb=2048 >"$dir/fz/$t.ci.log" 2>&1; then
					echo ok >"$dir/fz/$t.ci.rc"
				else
					echo failed >"$dir/fz/$t.ci.rc"
				fi
			done
		) &
	done
	wait
	rc=0
	for t in $TARGETS; do
		echo "== fuzz_$t, ${secs}s: $(cat "$dir/fz/$t.ci.rc" 2>/dev/null)"
		grep -E '^stat::number_of_executed_units|^Done' "$dir/fz/$t.ci.log" | tr '\n' ' '
		echo
		if [ "$(cat "$dir/fz/$t.ci.rc" 2>/dev/null)" != ok ]; then
			tail -n 60 "$dir/fz/$t.ci.log"
			echo "fuzz_$t failed: see $dir/fz/$t.ci.log"
			rc=1
		fi
	done
	exit $rc
	;;
esac

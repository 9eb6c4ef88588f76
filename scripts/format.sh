#!/usr/bin/env bash
# format.sh - clang-format every C file (--check: fail if any would change).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h')
if [ "${1:-}" = "--check" ]; then
	clang-format --dry-run --Werror $files
	echo "format: $(wc -w <<<"$files") files clean"
else
	clang-format -i $files
fi

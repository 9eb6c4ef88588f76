#!/usr/bin/env bash
# regen.sh - regenerate the files derived from the option table: the sample
# config etc/turnpike.conf and the option list in man/turnpike.conf.5.
# Usage: scripts/regen.sh [BUILD_DIR] (default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/turnpiked
"$bin" --print-config >etc/turnpike.conf
"$bin" --print-man >man/.options.tmp
awk -v f=man/.options.tmp '
	/^\.\\" BEGIN OPTIONS/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
	/^\.\\" END OPTIONS/ { skip = 0 }
	!skip { print }' man/turnpike.conf.5 >man/.conf5.tmp
mv man/.conf5.tmp man/turnpike.conf.5
rm -f man/.options.tmp
echo "regenerated etc/turnpike.conf and man/turnpike.conf.5"

# netns.sh - sourced by the system tests that drive headless Chromium
# (chromium.sh, peer_chromium.sh) before lib.sh. browser_netns SCRIPT.mjs
# ARGS...: in the host's namespace (npm needs the registry), installs
# playwright-core once per build tree beside a copy of SCRIPT.mjs (node
# looks for node_modules next to it), then runs the test again inside a
# private network namespace with only loopback (unshare -n). Returns only
# there (TURNPIKE_NETNS set), or where that cannot be done, with the reason
# in TURNPIKE_SKIP. Sets CHROMIUM and BROWSER (the build tree's copy).
# shellcheck shell=bash
CHROMIUM=/usr/bin/chromium
PW_VERSION=1.65.2
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
BROWSER=$top_builddir/tests/browser
export top_builddir top_srcdir
. "$top_srcdir/tests/system/exclusive.sh"

browser_netns() {
	local script=$1 why="" t
	shift
	[ -n "${TURNPIKE_NETNS:-}" ] && return 0
	for t in "$CHROMIUM" node npm unshare; do
		command -v "$t" >/dev/null || why="$t not installed (Debian packages chromium, nodejs, npm, util-linux)"
	done
	if [ -z "$why" ] && ! { [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; }; then
		why="needs root to run Chromium in a private network namespace (unshare -n)"
	fi
	if [ -z "$why" ]; then
		exclusive # Chromium is heavy; and one npm install at a time
		mkdir -p "$BROWSER"
		if ! grep -qs "\"version\": \"$PW_VERSION\"" \
			"$BROWSER/node_modules/playwright-core/package.json"; then
			npm install --no-save --no-audit --no-fund --prefix "$BROWSER" \
				"playwright-core@$PW_VERSION" >"$BROWSER/npm.log" 2>&1 ||
				why="npm install playwright-core@$PW_VERSION failed: $(tail -n 1 "$BROWSER/npm.log")"
		fi
		cp "$top_srcdir/tests/browser/$script" "$BROWSER/$script"
	fi
	if [ -z "$why" ]; then
		exec unshare -n env TURNPIKE_NETNS=1 bash "$0" "$@"
	fi
	TURNPIKE_SKIP=$why
}

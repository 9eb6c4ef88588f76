# deps.sh - the Debian packages turnpike needs, installed with apt-get.
# Sourced by quickstart.sh and check.sh; run as root (or with sudo present).
# shellcheck shell=bash

BUILD_PKGS="build-essential autoconf automake pkg-config libssl-dev libevent-dev
libhiredis-dev libsrtp2-dev"
# What the tests drive besides our own code: real clients and servers (and
# liburing-dev, for the bench's io_uring probe, bench/uring-probe.c).
TEST_PKGS="coturn stun-client redis-server clang libclang-rt-14-dev clang-format
iproute2 procps python3-aioice python3-aiortc curl python3 openssl prometheus chromium nodejs
util-linux haproxy python3-openssl python3-yaml systemd groff-base nftables liburing-dev"
# Debian's nodejs comes without npm; a Node.js from elsewhere brings its own
# (and Debian's npm would fight it).
command -v npm >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS npm"

# apt_install PKG...: installs what is missing, quietly.
apt_install() {
	local missing="" p sudo=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "installing:$missing"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			$missing >/dev/null
}

# configure_build DIR [configure args...]: an out-of-tree build in DIR.
# Its default config file is /etc/turnpike/turnpike.conf, as the README and
# the man pages say (--sysconfdir=/etc, Debian's; a later argument wins).
configure_build() {
	local dir=$1
	shift
	[ -x configure ] || autoreconf -fi
	mkdir -p "$dir"
	(cd "$dir" && ../configure -q --sysconfdir=/etc "$@")
}

#!/usr/bin/env bash
# quickstart.sh - everything a fresh Debian 12 machine needs, in one place.
#
#   contrib/quickstart.sh demo   install what is missing, build, run the demo
#   contrib/quickstart.sh test   install what is missing, run the whole suite
#
# Run as root (it uses apt-get). Safe to run again: it installs only what
# is missing and rebuilds incrementally.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)

# Build and test dependencies, by Debian package name. Postfix is
# installed unconfigured (no system mail server is started); the tests
# run private instances on loopback. Sendmail conflicts with it as a
# package: the Sendmail tests unpack it privately (apt-get download).
PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libssl-dev libyaml-dev libidn2-dev libmilter-dev libcmocka-dev
	clang libclang-rt-14-dev llvm valgrind mandoc groff-base
	postfix swaks libnet-ssleay-perl libio-socket-ssl-perl m4 openssl
	python3 python3-jsonschema procps util-linux systemd logrotate strace
	clang-format
	# The deb stage (tests/deb/run.sh): a Debian 12 chroot (debootstrap,
	# cached with zstd), lintian, hardening-check and dch (devscripts).
	debootstrap devscripts lintian zstd git iproute2
)

log() { printf '==> %s\n' "$*"; }

install_deps() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "dependencies: all installed"
		return
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "quickstart: missing packages: ${missing[*]}; run as root" >&2
		exit 1
	fi
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
	local dir=$src/_build/demo
	cd "$src"
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1
	mkdir -p "$dir"
	cd "$dir"
	[ -f Makefile ] || "$src"/configure --enable-werror -q
	make -s -j"$(nproc)" >/dev/null
	echo "$dir"
}

demo() {
	local dir
	dir=$(build)
	exec "$src"/contrib/demo.sh "$dir"
}

case "${1:-}" in
demo)
	install_deps
	demo
	;;
test)
	install_deps
	exec "$src"/tests/run-stages.sh
	;;
deps)
	install_deps
	;;
*)
	echo "usage: $0 demo|test|deps" >&2
	exit 64
	;;
esac

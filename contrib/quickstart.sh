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

# Build and test dependencies, by Debian package name. prometheus is
# there for promtool (the metrics and alerting-rule tests); the server it
# also brings is kept from starting (see quiet_prometheus). Postfix is
# installed unconfigured (no system mail server is started); the tests
# run private instances on loopback. Sendmail conflicts with it as a
# package: the Sendmail tests unpack it privately (apt-get download).
PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libssl-dev libyaml-dev libidn2-dev libmilter-dev libcmocka-dev
	clang libclang-rt-14-dev llvm valgrind mandoc groff-base
	postfix swaks libnet-ssleay-perl libio-socket-ssl-perl m4 openssl
	python3 python3-jsonschema procps util-linux systemd logrotate strace
	clang-format prometheus
	# The browser stage; the PDF's page count depends on the fonts: named.
	chromium chromium-driver python3-selenium poppler-utils fonts-dejavu-core
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
		[ "$(id -u)" -ne 0 ] || quiet_prometheus
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
	no_service_start
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[ -z "$policy_rc_ours" ] || rm -f "$policy_rc_ours"
	quiet_prometheus
}

# While packages install, no service they bring may start (the
# prometheus server, postfix): a policy-rc.d that says no, unless the
# machine has one already. Removed again after the install.
policy_rc_ours=
no_service_start() {
	[ -e /usr/sbin/policy-rc.d ] && return
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	policy_rc_ours=/usr/sbin/policy-rc.d
}

# Only promtool is wanted from the prometheus package: its server must
# not run (it would listen on :9090 and scrape). Stopped and masked, with
# systemd as PID 1 or without it (a container: mask by the symlink
# systemctl would make, stop whatever the init script started).
quiet_prometheus() {
	dpkg-query -W -f='${Status}' prometheus 2>/dev/null |
		grep -q 'install ok installed' || return 0
	if [ -d /run/systemd/system ]; then
		systemctl stop prometheus.service 2>/dev/null || true
		systemctl mask prometheus.service >/dev/null 2>&1 || true
	else
		mkdir -p /etc/systemd/system
		ln -sf /dev/null /etc/systemd/system/prometheus.service
		if [ -x /etc/init.d/prometheus ]; then
			/etc/init.d/prometheus stop >/dev/null 2>&1 || true
		fi
		update-rc.d prometheus disable >/dev/null 2>&1 || true
	fi
	log "prometheus.service stopped and masked (only promtool is used)"
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

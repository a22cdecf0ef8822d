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

# Build and test dependencies, by Debian package name.
PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libssl-dev libyaml-dev libidn2-dev libmilter-dev libcmocka-dev
	clang libclang-rt-14-dev llvm valgrind mandoc groff-base
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
	local dir policy=$src/contrib/tlspolicy.yaml.sample
	dir=$(build)
	log "checking the sample policy: tlspolicy-milter -n"
	"$dir"/tlspolicy-milter -c "$policy" -n --mta postfix
	q() {
		log "query: $*"
		"$dir"/tlspolicy-milter -c "$policy" -q "$@"
	}
	q rcpt_addr=alice@example.com mta=postfix
	q rcpt_addr=alice@example.com mta=postfix tls_version=TLSv1.2 \
		cipher=ECDHE-RSA-AES256-GCM-SHA384 cipher_bits=256
	q rcpt_addr=bob@health.example rcpt_addr=carol@example.com mta=postfix \
		tls_version=TLSv1.2 cipher=AES128-SHA cipher_bits=128
	q mail_addr=billing@partner.example rcpt_addr=dave@example.com \
		mta=sendmail tls_version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 \
		cipher_bits=256 verify=OK \
		'cert_subject=/C=XX/O=Partner/CN=mx1.partner.example' \
		'cert_issuer=/C=XX/O=Partner/CN=Partner+20Issuing+20CA'
	log "demo done: the policy engine; the milter daemon demo replaces this"
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

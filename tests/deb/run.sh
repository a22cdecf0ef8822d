#!/bin/bash
# tests/deb/run.sh - the Debian package, built and installed in a minimal
# Debian 12 chroot: never on the machine that runs the from-source tests.
#
#   1. a minbase Debian 12 (debootstrap from the Debian mirror), cached as a
#      tarball with the .debs that the steps below install (the cold path
#      builds it; a later run unpacks it afresh);
#   2. in it: apt-get build-dep (the declared build dependencies must be
#      enough), dpkg-buildpackage -us -uc -b from a clean copy of the tree
#      (git archive of the working tree's tracked files), and again with
#      the version "+upgradetest1" (dch --local, nocheck);
#   3. here: lintian --fail-on error,warning on the first build, and
#      hardening-check on both programs;
#   4. in the chroot: tests/deb/inside.sh (install, every file's owner and
#      mode, the daemon as the unit runs it plugged into a private Postfix
#      in a network namespace of its own, verify, upgrade, remove, purge).
#
# Every chroot command runs in new mount and PID namespaces: its mounts
# (/proc, /dev, /run) and processes vanish with it, whatever happens; the
# trap below removes the work directory (after checking that nothing is
# mounted below it). Exit 0 when all passes, 1 on a failure, 77 when not
# root or a tool is missing.
#
#   TLSP_DEB_CACHE   cache directory (default /var/cache/tlspolicy-deb);
#                    remove it to measure the cold path
#   TLSP_DEB_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   TLSP_DEB_KEEP=1  keep the work directory
#   TLSP_LOCK        when set, the heavy steps (build, install test) run
#                    under flock on this file; the cache build does not
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${TLSP_DEB_CACHE:-/var/cache/tlspolicy-deb}
mirror=${TLSP_DEB_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# Refreshed weekly: the cached package lists and .debs age.
max_age_days=7
# Installed in the chroot by the test, downloaded into the cache.
TEST_PACKAGES="postfix swaks libnet-ssleay-perl libio-socket-ssl-perl openssl procps"

if [ "$(id -u)" != 0 ]; then
	echo "deb: skipped (needs root: debootstrap, chroot, namespaces)"
	exit 77
fi
for tool in debootstrap lintian hardening-check dch zstd unshare git ip; do
	if ! command -v "$tool" >/dev/null; then
		echo "deb: skipped: $tool is missing (contrib/quickstart.sh deps installs it)"
		exit 77
	fi
done

# The clean copy is git's (the tracked files): a tree without git (an
# unpacked tarball) cannot say which files are the package's source.
if ! git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "deb: skipped: $src is not a git work tree (the clean copy comes from git archive)"
	exit 77
fi

work=$(mktemp -d /var/tmp/tlsp-deb.XXXXXX)
root=$work/root
t0=$(date +%s)

cleanup() {
	local rc=$?
	# The chroot's mounts live in namespaces that are gone by now; this
	# only guards against a mount that leaked into ours.
	if findmnt -rn -o TARGET | grep -q "^$work/"; then
		findmnt -rn -o TARGET | grep "^$work/" | sort -r |
			xargs -r -n1 umount -l || true
	fi
	if [ "${TLSP_DEB_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
		echo "deb: work directory kept: $work"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT

step() { printf '==> deb: %s (%ss)\n' "$*" $(($(date +%s) - t0)); }

# in_chroot [--net] CMD...: CMD in the chroot, in new mount and PID
# namespaces (and with --net a new network namespace, loopback only),
# with /proc, /dev and an empty /run.
in_chroot() {
	local net=()
	if [ "$1" = --net ]; then
		net=(--net)
		shift
	fi
	unshare --mount --pid --fork "${net[@]}" --mount-proc="$root/proc" \
		/bin/bash -euc '
		root=$1; shift
		mount --bind /dev "$root/dev"
		mount -t tmpfs -o mode=0755 tmpfs "$root/run"
		mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
		ip link set lo up 2>/dev/null || true
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
	' in_chroot "$root" "$@"
}

# heavy FUNCTION: runs it holding the lock TLSP_LOCK names, if any.
heavy() {
	local rc=0
	if [ -z "${TLSP_LOCK:-}" ]; then
		"$@"
		return
	fi
	exec 9>>"$TLSP_LOCK"
	flock 9
	"$@" || rc=$?
	flock -u 9
	exec 9>&-
	return $rc
}

# ------------------------------------------------------------- the cache
tarball=$cache/$suite-minbase.tar.zst

build_cache() {
	local tmp=$work/cache-root
	step "building the cached chroot (debootstrap $suite from $mirror)"
	debootstrap --variant=minbase "$suite" "$tmp" "$mirror" \
		>"$work/debootstrap.log" 2>&1 || {
		tail -n 20 "$work/debootstrap.log"
		return 1
	}
	cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true
	mkdir -p "$tmp/build/src/debian"
	cp "$src/debian/control" "$tmp/build/src/debian/control"
	# The .debs only: the test installs them, so that the build
	# dependencies are proved at each run.
	local saved=$root
	root=$tmp
	in_chroot /bin/sh -ec "
		apt-get update -qq
		apt-get build-dep -y -qq --download-only /build/src
		apt-get install -y -qq --download-only $TEST_PACKAGES systemd logrotate
	" >"$work/cache-apt.log" 2>&1 || {
		root=$saved
		tail -n 20 "$work/cache-apt.log"
		return 1
	}
	root=$saved
	rm -rf "$tmp/build"
	mkdir -p "$cache"
	tar -C "$tmp" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$tarball.tmp"
	mv "$tarball.tmp" "$tarball"
	rm -rf --one-file-system "$tmp"
}

if [ ! -s "$tarball" ] || [ -n "$(find "$tarball" -mtime +$max_age_days)" ]; then
	# The mirror is the network: a transient error gets two more tries.
	for attempt in 1 2 3; do
		build_cache && break
		[ "$attempt" -lt 3 ] || {
			echo "deb: the chroot could not be built (3 tries)" >&2
			exit 1
		}
		step "try $attempt failed; again in 15 s"
		rm -rf --one-file-system "$work/cache-root"
		sleep 15
	done
else
	step "using the cached chroot $tarball"
fi
mkdir -p "$root"
zstd -q -d -c "$tarball" | tar -C "$root" --numeric-owner -xf -
step "chroot unpacked"

# ------------------------------------------------------------- the build
# A clean copy: the tracked files as they are in the working tree
# (uncommitted changes included, untracked and built files not).
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
tree=tlspolicy-$version
mkdir -p "$root/build/a/$tree" "$root/build/b"
rev=$(git -C "$src" stash create 2>/dev/null || true)
git -C "$src" archive --format=tar "${rev:-HEAD}" | tar -C "$root/build/a/$tree" -xf -
cp -a "$root/build/a/$tree" "$root/build/b/$tree"
# The same tree, a higher version: what an upgrade installs.
(cd "$root/build/b/$tree" && DEBFULLNAME="tlspolicy test" \
	DEBEMAIL="test@test.example" dch --preserve --local +upgradetest \
	"Rebuilt by tests/deb/run.sh for the upgrade test." >"$work/dch.log" 2>&1) || { cat "$work/dch.log"; exit 1; }
upversion=$(dpkg-parsechangelog -l "$root/build/b/$tree/debian/changelog" -S Version)
cp "$src/tests/deb/inside.sh" "$root/build/inside.sh"

build() {
	step "apt-get build-dep and dpkg-buildpackage in the chroot"
	in_chroot /bin/sh -ec "
		cd /build/a/$tree
		apt-get build-dep -y -qq ./ >/build/build-dep.log 2>&1 ||
			{ tail -n 20 /build/build-dep.log; exit 1; }
		dpkg-buildpackage -us -uc -b >/build/build-a.log 2>&1 ||
			{ tail -n 60 /build/build-a.log; exit 1; }
		cd /build/b/$tree
		DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b -Pnocheck \
			>/build/build-b.log 2>&1 ||
			{ tail -n 60 /build/build-b.log; exit 1; }
	"
}
tb=$(date +%s)
heavy build
build_secs=$(($(date +%s) - tb))
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' "$root/build/build-a.log" || true
step "built $version and $upversion in ${build_secs}s"

# ---------------------------------------------------- lintian, hardening
arch=$(dpkg --print-architecture)
step "lintian --fail-on error,warning"
lintian --fail-on error,warning "$root/build/a/tlspolicy_${version}_$arch.changes"

step "hardening-check"
mkdir -p "$work/x"
for deb in "$root"/build/a/*_"$arch".deb; do
	dpkg-deb -x "$deb" "$work/x"
done
# The five that the package promises must each say "yes" (an "unknown",
# which hardening-check lets pass, is a failure here). Control flow
# protection (-fcf-protection) is not among them: Debian 12's
# hardening=+all does not add it.
for prog in usr/sbin/tlspolicy-milter usr/bin/tlspolicy-audit; do
	hardening-check --nocfprotection "$work/x/$prog" | tee "$work/hardening.out"
	for want in "Position Independent Executable" "Stack protected" \
		"Fortify Source functions" "Read-only relocations" "Immediate binding"; do
		grep -q "^ $want: yes" "$work/hardening.out" || {
			echo "deb: $prog: \"$want\" is not \"yes\""
			exit 1
		}
	done
done

# What systemd would be asked (it does not run in the chroot, so only the
# scripts can be checked): nothing enabled or started at install, a
# running unit restarted after an upgrade (not stopped before it), and
# stopped at remove.
step "maintainer scripts"
dpkg-deb -e "$root/build/a/tlspolicy_${version}_$arch.deb" "$work/ctl"
script_has() { # SCRIPT REGEX WHAT
	if grep -q -E "$2" "$work/ctl/$1"; then
		echo "ok   $1: $3"
	else
		echo "FAIL $1: $3 (no /$2/)"
		exit 1
	fi
}
script_has postinst "deb-systemd-invoke try-restart '?tlspolicy-milter\.service" "try-restart after an upgrade"
script_has prerm '"\$1" = "remove".*' "a stop at remove"
script_has prerm "deb-systemd-invoke stop tlspolicy-milter.service" "  of the unit"
# (Enabling is checked where it happens, in the chroot: postinst only
# re-enables a unit that the admin had enabled.)
for s in postinst preinst; do
	if [ -f "$work/ctl/$s" ] && grep -E 'deb-systemd-invoke (start|stop)' "$work/ctl/$s"; then
		echo "FAIL $s starts or stops the unit"
		exit 1
	fi
done
echo "ok   neither preinst nor postinst starts or stops the unit"

# --------------------------------------------------------- install test
# Two chroot sessions: "install" with the host's network (apt may fetch a
# dependency the cache lacks), then "run" in a network namespace of its
# own, where the private Postfix and the milter see only their loopback.
install_test() {
	step "install in the chroot"
	in_chroot /bin/bash /build/inside.sh install "$version" "$upversion" || return 1
	step "daemon, Postfix, upgrade, remove, purge (own network namespace)"
	in_chroot --net /bin/bash /build/inside.sh run "$version" "$upversion" || return 1
}
heavy install_test
step "passed"
echo "deb: build ${build_secs}s, total $(($(date +%s) - t0))s"

#!/bin/sh
# check-install.sh - make install puts each file where an admin expects
# it, honours DESTDIR, and never overwrites an existing policy.
set -u
build=${top_builddir:-.}
make=${MAKE:-make}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
pass=0 fail=0

check() {
	if eval "$2"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL $1"
	fi
}

inst() { $make -s -C "$build" install DESTDIR="$dest" >"$dest.log" 2>&1; }

prefix=$(sed -n 's/^prefix = //p' "$build/Makefile")
sysconf=$(sed -n 's/^sysconfdir = //p' "$build/Makefile" | sed "s|\${prefix}|$prefix|")
root=$dest$prefix
check "install runs" inst
check "daemon in sbindir" "test -x '$root/sbin/tlspolicy-milter'"
check "policy(5) page" "test -f '$root/share/man/man5/tlspolicy.yaml.5'"
check "milter(8) page" "test -f '$root/share/man/man8/tlspolicy-milter.8'"
check "audit tool in bindir" "test -x '$root/bin/tlspolicy-audit'"
check "audit(1) page" "test -f '$root/share/man/man1/tlspolicy-audit.1'"
check "installed audit tool runs" "'$root/bin/tlspolicy-audit' -V >/dev/null"
# The daemon links nothing of audit/tool/ (whose functions are tlspa_*);
# the tool's own symbols prove nm can see them.
check "daemon links no tool code" \
	"nm '$build/tlspolicy-audit' | grep -q ' T tlspa_' &&
	 ! nm '$build/tlspolicy-milter' | grep -q ' tlspa_'"
check "sample policy" "test -f '$dest$sysconf/tlspolicy/tlspolicy.yaml.sample'"
check "policy installed" "test -f '$dest$sysconf/tlspolicy/tlspolicy.yaml'"
check "installed policy checks" \
	"'$root/sbin/tlspolicy-milter' -c '$dest$sysconf/tlspolicy/tlspolicy.yaml' -n >/dev/null"
echo "# edited by the admin" >>"$dest$sysconf/tlspolicy/tlspolicy.yaml"
check "second install" inst
check "an existing policy is kept" \
	"grep -q 'edited by the admin' '$dest$sysconf/tlspolicy/tlspolicy.yaml'"
check "and the install says so" "grep -q 'keeping the existing' '$dest.log'"
rm -f "$dest.log"
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/bash
# tests/deb/inside.sh - the package's install test, run INSIDE the chroot
# that tests/deb/run.sh built (never on a real host: it installs, upgrades
# and purges packages and runs a Postfix).
#
#   inside.sh install VERSION UPVERSION
#       install the test's tools and the packages of VERSION (/build/a);
#       every installed file's path, owner and mode against
#       tests/deb/manifest; the account, the key, nothing enabled or running.
#   inside.sh run VERSION UPVERSION
#       (in a network namespace of its own) the daemon as the unit runs it,
#       with the installed policy, plugged into a private Postfix
#       (tests/e2e/lib.sh) on loopback; mail over TLS 1.2 and in plaintext;
#       tlspolicy-audit verify; upgrade to UPVERSION (/build/b) with the
#       policy edited by the admin; the daemon again; remove; purge; exactly
#       the audit log and the key remain.
#
# No systemd runs here (it is not PID 1): this script stops and starts the
# daemon itself around the upgrade, so systemd's own restart of the unit
# at upgrade (deb-systemd-invoke try-restart) and its stop at remove are
# not covered.
set -uo pipefail
# One sort order for the manifest, the snapshots and comm(1).
export LC_ALL=C

phase=$1 version=$2 upversion=$3
arch=$(dpkg --print-architecture)
tree=/build/a/tlspolicy-$version
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok   $1"
}
not_ok() {
	failed=$((failed + 1))
	echo "FAIL $1"
	[ $# -lt 2 ] || echo "     $2"
}
check_eq() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got [$2], want [$3]"; fi
}
check() { # NAME COMMAND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}
finish() {
	echo "deb $phase: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
die() {
	not_ok "$1" "${2:-}"
	finish
}

# The file system as a sorted list of paths, without what apt, dpkg and
# the test itself change (package lists, caches, dpkg's database, the
# shadow files' backups) and without the namespaces' mounts.
snapshot() {
	find / -xdev \( -path /proc -o -path /dev -o -path /run -o -path /tmp \
		-o -path /build -o -path /var/lib/dpkg -o -path /var/lib/apt \
		-o -path /var/cache -o -path /var/log/apt \) -prune -o -print |
		grep -v -E '^/(var/log/(dpkg|alternatives)\.log|etc/(passwd|group|shadow|gshadow)-)$' |
		sort
}

# Every path of both packages, and what the maintainer scripts and the
# tmpfiles file make, as "MODE OWNER GROUP PATH".
listing() {
	{
		dpkg-query -L tlspolicy tlspolicy-audit | grep -v -x -E '/\.|'
		printf '%s\n' /etc/tlspolicy/audit.key /var/log/tlspolicy \
			/var/lib/tlspolicy /run/tlspolicy
	} | sort -u | while read -r p; do
		stat -c '%A %U %G %n' "$p" 2>/dev/null || echo "missing $p"
	done | sort
}

case $phase in
install)
	# A chroot starts no services from maintainer scripts.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	# shellcheck disable=SC2086
	# systemd (for systemd-sysusers and systemd-tmpfiles; it does not run
	# here) and logrotate come first, so that the snapshot has them: the
	# packages' other dependencies (libmilter, libyaml) are resolved by
	# apt and autoremoved after the purge.
	apt-get install -y -qq --no-install-recommends postfix swaks \
		libnet-ssleay-perl libio-socket-ssl-perl openssl procps \
		systemd logrotate \
		>/build/apt-test.log 2>&1 || die "install the test's tools" "$(tail -n 5 /build/apt-test.log)"
	snapshot >/build/before.list
	if apt-get install -y -q "/build/a/tlspolicy_${version}_$arch.deb" \
		"/build/a/tlspolicy-audit_${version}_$arch.deb" >/build/apt-a.log 2>&1; then
		ok "apt-get install ./tlspolicy_${version}_$arch.deb ./tlspolicy-audit_${version}_$arch.deb"
	else
		die "apt-get install of the packages" "$(tail -n 10 /build/apt-a.log)"
	fi
	check_eq "installed version" "$(dpkg-query -W -f='${Version}' tlspolicy)" "$version"

	listing >/build/listing.txt
	if diff -u "$tree/tests/deb/manifest" /build/listing.txt >/build/listing.diff; then
		ok "every installed path, owner and mode is in tests/deb/manifest ($(wc -l </build/listing.txt) paths)"
	else
		not_ok "installed files differ from tests/deb/manifest" "$(cat /build/listing.diff)"
	fi
	check_eq "conffiles" "$(dpkg-query -W -f='${Conffiles}\n' tlspolicy | awk 'NF { print $1 }' | sort | paste -sd ' ')" \
		"/etc/default/tlspolicy-milter /etc/logrotate.d/tlspolicy-milter /etc/tlspolicy/tlspolicy.yaml"
	check_eq "the key is 32 bytes" "$(stat -c %s /etc/tlspolicy/audit.key)" 32
	check_eq "the account" "$(getent passwd tlspolicy | cut -d: -f6,7)" "/nonexistent:/usr/sbin/nologin"
	uid=$(id -u tlspolicy)
	check "a system uid ($uid)" test "$uid" -lt 1000
	check_eq "its group" "$(id -gn tlspolicy)" tlspolicy
	check "the unit is not enabled" test ! -e /etc/systemd/system/multi-user.target.wants/tlspolicy-milter.service
	check "the daemon is not running" test -z "$(ps -C tlspolicy-milte -o pid=)"
	check "the unit is the contrib one" cmp -s /lib/systemd/system/tlspolicy-milter.service "$tree/contrib/systemd/tlspolicy-milter.service"
	check "the installed policy checks (-n)" /usr/sbin/tlspolicy-milter -c /etc/tlspolicy/tlspolicy.yaml -n --mta postfix
	check "tlspolicy-audit runs" tlspolicy-audit --help >/dev/null 2>&1
	finish
	;;
run) ;;
*)
	echo "usage: $0 install|run VERSION UPVERSION" >&2
	exit 64
	;;
esac

# ------------------------------------------------------------------ run
# shellcheck source=../e2e/lib.sh
. "$tree/tests/e2e/lib.sh"
unit=/lib/systemd/system/tlspolicy-milter.service
log=/var/log/tlspolicy/audit.log
key=/etc/tlspolicy/audit.key
daemon_pid=""

# As systemd would: /run/tlspolicy from the tmpfiles file (at boot), then
# ExecStart= with $DAEMON_OPTS from the EnvironmentFile, as User=/Group=,
# with UMask=.
systemd-tmpfiles --create tlspolicy.conf
check_eq "/run/tlspolicy from the tmpfiles file" "$(stat -c '%a %U %G' /run/tlspolicy)" "750 tlspolicy tlspolicy"
unit_value() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
start_daemon() {
	local cmd user group umask_ DAEMON_OPTS=""
	cmd=$(unit_value ExecStart)
	user=$(unit_value User) group=$(unit_value Group) umask_=$(unit_value UMask)
	# shellcheck disable=SC1091
	. /etc/default/tlspolicy-milter
	cmd=${cmd//\$DAEMON_OPTS/$DAEMON_OPTS}
	rm -f /build/milter.out
	: >/build/milter.out
	# shellcheck disable=SC2086
	setpriv --reuid="$user" --regid="$group" --init-groups --inh-caps=-all \
		--bounding-set=-all /bin/sh -c "umask $umask_; exec $cmd" \
		>>/build/milter.out 2>&1 &
	daemon_pid=$!
	for _ in $(seq 1 100); do # ready: "started", after the socket
		[ -S /run/tlspolicy/tlspolicy.sock ] &&
			grep -q 'info: started ' /build/milter.out && return 0
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat /build/milter.out
	return 1
}
stop_daemon() {
	local rc
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid"
	for _ in $(seq 1 100); do
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$daemon_pid"
	rc=$?
	daemon_pid=""
	return $rc
}

# README.Debian's step: smtpd must open the 0660 socket of the group.
usermod -a -G tlspolicy postfix
start_daemon || die "the daemon starts as the unit would (ExecStart as $(unit_value User))"
ok "the daemon runs as the unit would: $(ps -o user=,args= -p "$daemon_pid")"
check_eq "its socket" "$(stat -c '%a %U %G' /run/tlspolicy/tlspolicy.sock)" "660 tlspolicy tlspolicy"
check_eq "the audit log" "$(stat -c '%a %U %G' "$log")" "640 tlspolicy tlspolicy"

pf_start /build/pf unix:/run/tlspolicy/tlspolicy.sock || die "a private Postfix on loopback with the milter"
ok "a private Postfix on 127.0.0.1:$PF_PORT (this namespace's loopback), smtpd_milters = unix:/run/tlspolicy/tlspolicy.sock"

# send NAME TLS RCPT: one message; monitor mode accepts it whatever TLS.
send() {
	pf_send --tls "$2" --to "$3" --from "sender@partner.test.example" ||
		{ not_ok "$1: session" "$(tail -n 20 "$PF_LAST_LOG")"; return; }
	check_eq "$1: RCPT accepted (monitor mode)" "$(pf_rcpt_code "$3")" 250
	check_eq "$1: message queued" "$PF_DATA_CODE" 250
}
send "TLS 1.2" TLSv1.2 tls12@test.example
check_eq "TLS 1.2: the session's version" "$(echo "$PF_TLS_STARTED" | grep -c 'TLSv1.2')" 1
send "plaintext" none plain@test.example

# The records (sync: batch writes within 50 ms; bounded wait).
# rec ADDR: the message record with recipient ADDR.
rec() { grep -F "\"addr\":\"<$1>\"" "$log" | head -n 1; }
for _ in $(seq 1 50); do
	[ -n "$(rec plain@test.example)" ] && break
	sleep 0.1
done
r=$(rec tls12@test.example)
check "a record for the TLS 1.2 message" test -n "$r"
check "  TLSv1.2 recorded, the rule passed" grep -q -E \
	'"tls":\{"version":"TLSv1\.2".*"rule":"recipient:default","exempt":false,"status":"pass"' <<<"$r"
r=$(rec plain@test.example)
check "a record for the plaintext message" test -n "$r"
check "  plaintext fails the rule: accepted in monitor mode, would reject" grep -q -E \
	'"observed":"plaintext".*"action":"accept","mode":"monitor","would_action":"reject"' <<<"$r"
out=$(tlspolicy-audit verify --key "$key" "$log" 2>&1)
check "tlspolicy-audit verify --key $key $log: $out" test $? -eq 0

# ------------------------------------------------------------- upgrade
# The admin's edit: kept by the upgrade (the packaged conffile did not
# change, so dpkg keeps it without asking).
sed -i 's/^  log_decisions: actions /  log_decisions: all     /' /etc/tlspolicy/tlspolicy.yaml
echo "# edited by the admin" >>/etc/tlspolicy/tlspolicy.yaml
policy_sum=$(sha256sum </etc/tlspolicy/tlspolicy.yaml)
key_sum=$(sha256sum <"$key")
echo "note: no systemd runs here: this test stops and starts the daemon around the upgrade; systemd's own try-restart at upgrade and stop at remove are not covered"
check "the daemon stops on SIGTERM with status 0" stop_daemon
if apt-get install -y -q "/build/b/tlspolicy_${upversion}_$arch.deb" \
	"/build/b/tlspolicy-audit_${upversion}_$arch.deb" </dev/null >/build/apt-b.log 2>&1; then
	ok "upgrade to $upversion with apt-get install ./..."
else
	not_ok "upgrade to $upversion" "$(tail -n 10 /build/apt-b.log)"
fi
check_eq "upgraded" "$(dpkg-query -W -f='${Version} ${Status}' tlspolicy)" "$upversion install ok installed"
check_eq "the admin's policy is kept" "$(sha256sum </etc/tlspolicy/tlspolicy.yaml)" "$policy_sum"
check "no .dpkg-dist or .dpkg-new beside it" test -z "$(find /etc/tlspolicy /etc/default -name '*.dpkg-*')"
check_eq "the key is kept" "$(sha256sum <"$key")" "$key_sum"
check_eq "  and its owner and mode" "$(stat -c '%a %U %G' "$key")" "400 tlspolicy tlspolicy"
start_daemon || die "the upgraded daemon starts"
ok "the upgraded daemon runs"
send "after the upgrade" TLSv1.2 again@test.example
for _ in $(seq 1 50); do
	[ -n "$(rec again@test.example)" ] && break
	sleep 0.1
done
check "a record after the upgrade" test -n "$(rec again@test.example)"
check "the log holds two starts" test "$(grep -c '"type":"start"' "$log")" -eq 2
check "the daemon stops" stop_daemon
pf_stop
out=$(tlspolicy-audit verify --key "$key" "$log" 2>&1)
check "the log verifies across the upgrade: $out" test $? -eq 0
log_sum=$(sha256sum <"$log")

# ------------------------------------------------------- remove, purge
apt-get remove -y -q tlspolicy tlspolicy-audit </dev/null >/build/apt-rm.log 2>&1
check_eq "removed: config-files remain" "$(dpkg-query -W -f='${Status}' tlspolicy)" "deinstall ok config-files"
check "  the programs are gone" test ! -e /usr/sbin/tlspolicy-milter -a ! -e /usr/bin/tlspolicy-audit
check "  the policy stays until purge" test -f /etc/tlspolicy/tlspolicy.yaml
apt-get purge -y -q tlspolicy tlspolicy-audit </dev/null >/build/apt-purge.log 2>&1
apt-get autoremove --purge -y -q </dev/null >>/build/apt-purge.log 2>&1
check_eq "purged" "$(dpkg-query -W -f='${Status}' tlspolicy 2>&1 | grep -c 'not-installed\|no packages')" 1
snapshot >/build/after.list
# The log directory keeps whatever the daemon wrote there (the log and
# its .head anchor); nothing else is new.
comm -13 /build/before.list /build/after.list >/build/left.list
check_eq "after purge, only the audit log directory and the key remain" \
	"$(grep -v -E '^/var/log/tlspolicy/' /build/left.list | paste -sd ' ')" \
	"/etc/tlspolicy /etc/tlspolicy/audit.key /var/log/tlspolicy"
check "  the log is among them ($(grep -c '^/var/log/tlspolicy/' /build/left.list) files in /var/log/tlspolicy)" \
	grep -q -x /var/log/tlspolicy/audit.log /build/left.list
check_eq "  nothing of the system's was removed" "$(comm -23 /build/before.list /build/after.list | paste -sd ' ')" ""
check_eq "  the log unchanged" "$(sha256sum <"$log")" "$log_sum"
check_eq "  the key unchanged" "$(sha256sum <"$key")" "$key_sum"
check_eq "  /var/log/tlspolicy" "$(stat -c '%a %U %G' /var/log/tlspolicy)" "750 tlspolicy tlspolicy"
finish

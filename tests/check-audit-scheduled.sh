#!/bin/sh
# check-audit-scheduled.sh - scheduled evidence (contrib/systemd,
# contrib/logrotate): tlspolicy-audit-verify's anchor from the journal
# (a stand-in journalctl that prints what the daemon's writer logged:
# tests/audit/mklog -w), verify with the key and that anchor over the
# newest rotated file and audit.log (good, tampered, a wrong anchor, no
# checkpoint), the monthly HTML report, logrotate's prerotate keeping a
# tampered log in place and rotating a good one, and systemd-analyze on
# the units. Exit 0 when all passed, 1 on any failure.
set -u
src=${top_srcdir:-.}
bin=${top_builddir:-.}/tlspolicy-audit
mklog=${top_builddir:-.}/tests/audit/mklog
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
mklog=$(cd "$(dirname "$mklog")" && pwd)/$(basename "$mklog")
script=$src/contrib/systemd/tlspolicy-audit-verify
tmp=$(mktemp -d /tmp/tlsp-sched.XXXXXX) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf 'FAIL %s\n' "$*"
	[ -s "$tmp/out" ] && head -n 20 "$tmp/out" | sed 's/^/    /'
}

# A log the daemon's own writer wrote (rotated half way), its key, and
# the syslog lines it logged, as journalctl -o cat would print them.
mkdir -p "$tmp/log" "$tmp/run" "$tmp/reports"
head -c 32 /dev/urandom >"$tmp/key"
"$mklog" -w "$tmp/w.log" -k "$tmp/key" 2>"$tmp/journal" || bad "mklog -w"
mv "$tmp/w.log.1" "$tmp/log/audit.log-20261130"
mv "$tmp/w.log" "$tmp/log/audit.log"
cat >"$tmp/journalctl" <<'SH'
#!/bin/sh
# journalctl -r -u UNIT -o cat --no-pager: the lines, newest first
case " $* " in *" -r "*) tac "$JOURNAL" ;; *) cat "$JOURNAL" ;; esac
SH
chmod +x "$tmp/journalctl"
export TLSPA="$bin" LOGDIR="$tmp/log" KEY="$tmp/key" ANCHOR="$tmp/run/anchor" \
	JOURNALCTL="$tmp/journalctl" JOURNAL="$tmp/journal" REPORT_DIR="$tmp/reports"
run() {
	sh "$script" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	cat "$tmp/stdout" "$tmp/stderr" >"$tmp/out"
}

# ================================================================ verify
run anchor
want=$(grep -o 'audit checkpoint seq=[0-9]* hash=[0-9a-f]*' "$tmp/journal" | tail -n 1)
[ "$rc" -eq 0 ] && [ -n "$want" ] && [ "$(cat "$tmp/run/anchor")" = "$want" ] && ok ||
	bad "anchor: the last checkpoint of the journal ($want)"
run verify
[ "$rc" -eq 0 ] && grep -q "^OK: .* files 2, last hash ${want##*hash=}$" "$tmp/stdout" && ok ||
	bad "verify: exit $rc (want 0, both files, the anchor's hash last)"
printf 'audit checkpoint seq=%s hash=%064d\n' "$(echo "$want" | sed 's/.*seq=\([0-9]*\).*/\1/')" 0 >"$tmp/run/anchor"
run verify
[ "$rc" -eq 1 ] && ok || bad "verify with an anchor the log does not meet: exit $rc (want 1)"
: >"$tmp/run/anchor"
run verify
[ "$rc" -eq 0 ] && grep -q "without an anchor" "$tmp/stderr" && ok || bad "no checkpoint: verified, and said so"
cp "$tmp/log/audit.log" "$tmp/good"
sed '2s/"seq":/"seq" :/' "$tmp/good" >"$tmp/log/audit.log"
run anchor
run verify
[ "$rc" -eq 1 ] && grep -q "audit.log:2" "$tmp/out" && ok || bad "tampered: exit $rc (want 1, the place)"

# ================================================================ report
cp "$tmp/good" "$tmp/log/audit.log"
SINCE=2020-01-01 UNTIL=2099-12-31 run report
[ "$rc" -eq 0 ] && [ -s "$tmp/reports/tlspolicy-2020-01.html" ] &&
	grep -q "<title>Verified:" "$tmp/reports/tlspolicy-2020-01.html" && ok ||
	bad "monthly report: exit $rc"
run report
[ "$rc" -eq 0 ] && ls "$tmp/reports" | grep -qx "tlspolicy-$(date -d "$(date +%Y-%m-01) -1 month" +%Y-%m).html" && ok ||
	bad "last month's report: exit $rc, $(ls "$tmp/reports")"

# ============================================================= logrotate
if command -v logrotate >/dev/null 2>&1; then
	me=$(id -un) mygroup=$(id -gn)
	# the shipped file, its prerotate calling the script directly (no
	# systemd here) and its postrotate signalling nobody
	sed -e "s|/var/log/tlspolicy/audit.log|$tmp/log/audit.log|" \
		-e "s/tlspolicy tlspolicy/$me $mygroup/" \
		-e "s|^\([[:space:]]*\)if \[ -d /run/systemd/system \].*|\1sh $script anchor \&\& sh $script verify \|\| exit 1|" \
		-e "s|^\([[:space:]]*\)systemctl kill .*|\1true|" \
		"$src/contrib/logrotate/tlspolicy-milter" >"$tmp/rotate.conf"
	grep -q "sh $script verify" "$tmp/rotate.conf" && ok || bad "prerotate not found in the logrotate file"
	sed '2s/"seq":/"seq" :/' "$tmp/good" >"$tmp/bad"
	cp "$tmp/bad" "$tmp/log/audit.log"
	logrotate -f -s "$tmp/rotate.state" "$tmp/rotate.conf" >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" -ne 0 ] && cmp -s "$tmp/log/audit.log" "$tmp/bad" &&
		[ "$(ls "$tmp/log" | wc -l)" -eq 2 ] && ok ||
		bad "a tampered log is not rotated: logrotate exit $rc, files $(ls "$tmp/log")"
	cp "$tmp/good" "$tmp/log/audit.log"
	logrotate -f -s "$tmp/rotate.state" "$tmp/rotate.conf" >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] && [ "$(ls "$tmp/log" | wc -l)" -eq 3 ] && [ ! -s "$tmp/log/audit.log" ] && ok ||
		bad "a good log is rotated: logrotate exit $rc, files $(ls "$tmp/log")"
else
	skip=$((skip + 1))
	echo "SKIP logrotate not installed"
fi

# ================================================================ units
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$tmp/units"
	for u in tlspolicy-audit-verify.service tlspolicy-audit-report.service \
		tlspolicy-audit-report.timer tlspolicy-audit-mail@.service; do
		sed -e 's|=+*/usr/libexec/tlspolicy/tlspolicy-audit-verify|=/bin/true|' \
			-e 's|=+/bin/true|=+/bin/true|' \
			"$src/contrib/systemd/$u" >"$tmp/units/$u"
	done
	for u in tlspolicy-audit-verify.service tlspolicy-audit-report.service tlspolicy-audit-mail@x.service; do
		out=$(cd "$tmp/units" && systemd-analyze verify --man=no "$tmp/units/$u" 2>&1 |
			grep -v -e 'mail@' -e 'timers.target' -e 'Failed to prepare filename')
		[ -z "$out" ] && ok || bad "systemd-analyze verify $u: $out"
	done
	grep -q '^ExecStartPre=+/usr/libexec/tlspolicy/tlspolicy-audit-verify anchor$' \
		"$src/contrib/systemd/tlspolicy-audit-verify.service" &&
		grep -q '^User=tlspolicy$' "$src/contrib/systemd/tlspolicy-audit-verify.service" && ok ||
		bad "verify unit: anchor as root (+), the rest as tlspolicy"
	grep -q '^OnFailure=tlspolicy-audit-mail@%n.service$' "$src/contrib/systemd/tlspolicy-audit-report.service" && ok ||
		bad "report unit: OnFailure="
else
	skip=$((skip + 1))
	echo "SKIP systemd-analyze not installed"
fi

echo "check-audit-scheduled: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

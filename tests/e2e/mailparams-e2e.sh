#!/bin/bash
# tests/e2e/mailparams-e2e.sh - which ESMTP MAIL parameters reach the
# audit record, with a real Postfix and a real Sendmail.
#
# For each MTA: the daemon with an audit log, the MTA on 127.0.0.1 using
# it, and a plain SMTP client (Python's smtplib) sending
#   MAIL FROM:<...> SIZE=N BODY=8BITMIME     (both MTAs accept these)
#   MAIL FROM:<...> REQUIRETLS               (RFC 8689)
#   MAIL FROM:<...> AUTH=<someone@...>       (a mailbox: value withheld)
# It asserts each MAIL reply, that the accepted parameters are in the
# message's record exactly as the milter was given them, and what each
# MTA does with REQUIRETLS: Postfix before 3.11 answers 555 before any
# milter is asked, so no record names it; Sendmail's answer is printed
# and asserted in the same way (see the checks below).
#
# One line per check, then "mailparams-e2e: N passed, M failed".
# Exit 0 when every check passes, 1 when one fails, 77 when it cannot
# run here (not root; an MTA or a tool missing).

set -u
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "mailparams-e2e: skipped (needs root)"
	exit 77
fi
for tool in postfix swaks m4 perl unshare openssl ss timeout python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "mailparams-e2e: skipped ($tool is missing)"
		exit 77
	fi
done

bin=${TLSPOLICY_MILTER:-${top_builddir:-.}/tlspolicy-milter}
if [ ! -x "$bin" ] || [ -d "$bin" ]; then
	echo "mailparams-e2e: $bin is missing (build it, or set TLSPOLICY_MILTER)"
	echo "mailparams-e2e: 0 passed, 1 failed"
	exit 1
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=sendmail-lib.sh
. "$here/sendmail-lib.sh"

passed=0
failed=0
pids=()
work=$(mktemp -d /tmp/tlspolicy-mp-e2e.XXXXXX) || exit 1
chmod 755 "$work"

ok() {
	passed=$((passed + 1))
	echo "ok   - $1"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL - $1${2:+: $2}"
}
check_eq() { # LABEL GOT WANT
	if [ "$2" = "$3" ]; then ok "$1: $2"; else fail "$1" "wanted '$3', got '$2'"; fi
}

# Stop the daemons we started, by their pids.
stop_milters() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
		for _ in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	trap - EXIT INT TERM
	pf_stop >/dev/null 2>&1
	sm_stop >/dev/null 2>&1
	stop_milters
	echo "mailparams-e2e: $passed passed, $failed failed"
	if [ "$failed" -eq 0 ] && [ "${E2E_KEEP-}" != 1 ]; then
		rm -rf "$work"
	else
		echo "mailparams-e2e: work directory kept: $work"
	fi
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && exit 0
	exit 1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start_milter DIR USER_ARGS...: the daemon on DIR/m.sock, audit log
# DIR/audit.log.
start_milter() {
	local d=$1
	shift
	cat >"$d/policy.yaml" <<EOF
version: 1
milter: {log_decisions: all}
audit: {file: $d/audit.log, sync: always}
recipients:
  default: {}
EOF
	"$bin" -f -c "$d/policy.yaml" "$@" -p "unix:$d/m.sock" 2>"$d/milter.log" &
	pids+=($!)
	for _ in $(seq 1 100); do
		[ -S "$d/m.sock" ] && return 0
		sleep 0.1
	done
	return 1
}

# smtp PORT FROM PARAMS...: one plaintext session; prints the EHLO
# keywords on one line ("ehlo: ..."), then "mail: CODE TEXT" and, when
# MAIL was accepted, "data: CODE".
smtp() {
	timeout 60 python3 - "$@" <<'EOF'
import smtplib, sys
port, sender, params = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("client.test.example")
print("ehlo: " + " ".join(sorted(k.upper() for k in s.esmtp_features)))
code, text = s.mail(sender, params)
print("mail: %d %s" % (code, text.decode(errors="replace").replace("\n", " ")))
if code == 250:
    s.rcpt("someone@dest.example")
    code, _ = s.data(b"Subject: mail params\r\n\r\nhello\r\n")
    print("data: %d" % code)
else:
    s.rset()
s.quit()
EOF
}

# params_in LOG FROM: the mail_params of the message records of FROM,
# as JSON, one record a line.
params_in() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r.get("type") == "message" and r.get("sender") == "<%s>" % sys.argv[2]:
        print(json.dumps(r.get("mail_params"), separators=(",", ":")))
EOF
}

# wait_record LOG FROM: the message record of FROM is there (10 s).
wait_record() {
	for _ in $(seq 1 100); do
		[ -n "$(params_in "$1" "$2")" ] && return 0
		sleep 0.1
	done
	return 1
}

# run_mta NAME PORT DIR: the three sessions and their checks.
run_mta() {
	local mta=$1 port=$2 d=$3 out mail
	out=$(smtp "$port" size@src.example SIZE=1234 BODY=8BITMIME)
	mail=$(sed -n 's/^mail: //p' <<<"$out")
	check_eq "$mta: MAIL SIZE=1234 BODY=8BITMIME" "${mail:0:3}" 250
	check_eq "$mta: message accepted" "$(sed -n 's/^data: //p' <<<"$out")" 250
	wait_record "$d/audit.log" size@src.example
	check_eq "$mta: record's mail_params" \
		"$(params_in "$d/audit.log" size@src.example)" '["SIZE=1234","BODY=8BITMIME"]'

	out=$(smtp "$port" auth@src.example "AUTH=<someone@src.example>")
	mail=$(sed -n 's/^mail: //p' <<<"$out")
	echo "     $mta: MAIL AUTH=<someone@src.example> -> $mail"
	if [ "${mail:0:3}" = 250 ]; then
		wait_record "$d/audit.log" auth@src.example
		check_eq "$mta: AUTH= recorded without its mailbox" \
			"$(params_in "$d/audit.log" auth@src.example)" '["AUTH="]'
	else
		ok "$mta: MAIL with AUTH= refused by the MTA (${mail:0:3}): nothing to record"
	fi

	out=$(smtp "$port" rtls@src.example REQUIRETLS)
	mail=$(sed -n 's/^mail: //p' <<<"$out")
	echo "     $mta: EHLO offers: $(sed -n 's/^ehlo: //p' <<<"$out")"
	echo "     $mta: MAIL REQUIRETLS -> $mail"
	REQUIRETLS_REPLY=$mail
	if grep -qw REQUIRETLS <<<"$(sed -n 's/^ehlo: //p' <<<"$out")"; then
		REQUIRETLS_OFFERED=yes
	else
		REQUIRETLS_OFFERED=no
	fi
	sleep 1
	check_eq "$mta: no record names REQUIRETLS" \
		"$(grep -c REQUIRETLS "$d/audit.log")" 0
}

# ------------------------------------------------------------------ Postfix
install -d -o postfix -g postfix -m 0750 "$work/pfm"
if start_milter "$work/pfm" -u postfix; then
	ok "postfix: daemon listening"
else
	fail "postfix: daemon listening" "$(tail -n 3 "$work/pfm/milter.log")"
	exit 1
fi
if pf_start "$work/pf" "unix:$work/pfm/m.sock"; then
	ok "postfix $(postconf -d -h mail_version 2>/dev/null): started on 127.0.0.1:$PF_PORT"
	run_mta postfix "$PF_PORT" "$work/pfm"
	check_eq "postfix: REQUIRETLS offered in EHLO" "$REQUIRETLS_OFFERED" no
	check_eq "postfix: MAIL REQUIRETLS refused before the milter" \
		"${REQUIRETLS_REPLY:0:3}" 555
	pf_stop
else
	fail "postfix: start" "see $work/pf/maillog"
fi

# ----------------------------------------------------------------- Sendmail
mkdir -p "$work/smm"
if start_milter "$work/smm" --run-as-root; then
	ok "sendmail: daemon listening"
else
	fail "sendmail: daemon listening" "$(tail -n 3 "$work/smm/milter.log")"
	exit 1
fi
if sm_start "$work/sm" "$work/smm/m.sock"; then
	ok "sendmail: started on 127.0.0.1:$SM_PORT"
	run_mta sendmail "$SM_PORT" "$work/smm"
	# Sendmail 8.17 here does not offer REQUIRETLS (it is a compile-time
	# option, _FFR_REQUIRETLS / REQUIRETLS, off in Debian 12's build) and
	# refuses the unknown parameter itself: 555 5.5.4.
	check_eq "sendmail: REQUIRETLS offered in EHLO" "$REQUIRETLS_OFFERED" no
	check_eq "sendmail: MAIL REQUIRETLS refused before the milter" \
		"${REQUIRETLS_REPLY:0:3}" 555
	sm_stop
else
	fail "sendmail: start" "see $work/sm/sendmail.out"
fi
stop_milters

#!/bin/bash
# forged-e2e.sh - forged tag headers through a real Postfix and a real
# Sendmail: none ever leaves, ours is added once, other mail is untouched.
#
#   forged-e2e.sh postfix | sendmail
#
# Runs the daemon under test ($TLSPOLICY_MILTER, else
# ${top_builddir:-.}/tlspolicy-milter) with a policy that tags mail to
# tag.example over anything older than TLSv1.3, plugs it into the private
# loopback MTA of lib.sh (Postfix) or sendmail-lib.sh (Sendmail), and sends
# whole messages with swaks (--data) carrying 1, 2 and 50 forged copies of
# X-TLS-Policy: names in mixed case, folded values, one with white space
# before the colon. Over TLSv1.2 the delivered copy must carry exactly one
# X-TLS-Policy header, ours; over TLSv1.3 none. A message without copies
# must arrive with every header and the body as sent. A "TLS-Required: No"
# header reaches the message's audit record.
#
# On Postfix it then switches to strip_forged_headers: mta: -n --mta
# postfix must refuse the configuration until header_checks ignores the
# tag header, and with it the same messages arrive with no forged copy
# while the milter accepts untagged mail at DATA (and so does not see the
# headers: no TLS-Required in the record).
#
# One line per check; exit 0 when all pass, 1 when one fails, 77 when it
# cannot run here. E2E_KEEP=1 keeps the work directory (kept anyway after
# a failure). Every wait is bounded.
set -u

mta=${1:-}
case $mta in
postfix | sendmail) ;;
*)
	echo "usage: forged-e2e.sh postfix|sendmail" >&2
	exit 64
	;;
esac
skip() {
	echo "forged-e2e $mta: skipped ($*)"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root"
for tool in swaks openssl python3; do
	command -v "$tool" >/dev/null || skip "$tool is missing"
done
if [ "$mta" = postfix ]; then
	for tool in postfix postconf postmap postqueue; do
		command -v "$tool" >/dev/null || skip "$tool is missing"
	done
	id postfix >/dev/null 2>&1 || skip "no postfix user"
else
	for tool in m4 perl unshare ss flock timeout; do
		command -v "$tool" >/dev/null || skip "$tool is missing"
	done
fi

here=$(cd "$(dirname "$0")" && pwd)
bin=${TLSPOLICY_MILTER:-${top_builddir:-.}/tlspolicy-milter}
[ -x "$bin" ] || {
	echo "FAIL daemon binary $bin is missing (build it, or set TLSPOLICY_MILTER)"
	echo "forged-e2e $mta: 0 passed, 1 failed"
	exit 1
}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
if [ "$mta" = postfix ]; then
	# shellcheck source-path=SCRIPTDIR source=lib.sh
	. "$here/lib.sh"
else
	# read by sendmail-lib.sh
	# shellcheck disable=SC2034
	SM_SMTP_TIMEOUT=10 SM_MAX_SECONDS=300
	# shellcheck source-path=SCRIPTDIR source=sendmail-lib.sh
	. "$here/sendmail-lib.sh"
fi

passed=0
failed=0
work=$(mktemp -d /tmp/tlspolicy-forged.XXXXXX) || exit 1
chmod 755 "$work"
milter_pid=""
seq_id=0

milter_stop() {
	[ -n "$milter_pid" ] || return 0
	kill -TERM "$milter_pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$milter_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$milter_pid" 2>/dev/null
	wait "$milter_pid" 2>/dev/null
	milter_pid=""
}

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	trap - EXIT INT TERM
	if [ "$mta" = postfix ]; then pf_stop; else sm_stop; fi
	milter_stop
	echo "forged-e2e $mta: ${SECONDS}s"
	echo "forged-e2e $mta: $passed passed, $failed failed"
	if [ "$failed" -eq 0 ] && [ "${E2E_KEEP-}" != 1 ]; then
		rm -rf "$work"
	else
		echo "forged-e2e $mta: work directory kept: $work"
	fi
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && exit 0
	exit 1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# policy FILE STRIP AUDIT: tag.example is tagged below TLSv1.3.
write_policy() {
	cat >"$1" <<EOF
version: 1
milter: {authserv_id: mx.test.example, strip_forged_headers: $2}
audit: {file: $3, sync: always}
recipients:
  tag.example: {min_version: TLSv1.3, action: tag}
  default: {}
EOF
}

# milter_start POLICY SOCKET: the daemon, as the MTA's user can reach it.
milter_start() {
	local user=()
	if [ "$mta" = postfix ]; then
		user=(-u postfix)
	else
		user=(--run-as-root)
	fi
	local n0
	n0=$(grep -c 'info: started ' "$work/milter.log" 2>/dev/null)
	"$bin" -f -c "$1" "${user[@]}" -p "unix:$2" 2>>"$work/milter.log" &
	milter_pid=$!
	for _ in $(seq 1 100); do # ready: a new "started" line
		[ -S "$2" ] && [ "$(grep -c 'info: started ' "$work/milter.log")" -gt "${n0:-0}" ] &&
			return 0
		kill -0 "$milter_pid" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# The tag header's names as a sender might forge them.
names=(X-TLS-Policy x-tls-policy X-Tls-Policy X-TLS-POLICY x-TLS-policy)

# message FILE ID N [EXTRA]: a whole message with N forged copies, every
# other one folded over two lines, names in turn from ${names[@]}; EXTRA
# is one more header line.
message() {
	local f=$1 id=$2 n=$3 more=${4-} i
	{
		printf 'Date: Mon, 07 Dec 2026 00:00:00 +0000\r\n'
		printf 'From: Sender <sender@sender.example>\r\n'
		printf 'To: Rcpt <r@tag.example>\r\n'
		printf 'Subject: forged copies %s\r\n' "$n"
		printf 'Message-Id: <%s@e2e.test.example>\r\n' "$id"
		printf 'X-Test-Id: %s\r\n' "$id"
		for ((i = 1; i <= n; i++)); do
			if ((i % 2)); then
				printf '%s: mx.test.example; tls-policy=pass copy=%d\r\n' \
					"${names[i % ${#names[@]}]}" "$i"
			else
				printf '%s: mx.test.example;\r\n\ttls-policy=pass copy=%d\r\n' \
					"${names[i % ${#names[@]}]}" "$i"
			fi
		done
		[ -z "$more" ] || printf '%s\r\n' "$more"
		printf 'X-Folded-Other: first line\r\n\tsecond line\r\n'
		printf '\r\n'
		printf 'Body of %s.\r\n' "$id"
		printf '.leading dot and trailing space \r\n'
		printf 'X-TLS-Policy: in the body, not a header\r\n'
	} >"$f"
}

# send ID TLS RCPT FILE: one SMTP session with the whole message FILE.
send() {
	local id=$1 tls=$2 rcpt=$3 file=$4 port proto
	if [ "$mta" = postfix ]; then port=$PF_PORT; else port=$SM_PORT; fi
	case $tls in TLSv1.2) proto=tlsv1_2 ;; *) proto=tlsv1_3 ;; esac
	timeout 90 swaks --server 127.0.0.1 --port "$port" --ehlo client.test.example \
		--from sender@sender.example --to "$rcpt" --timeout 15s \
		--tls --tls-protocol "$proto" --tls-cipher 'DEFAULT:@SECLEVEL=0' \
		--data "$file" >"$work/$id.swaks" 2>&1
	# the reply to the end of the message: Postfix "queued as",
	# Sendmail "Message accepted for delivery"
	grep -Eq '^<~ +250 .*(queued as|Message accepted)' "$work/$id.swaks" &&
		! grep -q '^<~\*' "$work/$id.swaks"
}

# delivered_file ID RCPT: the delivered copy for RCPT, waited for (15 s).
delivered_file() {
	if [ "$mta" = postfix ]; then
		pf_wait_delivered "$1" 15 "$2"
	else
		sm_wait_delivered "$1" 15 "$2"
	fi
}

# tag_values FILE: the X-TLS-Policy values of the message FILE.
tag_values() {
	e2e_header_values "$1" X-TLS-Policy || true
}

# The header our milter adds over TLSv1.2 (tls=, cipher= depend on the
# session; the rest is fixed).
OURS='^mx\.test\.example; tls-policy=fail action=tag rules=recipient:tag\.example failed=min_version; tls=TLSv1\.2 cipher=[A-Z0-9-]+ bits=[0-9]+ cert=(none|not-verified)$'

# new_id: a fresh message id in $id (no subshell: the count must stick;
# the ".m" end keeps one id from being the prefix of another).
new_id() {
	seq_id=$((seq_id + 1))
	id=forged-$$-$seq_id.m
}

# one_case LABEL N TLS [EXTRA]: N forged copies over TLS; checks what
# arrived.
one_case() {
	local label=$1 n=$2 tls=$3 more=${4-} id f vals count
	new_id
	message "$work/$id.eml" "$id" "$n" "$more"
	if ! send "$id" "$tls" "r@tag.example" "$work/$id.eml"; then
		not_ok "$label: accepted" "see $work/$id.swaks"
		return 1
	fi
	ok "$label: accepted"
	if ! f=$(delivered_file "$id" r@tag.example); then
		not_ok "$label: delivered" "no copy of $id"
		return 1
	fi
	vals=$(tag_values "$f")
	count=$(printf '%s' "$vals" | grep -c .)
	if [ "$tls" = TLSv1.2 ]; then
		check_eq "$label: one X-TLS-Policy header" "$count" 1
		check_re "$label: and it is ours" "$vals" "$OURS"
	else
		check_eq "$label: no X-TLS-Policy header" "$vals" ""
	fi
	check_eq "$label: no forged copy left (copy=)" "$(grep -ci 'tls-policy=pass' "$f" | head -1)" 0
	check_re "$label: the body is as sent" "$(sed -n '/^\r\{0,1\}$/,$p' "$f" | tr -d '\r')" \
		'X-TLS-Policy: in the body, not a header$'
}

# untouched LABEL TLS: a message without copies arrives as sent: each of
# its header lines (folded ones too) in order, and the body.
untouched() {
	local label=$1 tls=$2 id f
	new_id
	message "$work/$id.eml" "$id" 0
	send "$id" "$tls" r@tag.example "$work/$id.eml" || {
		not_ok "$label: accepted" "see $work/$id.swaks"
		return 1
	}
	f=$(delivered_file "$id" r@tag.example) || {
		not_ok "$label: delivered" "no copy of $id"
		return 1
	}
	if python3 - "$work/$id.eml" "$f" <<'EOF'; then
import sys

def split(path):
    raw = open(path, "rb").read().replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    return head.split(b"\n"), body

sent_h, sent_b = split(sys.argv[1])
got_h, got_b = split(sys.argv[2])
# every sent header line, in order, among the delivered ones (the MTA
# adds Received, Return-Path and the like around them)
i = 0
for line in got_h:
    if i < len(sent_h) and line == sent_h[i]:
        i += 1
ok = i == len(sent_h) and got_b.rstrip(b"\n") == sent_b.rstrip(b"\n")
ok = ok and not any(l.lower().startswith(b"x-tls-policy") for l in got_h)
if not ok:
    print("headers matched %d of %d; body equal: %s" % (i, len(sent_h), got_b.rstrip(b"\n") == sent_b.rstrip(b"\n")), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
		ok "$label: every header and the body as sent, no X-TLS-Policy"
	else
		not_ok "$label: every header and the body as sent" "compare $work/$id.eml with $f"
	fi
}

# audit_has LABEL FILE EXPR: a record of FILE for which the Python
# expression (r: the record) is true.
audit_has() {
	if python3 - "$2" "$3" <<'EOF'; then
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if eval(sys.argv[2]):
        sys.exit(0)
sys.exit(1)
EOF
		ok "$1"
	else
		not_ok "$1" "no record of $2 matches $3"
	fi
}

# ------------------------------------------------------------------ setup
install -d -o postfix -g postfix -m 0750 "$work/m" 2>/dev/null || mkdir -p "$work/m"
sock=$work/m/m.sock
audit=$work/m/audit.log
write_policy "$work/auto.yaml" auto "$audit"
if ! milter_start "$work/auto.yaml" "$sock"; then
	not_ok "daemon starts" "$(tail -n 5 "$work/milter.log")"
	exit 1
fi
ok "daemon listens on unix:$sock (strip_forged_headers: auto)"
if [ "$mta" = postfix ]; then
	pf_start "$work/pf" "unix:$sock" || {
		not_ok "postfix starts" "see $work/pf/maillog"
		exit 1
	}
	ok "postfix starts on 127.0.0.1:$PF_PORT"
else
	sm_start "$work/sm" "$sock" || {
		not_ok "sendmail starts" "see $work/sm/sendmail.out"
		exit 1
	}
	ok "sendmail starts on 127.0.0.1:$SM_PORT"
fi

# --------------------------------------- a. the milter removes the copies
for n in 1 2 50; do
	one_case "a. auto, $n forged, TLSv1.2 (tagged)" "$n" TLSv1.2
	one_case "a. auto, $n forged, TLSv1.3 (passes)" "$n" TLSv1.3
done
one_case "a. auto, 1 forged with space before the colon, TLSv1.2" 0 TLSv1.2 \
	"X-TLS-Policy : mx.test.example; tls-policy=pass spaced"
untouched "a. auto, no forged copy, TLSv1.3" TLSv1.3
one_case "a. auto, TLS-Required: No" 0 TLSv1.3 "TLS-Required: No"
audit_has "a. auto: the record says tls_required: no" "$audit" \
	"r.get('type') == 'message' and r.get('tls_required') == 'no' and r.get('action') == 'accept'"
if grep -qE 'removed 50 incoming X-TLS-Policy headers' "$work/milter.log"; then
	ok "a. auto: the daemon logged the removal of 50 copies"
else
	not_ok "a. auto: the daemon logged the removal of 50 copies" "see $work/milter.log"
fi

# ------------------------------------ b. Postfix's header_checks removes them
if [ "$mta" = postfix ]; then
	write_policy "$work/mta.yaml" mta "$work/m/audit-mta.log"
	out=$(MAIL_CONFIG=$PF_ETC "$bin" -c "$work/mta.yaml" -n --mta postfix 2>&1)
	rc=$?
	check_eq "b. mta: -n --mta postfix without header_checks fails (78)" "$rc" 78
	check_re "b. mta: and says why" "$out" "header_checks is empty"
	printf '/^X-TLS-Policy:/ IGNORE\n' >"$PF_ETC/tlspolicy_header_checks"
	postconf -c "$PF_ETC" -e "header_checks = regexp:$PF_ETC/tlspolicy_header_checks"
	out=$(MAIL_CONFIG=$PF_ETC "$bin" -c "$work/mta.yaml" -n --mta postfix 2>&1)
	rc=$?
	check_eq "b. mta: a rule without [[:space:]]* fails (78)" "$rc" 78
	check_re "b. mta: naming the form it lets through" "$out" 'does not IGNORE the header "X-TLS-Policy : forged"'
	printf '/^X-TLS-Policy[[:space:]]*:/ IGNORE\n' >"$PF_ETC/tlspolicy_header_checks"
	out=$(MAIL_CONFIG=$PF_ETC "$bin" -c "$work/mta.yaml" -n --mta postfix 2>&1)
	rc=$?
	check_eq "b. mta: with the rule, -n --mta postfix passes" "$rc" 0
	check_re "b. mta: and says so" "$out" "header_checks .* removes incoming X-TLS-Policy headers"
	milter_stop
	sock=$work/m/mta.sock
	milter_start "$work/mta.yaml" "$sock" || {
		not_ok "b. mta: daemon starts" "$(tail -n 5 "$work/milter.log")"
		exit 1
	}
	postconf -c "$PF_ETC" -e "smtpd_milters = unix:$sock"
	postfix -c "$PF_ETC" reload >/dev/null 2>&1
	sleep 1
	for n in 1 2 50; do
		one_case "b. mta, $n forged, TLSv1.2 (tagged)" "$n" TLSv1.2
		one_case "b. mta, $n forged, TLSv1.3 (passes)" "$n" TLSv1.3
	done
	one_case "b. mta, 1 forged with space before the colon, TLSv1.2" 0 TLSv1.2 \
		"X-TLS-Policy : mx.test.example; tls-policy=pass spaced"
	untouched "b. mta, no forged copy, TLSv1.3" TLSv1.3
	one_case "b. mta, TLS-Required: No" 0 TLSv1.3 "TLS-Required: No"
	# accepted at DATA: the milter saw no header, so nothing of them
	audit_has "b. mta: untagged mail recorded, accepted (at DATA)" "$work/m/audit-mta.log" \
		"r.get('type') == 'message' and r.get('action') == 'accept'"
	if python3 -c 'import json,sys; sys.exit(any("tls_required" in json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")))' \
		"$work/m/audit-mta.log"; then
		ok "b. mta: no record has tls_required (headers not seen)"
	else
		not_ok "b. mta: no record has tls_required" "see $work/m/audit-mta.log"
	fi
	if grep -q 'removed .* incoming X-TLS-Policy' <(sed -n '/mta.yaml/,$p' "$work/milter.log"); then
		not_ok "b. mta: the daemon removed nothing itself" "see $work/milter.log"
	else
		ok "b. mta: the daemon removed nothing itself"
	fi
fi

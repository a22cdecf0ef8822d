#!/bin/bash
# tests/e2e/postfix-e2e.sh - tlspolicy-milter end to end with a real Postfix.
#
# Runs the daemon (built elsewhere: $TLSPOLICY_MILTER, else
# ${top_builddir:-.}/tlspolicy-milter) as user postfix on a unix socket, a
# private Postfix on 127.0.0.1 that uses it (lib.sh), and real SMTP clients
# (swaks, openssl s_client) forcing each TLS version, cipher and client
# certificate. Asserts the SMTP reply to each recipient, what was delivered
# (and its headers), what was held, and the audit records; reloads the
# policy while mail flows; stops the daemon and checks its audit log.
#
# One line per check, then "postfix-e2e: N passed, M failed".
# Exit 0 when every check passes, 1 when one fails, 77 when it cannot run
# here (not root; postfix, swaks, openssl or python3 missing).
# E2E_KEEP=1 keeps the work directory; it is kept anyway after a failure.

set -u

if [ "$(id -u)" != 0 ]; then
	echo "postfix-e2e: skipped (needs root to run a private Postfix)"
	exit 77
fi
for tool in postfix postqueue postcat swaks openssl python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "postfix-e2e: skipped ($tool is not installed; see tests/e2e/NOTES.md)"
		exit 77
	fi
done
if ! id postfix >/dev/null 2>&1; then
	echo "postfix-e2e: skipped (no postfix user)"
	exit 77
fi

# The interpreter itself, not a wrapper such as a pyenv shim (which costs
# most of a second per call): the audit log is read once per check.
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ ! -x "$py" ]; then
	echo "postfix-e2e: skipped (python3 does not run)"
	exit 77
fi

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

bin=${TLSPOLICY_MILTER:-${top_builddir:-.}/tlspolicy-milter}
if [ ! -x "$bin" ] || [ -d "$bin" ]; then
	echo "FAIL - daemon binary: $bin is missing or not executable" \
		"(build it, or set TLSPOLICY_MILTER or top_builddir)"
	echo "postfix-e2e: 0 passed, 1 failed"
	exit 1
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

start_time=$SECONDS
passed=0
failed=0
work=""
milter_pid=""
# "ID ADDR" of every recipient refused with 4xx/5xx (at MAIL or RCPT).
refused=()

ok() {
	passed=$((passed + 1))
	echo "ok   - $1"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL - $1${2:+: $2}"
}

# check NAME CMD...: one line of output per check.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "see ${PF_LAST_LOG:-the work dir}"; fi
}

# Stop the daemon we started (only that pid), bounded; its exit status
# goes to milter_rc.
milter_rc=""
milter_stop() {
	local _
	[ -n "$milter_pid" ] || return 0
	kill -TERM "$milter_pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$milter_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$milter_pid" 2>/dev/null; then
		pf_log "tlspolicy-milter (pid $milter_pid) ignored SIGTERM for 10s; killing it"
		kill -KILL "$milter_pid" 2>/dev/null
	fi
	wait "$milter_pid" 2>/dev/null
	milter_rc=$?
	milter_pid=""
}

# On any exit: stop Postfix and the daemon, print the summary, and exit
# 0 only when every check passed.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	trap - EXIT INT TERM
	pf_stop || fail "postfix: stop"
	if [ -n "$milter_pid" ]; then
		# Only an early exit (a failure, or a signal) gets here.
		milter_stop
		fail "daemon: ended by cleanup after an early exit" "exit status $milter_rc"
	fi
	echo "postfix-e2e: $((SECONDS - start_time))s"
	echo "postfix-e2e: $passed passed, $failed failed"
	if [ -n "$work" ] && [ "$failed" -eq 0 ] && [ "${E2E_KEEP-}" != 1 ]; then
		rm -rf "$work"
	elif [ -n "$work" ]; then
		echo "postfix-e2e: work directory kept: $work"
	fi
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && exit 0
	exit 1
}

# ----------------------------------------------------------------- helpers

has() { # has NEEDLE HAYSTACK
	case $2 in *"$1"*) return 0 ;; esac
	return 1
}

# The daemon's log (-f: stderr) has no line at err or above, and no
# report of a sanitizer (an ASan/UBSan build; tests/run-stages.sh asan).
# shellcheck disable=SC2317 # called through check
no_errors() {
	! grep -E 'tlspolicy-milter: (err|crit|alert|emerg):|Sanitizer|runtime error:' "$1"
}

# Remember every recipient the last session had refused: each 4xx/5xx
# RCPT, and every recipient when MAIL itself was refused. (_pf_to and
# _pf_tls are lib.sh's parsed session options; only read here.)
note_refusals() {
	local addr code
	for addr in "${_pf_to[@]}"; do
		code=$(pf_rcpt_code "$addr")
		case $PF_MAIL_CODE in [45]??) code=$PF_MAIL_CODE ;; esac
		case $code in [45]??) refused+=("$PF_LAST_ID $addr") ;; esac
	done
}

# session LABEL [pf_send options]: one swaks session; one check line saying
# whether it started (with the TLS version asked for, if any).
session() {
	local label=$1 rc
	shift
	pf_send "$@"
	rc=$?
	_session_judge "$label" "$rc"
}

# Same, without the EHLO after STARTTLS.
session_skip_ehlo() {
	local label=$1 rc
	shift
	pf_send_skip_ehlo "$@"
	rc=$?
	_session_judge "$label" "$rc"
}

_session_judge() {
	local label=$1 rc=$2 want=""
	note_refusals
	[ "$_pf_tls" = none ] || [ "$_pf_tls" = any ] || want=$_pf_tls
	if [ "$rc" -ne 0 ]; then
		fail "$label: session" "did not run (transcript $PF_LAST_LOG)"
		return 1
	fi
	if [ -n "$want" ] && ! has "$want:" "$PF_TLS_STARTED"; then
		fail "$label: session" "wanted $want, got '${PF_TLS_STARTED:-plaintext}' ($PF_LAST_LOG)"
		return 1
	fi
	ok "$label: session ${PF_TLS_STARTED:-plaintext}"
}

# rcpt_is LABEL ADDR CODE [TEXT]: the last session's RCPT reply for ADDR
# has CODE (and contains TEXT).
rcpt_is() {
	local label=$1 addr=$2 code=$3 text=${4-} reply
	reply=$(pf_rcpt_reply "$addr")
	if [ "${reply:0:3}" = "$code" ] && { [ -z "$text" ] || has "$text" "$reply"; }; then
		ok "$label: RCPT $addr -> $reply"
	else
		fail "$label: RCPT $addr" "wanted $code${text:+ $text}, got '${reply:-no reply}' ($PF_LAST_LOG)"
	fi
}

# mail_is LABEL CODE [TEXT]: the last session's MAIL reply.
mail_is() {
	local label=$1 code=$2 text=${3-}
	if [ "$PF_MAIL_CODE" = "$code" ] && { [ -z "$text" ] || has "$text" "$PF_MAIL_REPLY"; }; then
		ok "$label: MAIL -> $PF_MAIL_REPLY"
	else
		fail "$label: MAIL" "wanted $code${text:+ $text}, got '${PF_MAIL_REPLY:-no reply}' ($PF_LAST_LOG)"
	fi
}

# data_is LABEL CODE: the reply to the end of the message.
data_is() {
	if [ "$PF_DATA_CODE" = "$2" ]; then
		ok "$1: end of data -> $PF_DATA_REPLY"
	else
		fail "$1: end of data" "wanted $2, got '${PF_DATA_REPLY:-no reply}' ($PF_LAST_LOG)"
	fi
}

# delivered_to LABEL ADDR...: the last message reached each ADDR's mailbox.
delivered_to() {
	local label=$1 addr
	shift
	for addr in "$@"; do
		if pf_wait_delivered "$PF_LAST_ID" 10 "$addr" >/dev/null; then
			ok "$label: delivered to $addr"
		else
			fail "$label: delivered to $addr" "not in $PF_MAILBOX/new ($PF_LAST_LOG)"
		fi
	done
}

# not_delivered_to LABEL ADDR...
not_delivered_to() {
	local label=$1 addr
	shift
	for addr in "$@"; do
		if pf_not_delivered "$PF_LAST_ID" 10 "$addr"; then
			ok "$label: not delivered to $addr"
		else
			fail "$label: not delivered to $addr" "it was, or the queue did not settle ($PF_LAST_LOG)"
		fi
	done
}

# tag_headers ADDR: the X-TLS-Policy values of the last message's copy
# for ADDR, one per line (none: empty output).
tag_headers() {
	pf_delivered_header "$PF_LAST_ID" X-TLS-Policy "$1" || true
}

# The "tls=... cipher=... bits=... cert=not-verified" part of the tag
# header for the last session (TLS, no trusted client certificate).
tls_tokens() {
	local ver cipher bits
	IFS=: read -r ver cipher bits <<<"$PF_TLS_STARTED"
	echo "tls=$ver cipher=$cipher bits=$bits cert=not-verified"
}

# one_tag_header LABEL ADDR VALUE: ADDR's copy of the last message has
# exactly one X-TLS-Policy header, and it is VALUE.
one_tag_header() {
	local hdrs
	hdrs=$(tag_headers "$2")
	if [ "$hdrs" = "$3" ]; then
		ok "$1: $2 copy has one X-TLS-Policy: $hdrs"
	else
		fail "$1: $2 copy has one X-TLS-Policy" "wanted '$3', got '$hdrs'"
	fi
}

# Count of audit records for which the Python expression is true. The
# expression sees r (the record), addrs(r) (its recipients' addresses,
# without angle brackets), v(r, addr) (that recipient's verdict, {} if
# none), sv(r) (the sender verdict) and ID (the last session's message
# id, for nothing but reference).
audit_count() {
	"$py" - "$audit" "$1" <<'EOF'
import json, sys

def bare(a):
    a = a or ""
    return a[1:-1] if a.startswith("<") and a.endswith(">") else a

def addrs(r):
    return [bare(x.get("addr")) for x in r.get("recipients", [])]

def v(r, addr):
    for x in r.get("recipients", []):
        if bare(x.get("addr")) == addr:
            return x.get("verdict") or {}
    return {}

def sv(r):
    return r.get("sender_verdict") or {}

n = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        try:
            r = json.loads(line)
        except ValueError:
            continue
        try:
            if eval(sys.argv[2]):
                n += 1
        except Exception:
            pass
print(n)
EOF
}

# audit_has LABEL EXPR: at least one audit record matches.
audit_has() {
	local n
	n=$(audit_count "$2")
	if [ "${n:-0}" -ge 1 ]; then
		ok "$1: audit record"
	else
		fail "$1: audit record" "none matches: $2 (see $audit)"
	fi
}

# audit_wait TYPE N [T=10]: wait until the audit log has at least N records
# of TYPE.
audit_wait() {
	local type=$1 n=$2 limit=${3:-10} start
	start=$(_pf_now)
	while :; do
		[ "$(audit_count "r.get('type') == '$type'")" -ge "$n" ] && return 0
		_pf_before "$start" "$limit" || return 1
		sleep 0.1
	done
}

# write_policy FILE STRICT_MIN_VERSION: the test policy.
write_policy() {
	cat >"$1.tmp" <<EOF
# tlspolicy-milter end-to-end test policy (written by postfix-e2e.sh)
version: 1
milter:
  authserv_id: mx.test.example
audit:
  file: $audit
  sync: always
recipients:
  strict.example: {min_version: $2, action: reject}
  modern.example: {min_version: TLSv1.3, action: defer}
  tag.example: {min_version: TLSv1.3, action: tag}
  hold.example: {min_version: TLSv1.3, action: quarantine}
  fs.example: {forward_secrecy: true}
  watch.example: {min_version: TLSv1.3, mode: monitor}
  default: {}
senders:
  partner.example:
    min_version: TLSv1.2
    client_cert: verified
    subject: client.partner.example
  bank.example: {tls: required}
EOF
	# Replace the file in one step: the daemon may read it at any time.
	mv -f "$1.tmp" "$1"
}

# policy_hash FILE: the sha256 that -n prints for FILE.
policy_hash() {
	"$bin" -c "$1" -n --mta postfix 2>/dev/null | sed -n 's/.*: OK: .*sha256 \([0-9a-f]*\).*/\1/p'
}

# reload LABEL TYPE: SIGUSR1, then wait for one more TYPE record.
reload() {
	local label=$1 type=$2 before
	before=$(audit_count "r.get('type') == '$type'")
	kill -USR1 "$milter_pid"
	if audit_wait "$type" $((before + 1)) 10; then
		ok "$label: SIGUSR1 -> \"$type\" audit record"
	else
		fail "$label: SIGUSR1 -> \"$type\" audit record" "none within 10s (see $work/milter.log)"
		return 1
	fi
}

# -------------------------------------------------------------------- setup

trap cleanup EXIT
trap 'exit 1' INT TERM

work=$(mktemp -d /tmp/tlspolicy-e2e.XXXXXX) || exit 1
# Postfix (user postfix) must get through the work dir to its own.
chmod 755 "$work"
policy=$work/tlspolicy.yaml
# The daemon drops to user postfix after opening the socket and the audit
# log; these directories are postfix's so that it can remove the socket at
# stop and re-create the audit log after a rotation.
install -d -o postfix -g postfix -m 0750 "$work/milter"
install -d -o postfix -g postfix -m 0750 "$work/audit"
sock=$work/milter/m.sock
audit=$work/audit/audit.log

write_policy "$policy" TLSv1.2
out=$("$bin" -c "$policy" -n --mta postfix 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && has ": OK: " "$out"; then
	ok "policy check: ${out##*$'\n'}"
else
	fail "policy check" "exit $rc: $out"
	exit 1
fi
hash_v12=$(policy_hash "$policy")

"$bin" -f -c "$policy" -u postfix -p "unix:$sock" 2>"$work/milter.log" &
milter_pid=$!
started=""
# Ready when it says "started" (after dropping privileges and writing the
# start record), not merely when the socket exists (bound before both).
for _ in $(seq 1 100); do
	[ -S "$sock" ] && grep -q 'info: started ' "$work/milter.log" && { started=1; break; }
	kill -0 "$milter_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -n "$started" ]; then
	ok "daemon: listening on unix:$sock (pid $milter_pid)"
else
	fail "daemon: listening on unix:$sock" "no socket after 10s; $(tail -n 5 "$work/milter.log")"
	exit 1
fi
# The socket and the daemon belong to postfix (-u postfix).
check "daemon: socket owned by postfix" \
	test "$(stat -c %U "$sock")" = postfix
check "daemon: runs as postfix" \
	test "$(ps -o user= -p "$milter_pid" | tr -d ' ')" = postfix
check "daemon: \"start\" audit record" audit_wait start 1 5
check "daemon: audit log (created as root) given to postfix, mode 0640" \
	test "$(stat -c '%U %a' "$audit")" = "postfix 640"

if pf_start "$work/pf" "unix:$sock"; then
	ok "postfix: started on 127.0.0.1:$PF_PORT with smtpd_milters = unix:$sock"
else
	fail "postfix: start" "see $work/pf/maillog"
	exit 1
fi

# --------------------------------------------------------------- a. plaintext

session "a. plaintext" --to a@strict.example --to a@other.example
rcpt_is "a. plaintext" a@strict.example 530 "5.7.0 Must issue a STARTTLS command first"
rcpt_is "a. plaintext" a@other.example 250
data_is "a. plaintext" 250
delivered_to "a. plaintext" a@other.example
not_delivered_to "a. plaintext" a@strict.example
audit_has "a. plaintext: rcpt strict.example reject" \
	"r['type'] == 'rcpt' and addrs(r) == ['a@strict.example'] and r['action'] == 'reject' and r.get('reply', '').startswith('530')"
audit_has "a. plaintext: message to other.example" \
	"r['type'] == 'message' and addrs(r) == ['a@other.example'] and r['action'] == 'accept'"

# ------------------------------------------------------- b. TLSv1, TLSv1.1

for ver in TLSv1 TLSv1.1; do
	l=b${ver#TLSv}
	session "b. $ver" --tls "$ver" --to "$l@strict.example" --to "$l@other.example"
	rcpt_is "b. $ver" "$l@strict.example" 550 "5.7.1"
	rcpt_is "b. $ver" "$l@other.example" 250
	delivered_to "b. $ver" "$l@other.example"
	audit_has "b. $ver: rcpt strict.example min_version" \
		"r['type'] == 'rcpt' and addrs(r) == ['$l@strict.example'] and r['action'] == 'reject' and r['tls']['version'] == '$ver' and any(f['requirement'] == 'min_version' for x in v(r, '$l@strict.example')['rules'] for f in x['failures'])"
done

# ------------------------------------------------------------- c. TLSv1.2

session "c. TLSv1.2" --tls TLSv1.2 --to c@strict.example --to c@modern.example --to c@tag.example
rcpt_is "c. TLSv1.2" c@strict.example 250
rcpt_is "c. TLSv1.2" c@modern.example 450 "4.7.1"
rcpt_is "c. TLSv1.2" c@tag.example 250
data_is "c. TLSv1.2" 250
delivered_to "c. TLSv1.2" c@strict.example c@tag.example
not_delivered_to "c. TLSv1.2" c@modern.example
# Every accepted recipient gets the same tagged copy. The rule is named
# only when all of them share it (a Bcc recipient's domain must not show
# in the others' copies): here c@strict.example does not, so "withheld".
# Without a trusted client certificate Postfix shows none, hence
# "not-verified" rather than "none".
want_tag="mx.test.example; tls-policy=fail action=tag rules=withheld failed=min_version; $(tls_tokens)"
for addr in c@strict.example c@tag.example; do
	one_tag_header "c. TLSv1.2" "$addr" "$want_tag"
done
audit_has "c. TLSv1.2: rcpt modern.example defer" \
	"r['type'] == 'rcpt' and addrs(r) == ['c@modern.example'] and r['action'] == 'defer' and r.get('reply', '').startswith('450 4.7.1')"
audit_has "c. TLSv1.2: message tagged" \
	"r['type'] == 'message' and sorted(addrs(r)) == ['c@strict.example', 'c@tag.example'] and r['action'] == 'tag' and v(r, 'c@tag.example')['action'] == 'tag' and v(r, 'c@strict.example')['action'] == 'accept'"

# ------------------------------------------------------------- d. TLSv1.3

session "d. TLSv1.3" --tls TLSv1.3 --to d@strict.example --to d@modern.example --to d@tag.example
for addr in d@strict.example d@modern.example d@tag.example; do
	rcpt_is "d. TLSv1.3" "$addr" 250
done
data_is "d. TLSv1.3" 250
delivered_to "d. TLSv1.3" d@strict.example d@modern.example d@tag.example
for addr in d@strict.example d@modern.example d@tag.example; do
	hdrs=$(tag_headers "$addr")
	if [ -z "$hdrs" ]; then
		ok "d. TLSv1.3: $addr copy has no X-TLS-Policy"
	else
		fail "d. TLSv1.3: $addr copy has no X-TLS-Policy" "got '$hdrs'"
	fi
done
audit_has "d. TLSv1.3: message accepted" \
	"r['type'] == 'message' and len(addrs(r)) == 3 and 'd@modern.example' in addrs(r) and r['action'] == 'accept' and r['tls']['version'] == 'TLSv1.3'"

# ---------------------------------------------------------- e. quarantine

session "e. quarantine" --tls TLSv1.2 --to e@hold.example
rcpt_is "e. quarantine" e@hold.example 250
data_is "e. quarantine" 250
if qid=$(pf_in_hold_queue "$PF_LAST_ID" 10); then
	ok "e. quarantine: in the hold queue as $qid"
	if postcat -c "$PF_ETC" -hq "$qid" 2>/dev/null |
		grep -q '^X-TLS-Policy: mx.test.example; tls-policy=fail action=quarantine rules=recipient:hold.example failed=min_version; tls=TLSv1.2 '; then
		ok "e. quarantine: held copy has the quarantine X-TLS-Policy header"
	else
		fail "e. quarantine: held copy has the quarantine X-TLS-Policy header" \
			"$(postcat -c "$PF_ETC" -hq "$qid" 2>&1 | grep -i x-tls-policy)"
	fi
else
	fail "e. quarantine: in the hold queue" "not there after 10s ($PF_LAST_LOG)"
fi
not_delivered_to "e. quarantine" e@hold.example
audit_has "e. quarantine: message quarantined" \
	"r['type'] == 'message' and addrs(r) == ['e@hold.example'] and r['action'] == 'quarantine'"

# ------------------------------------------------------ f. forward secrecy

session "f. no FS" --tls TLSv1.2 --cipher AES128-SHA --to f1@fs.example
rcpt_is "f. no FS (AES128-SHA)" f1@fs.example 550 "5.7.1"
audit_has "f. no FS: rcpt fs.example forward_secrecy" \
	"r['type'] == 'rcpt' and addrs(r) == ['f1@fs.example'] and r['action'] == 'reject' and r['tls']['cipher'] == 'AES128-SHA' and any(f['requirement'] == 'forward_secrecy' for x in v(r, 'f1@fs.example')['rules'] for f in x['failures'])"
session "f. FS" --tls TLSv1.2 --cipher ECDHE-RSA-AES128-GCM-SHA256 --to f2@fs.example
rcpt_is "f. FS (ECDHE)" f2@fs.example 250
delivered_to "f. FS (ECDHE)" f2@fs.example

# ------------------------------------------------------------- g. monitor

session "g. monitor" --tls TLSv1.2 --to g@watch.example
rcpt_is "g. monitor" g@watch.example 250
delivered_to "g. monitor" g@watch.example
hdrs=$(tag_headers g@watch.example)
check "g. monitor: no X-TLS-Policy" test -z "$hdrs"
audit_has "g. monitor: would reject" \
	"r['type'] == 'message' and addrs(r) == ['g@watch.example'] and r['action'] == 'accept' and r['would_action'] == 'reject' and v(r, 'g@watch.example')['would_action'] == 'reject'"

# -------------------------------------------------------- h. sender rules

session "h. partner, no cert" --tls TLSv1.2 --from h1@partner.example --to h1@other.example
mail_is "h. partner, no cert" 550 "5.7.1"
audit_has "h. partner, no cert: mail record, client_cert failed, subject unknown" \
	"r['type'] == 'mail' and r.get('sender') == '<h1@partner.example>' and r['action'] == 'reject' and r['reply'].startswith('550 5.7.1') and {(f['requirement'], f['status']) for x in sv(r)['rules'] for f in x['failures']} == {('client_cert', 'fail'), ('subject', 'unknown')}"
session "h. partner, rogue cert" --tls TLSv1.2 --cert rogue --from h2@partner.example --to h2@other.example
mail_is "h. partner, rogue cert" 550 "5.7.1"
audit_has "h. partner, rogue cert: mail record" \
	"r['type'] == 'mail' and r.get('sender') == '<h2@partner.example>' and r['action'] == 'reject'"
session "h. partner, trusted cert" --tls TLSv1.2 --cert trusted --from h3@partner.example --to h3@other.example
mail_is "h. partner, trusted cert" 250
rcpt_is "h. partner, trusted cert" h3@other.example 250
delivered_to "h. partner, trusted cert" h3@other.example
audit_has "h. partner, trusted cert: verified" \
	"r['type'] == 'message' and addrs(r) == ['h3@other.example'] and r['action'] == 'accept' and r['tls']['cert'] == 'verified' and r['tls']['subject'] == 'client.partner.example'"
session "h. bank, plaintext" --from h4@bank.example --to h4@other.example
mail_is "h. bank, plaintext" 530 "5.7.0 Must issue a STARTTLS command first"
audit_has "h. bank, plaintext: mail record" \
	"r['type'] == 'mail' and r.get('sender') == '<h4@bank.example>' and r['action'] == 'reject' and r['tls']['version'] is None"
session "h. bank, TLS" --tls TLSv1.2 --from h5@bank.example --to h5@other.example
mail_is "h. bank, TLS" 250
delivered_to "h. bank, TLS" h5@other.example

# ------------------------------------------------------------ i. skip EHLO

session_skip_ehlo "i. skip EHLO" --tls TLSv1.2 --to i@strict.example --to i@modern.example
rcpt_is "i. skip EHLO" i@strict.example 250
rcpt_is "i. skip EHLO" i@modern.example 450 "4.7.1"
data_is "i. skip EHLO" 250
delivered_to "i. skip EHLO" i@strict.example
audit_has "i. skip EHLO: rcpt modern.example deferred, seen as TLSv1.2" \
	"r['type'] == 'rcpt' and addrs(r) == ['i@modern.example'] and r['action'] == 'defer' and r['tls']['version'] == 'TLSv1.2'"
# Postfix writes no HELO name into Received when the EHLO after STARTTLS
# was skipped (the one before it does not count).
received=$(pf_delivered_header "$PF_LAST_ID" Received i@strict.example | head -n 1)
if has "from localhost (localhost [127.0.0.1])" "$received" && has "using TLSv1.2" "$received"; then
	ok "i. skip EHLO: Received shows TLSv1.2 and no HELO name"
else
	fail "i. skip EHLO: Received shows TLSv1.2 and no HELO name" "got '$received'"
fi

# -------------------------------------------------------- j. forged header

# pf_send has no option for extra headers: put a swaks first in PATH that
# adds them (E2E_EXTRA_HEADER) and runs the real one.
real_swaks=$(command -v swaks)
mkdir -p "$work/bin"
cat >"$work/bin/swaks" <<EOF
#!/bin/sh
if [ -n "\${E2E_EXTRA_HEADER-}" ]; then
	exec "$real_swaks" "\$@" --header "\$E2E_EXTRA_HEADER"
fi
exec "$real_swaks" "\$@"
EOF
chmod 755 "$work/bin/swaks"
PATH=$work/bin:$PATH E2E_EXTRA_HEADER="X-TLS-Policy: forged; tls-policy=pass" \
	session "j. forged header" --tls TLSv1.2 --to j@tag.example
check "j. forged header: sent" grep -q '^C: X-TLS-Policy: forged; tls-policy=pass' "$PF_LAST_LOG"
rcpt_is "j. forged header" j@tag.example 250
delivered_to "j. forged header" j@tag.example
one_tag_header "j. forged header: only the milter's" j@tag.example \
	"mx.test.example; tls-policy=fail action=tag rules=recipient:tag.example failed=min_version; $(tls_tokens)"
PATH=$work/bin:$PATH E2E_EXTRA_HEADER="x-tls-policy: forged; tls-policy=pass" \
	session "j. forged header, lower case" --tls TLSv1.3 --to j2@tag.example
delivered_to "j. forged header, lower case" j2@tag.example
hdrs=$(tag_headers j2@tag.example)
check "j. forged header, lower case: removed, no header of its own" test -z "$hdrs"

# ---------------------------------------------------------------- k. reload

write_policy "$policy" TLSv1.3
hash_v13=$(policy_hash "$policy")
reload "k. strict.example needs TLSv1.3" reload
audit_has "k. reload record names the new policy" \
	"r['type'] == 'reload' and r.get('policy') == '$hash_v13'"
session "k. after reload" --tls TLSv1.2 --to k1@strict.example
rcpt_is "k. after reload, TLSv1.2" k1@strict.example 550 "5.7.1"
session "k. after reload" --tls TLSv1.3 --to k2@strict.example
rcpt_is "k. after reload, TLSv1.3" k2@strict.example 250
delivered_to "k. after reload, TLSv1.3" k2@strict.example

write_policy "$policy" TLSv1.2
reload "k. restore" reload
audit_has "k. reload record names the restored policy" \
	"r['type'] == 'reload' and r.get('policy') == '$hash_v12'"
session "k. restored" --tls TLSv1.2 --to k3@strict.example
rcpt_is "k. restored, TLSv1.2" k3@strict.example 250
delivered_to "k. restored, TLSv1.2" k3@strict.example

printf 'version: 1\nrecipients:\n  strict.example: {min_version: TLSv9, action: reject\n' >"$policy.tmp"
mv -f "$policy.tmp" "$policy"
reload "k. garbage policy" reload_failed
audit_has "k. reload_failed names the file and keeps the old policy" \
	"r['type'] == 'reload_failed' and r.get('policy') == '$hash_v12' and '$policy' in r.get('detail', '')"
check "k. garbage policy: daemon still runs" kill -0 "$milter_pid"
session "k. after failed reload" --tls TLSv1.2 --to k4@strict.example
rcpt_is "k. after failed reload, TLSv1.2 (old policy)" k4@strict.example 250
delivered_to "k. after failed reload, TLSv1.2 (old policy)" k4@strict.example
session "k. after failed reload" --tls TLSv1.1 --to k5@strict.example
rcpt_is "k. after failed reload, TLSv1.1 (old policy)" k5@strict.example 550 "5.7.1"
write_policy "$policy" TLSv1.2

# ------------------------------------------------- l. refused never delivered

bad=""
for entry in "${refused[@]}"; do
	pf_not_delivered "${entry%% *}" 10 "${entry#* }" || bad+=" ${entry#* }(${entry%% *})"
done
if [ -z "$bad" ]; then
	ok "l. none of the ${#refused[@]} refused recipients got a copy"
else
	fail "l. refused recipients got a copy:" "$bad"
fi

# ------------------------------------------------------------------ 5. stop

pf_stop || fail "postfix: stop"
milter_stop
check "stop: SIGTERM -> exit status $milter_rc" test "$milter_rc" = 0
check "stop: socket removed" test ! -e "$sock"
check "stop: \"stop\" audit record is the last" \
	test "$(tail -n 1 "$audit" | "$py" -c 'import json,sys; print(json.loads(sys.stdin.read())["type"])' 2>/dev/null)" = stop
out=$("$py" - "$audit" <<'EOF'
import json, sys
prev_seq = None
prev_hash = None
n = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for i, line in enumerate(f, 1):
        try:
            r = json.loads(line)
        except ValueError as e:
            print("line %d is not JSON: %s" % (i, e))
            sys.exit(1)
        seq = r.get("seq")
        if not isinstance(seq, int):
            print("line %d has no integer seq" % i)
            sys.exit(1)
        if prev_seq is None and (seq != 1 or r.get("type") != "start"):
            print("line 1: seq %s type %s, not seq 1 start" % (seq, r.get("type")))
            sys.exit(1)
        if prev_seq is not None and seq != prev_seq + 1:
            print("line %d: seq %d after %d" % (i, seq, prev_seq))
            sys.exit(1)
        if prev_hash is not None and "prev" in r and r["prev"] != prev_hash:
            print("line %d: prev does not match the hash of line %d" % (i, i - 1))
            sys.exit(1)
        prev_seq, prev_hash = seq, r.get("hash")
        n += 1
print("%d records" % n)
EOF
)
rc=$?
if [ "$rc" -eq 0 ]; then
	ok "audit log: every line is JSON, seq contiguous, chain linked ($out)"
else
	fail "audit log: every line is JSON, seq contiguous, chain linked" "$out"
fi

# ------------------------------------------- 6. the compliance officer's tools

# The checkpoint the daemon logged at stop anchors the end of the chain.
audit_tool=$top_builddir/tlspolicy-audit
verifier=$top_srcdir/contrib/audit/tlspolicy-verify.py
anchor=$(sed -n 's/.*audit checkpoint seq=\([0-9]*\) hash=\([0-9a-f]*\) (closed).*/\1:\2/p' \
	"$work/milter.log" | tail -n 1)
check "stop: checkpoint logged for the last record" test -n "$anchor"
c_out=$("$audit_tool" verify --anchor "$anchor" "$audit" 2>&1)
c_rc=$?
p_out=$("$py" "$verifier" --anchor "$anchor" "$audit" 2>&1)
p_rc=$?
check "tlspolicy-audit verify --anchor: chain holds ($c_out)" test "$c_rc" = 0
check "tlspolicy-verify.py --anchor: chain holds" test "$p_rc" = 0
check "both verifiers say the same" test "$c_out" = "$p_out"

# One recipient changed in one record: both name the same line.
cp "$audit" "$work/tampered.log"
line=$(grep -n '"addr":"<\?a@strict.example' "$work/tampered.log" | head -n 1 | cut -d: -f1)
sed -i "${line}s/a@strict.example/z@strict.example/" "$work/tampered.log"
c_out=$("$audit_tool" verify "$work/tampered.log" 2>&1)
c_rc=$?
p_out=$("$py" "$verifier" "$work/tampered.log" 2>&1)
p_rc=$?
if [ "$c_rc" = 1 ] && [ "$p_rc" = 1 ] && has "tampered.log:$line: record changed" "$c_out" &&
	has "tampered.log:$line: record changed" "$p_out"; then
	ok "tampered record: both verifiers fail at line $line"
else
	fail "tampered record: both verifiers fail at line $line" "C rc=$c_rc '$c_out'; Python rc=$p_rc '$p_out'"
fi
# The tail cut off: only the anchor shows it.
head -n -3 "$audit" >"$work/cut.log"
check "tail cut: verify without an anchor still holds" "$audit_tool" verify -q "$work/cut.log"
check "tail cut: --anchor detects it" \
	sh -c '! "$1" verify -q --anchor "$2" "$3"' - "$audit_tool" "$anchor" "$work/cut.log"

report=$("$audit_tool" report --domain strict.example "$audit" 2>&1)
if has "strict.example" "$report" && has "min_version" "$report" && has "reject" "$report"; then
	ok "report --domain strict.example: per-domain refusals by requirement"
else
	fail "report --domain strict.example" "$report"
fi
shown=$("$audit_tool" show --recipient a@strict.example "$audit" 2>&1)
check "show --recipient a@strict.example: its rcpt record" has "a@strict.example" "$shown"

check "milter.log: no error lines" no_errors "$work/milter.log"

# cleanup (the EXIT trap) prints the summary and sets the exit status.
exit 0

#!/bin/bash
# sendmail-selftest.sh — proves the Sendmail harness and records what a real
# Sendmail 8.17 hands a milter.
#
# Starts the private Sendmail of sendmail-lib.sh with macro-dump-milter
# plugged in, sends plaintext and TLSv1..TLSv1.3 sessions with no, a trusted
# and an untrusted client certificate, checks that each is delivered, and
# asserts on the macros the milter saw (tlspolicy's facts come from exactly
# these). Then a Sendmail with the stock fingerprint setting, and one with
# the milter down (F=T must tempfail, never deliver). Last, Sendmail's
# stock macro lists with macro-stage-milter.py: which macros come with
# which command, when a milter asks for its own lists and when not.
#
# Exit: 0 all passed, 1 a check failed, 77 cannot run here (not root, or a
# tool is missing). Last line: "sendmail-selftest: N passed, M failed".
# SM_SELFTEST_KEEP=1 keeps the work directory for reading.
set -u

here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0

skip() {
	printf 'sendmail-selftest: SKIP: %s\n' "$*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, mounts)"
for tool in swaks m4 gcc perl unshare openssl ss; do
	command -v "$tool" >/dev/null || skip "$tool is missing"
done
[ -r /usr/include/libmilter/mfapi.h ] || skip "libmilter-dev is missing"

# shellcheck source=sendmail-lib.sh
. "$here/sendmail-lib.sh"

work=$(mktemp -d /tmp/tlspolicy-sm-selftest.XXXXXX) || exit 1
milter_pid=""

# The milter is ours; Sendmail is stopped by sm_stop (which reaps its
# children). Runs on every exit, so no daemon outlives the test.
cleanup() {
	sm_stop
	milter_stop
	if [ "${SM_SELFTEST_KEEP:-0}" = 1 ]; then
		printf 'sendmail-selftest: work directory kept: %s\n' "$work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ok, not_ok, check_eq, check_re: tests/e2e/common.sh (via sendmail-lib.sh)

milter_start() {
	local dump=$1
	"$work/macro-dump-milter" -p "unix:$work/milter.sock" -o "$dump" \
		>>"$work/milter.out" 2>&1 &
	milter_pid=$!
	for _ in $(seq 1 50); do
		[ -S "$work/milter.sock" ] && return 0
		sleep 0.1
	done
	printf 'sendmail-selftest: macro-dump-milter did not start\n'
	return 1
}

milter_stop() {
	[ -n "$milter_pid" ] || return 0
	kill -TERM "$milter_pid" 2>/dev/null
	wait "$milter_pid" 2>/dev/null
	milter_pid=""
	rm -f "$work/milter.sock"
}

# flatten DUMP: DUMP.tsv with one "sender stage n name value" row per macro
# (and one with an empty name per callback), n counting that stage's
# callbacks within the session. Redone only when the dump has grown, so the
# many lookups below cost an awk each, not a JSON parse.
flatten() {
	local size
	size=$(stat -c %s "$1")
	[ -e "$1.tsv" ] && [ "$(cat "$1.size" 2>/dev/null)" = "$size" ] && return 0
	perl -MJSON::PP -e '
		# a line being written right now is skipped, not fatal
		my @recs = grep { defined } map { eval { decode_json($_) } } <STDIN>;
		my (%sender, %n);
		$sender{$_->{conn}} = $_->{arg} for grep { $_->{stage} eq "mail" } @recs;
		for my $r (@recs) {
			my $s = $sender{$r->{conn}} // next;
			my $i = $n{"$r->{conn} $r->{stage}"}++;
			print join("\t", $s, $r->{stage}, $i, "", ""), "\n";
			for my $k (sort keys %{$r->{macros}}) {
				(my $v = $r->{macros}{$k}) =~ s/([\t\n])/sprintf("\\x%02x", ord $1)/ge;
				print join("\t", $s, $r->{stage}, $i, $k, $v), "\n";
			}
		}' <"$1" >"$1.tsv"
	printf '%s\n' "$size" >"$1.size"
}

# macro DUMP SENDER STAGE NAME [N]: the value of macro NAME as the milter saw
# it at STAGE (connect, helo, mail, rcpt, eom) of the session whose MAIL FROM
# was SENDER; the Nth such callback (0-based; default the last: the EHLO
# after STARTTLS). Prints <absent> if not sent, <no-record> if no callback.
macro() {
	flatten "$1"
	awk -F '\t' -v s="<$2>" -v st="$3" -v name="$4" -v want="${5:-}" '
		BEGIN { last = -1 }
		$1 == s && $2 == st {
			if ($4 == "") { seen[$3] = 1; if ($3 + 0 > last) last = $3 + 0 }
			else if ($4 == name) val[$3] = $5
		}
		END {
			n = want == "" ? last : want + 0
			if (!(n in seen)) printf "<no-record>"
			else if (n in val) printf "%s", val[n]
			else printf "<absent>"
		}' "$1.tsv"
}

# fingerprint CERT ALG: as Sendmail writes it (upper-case hex, colons).
fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint "-$2" | sed 's/^[^=]*=//'
}

# send_case NAME TLS [CERT]: one session from NAME@sender.example, which is
# how the dump lines of this session are found again; checks delivery.
send_case() {
	local name=$1 tls=$2 cert=${3:-}
	local -a c=()
	[ -z "$cert" ] || c=(--cert "$cert")
	sm_send --tls "$tls" "${c[@]}" --from "$name@sender.example" --to rcpt@bank.example
	check_eq "$name: message accepted" "$SM_DATA_CODE" 250
	if sm_wait_delivered "$SM_LAST_ID" 20 >/dev/null; then
		ok "$name: delivered"
	else
		not_ok "$name: delivered" "see $SM_LAST_LOG"
	fi
}

# tls_case NAME TLS WANT_VERSION CERT SUBJECT ISSUER VERIFY: the TLS facts
# at HELO (after STARTTLS), MAIL, RCPT and EOM. CERT is a test identity or
# "" (no client certificate).
tls_case() {
	local name=$1 tls=$2 want=$3 cert=$4 subj=$5 iss=$6 verify=$7 fp="" stage
	local from=$1@sender.example
	send_case "$name" "$tls" "$cert"
	[ -z "$cert" ] || fp=$(fingerprint "$(sm_cert_file "$cert")" sha256)
	check_eq "$name: first EHLO has no {tls_version}" "$(macro "$dump" "$from" helo '{tls_version}' 0)" '<absent>'
	for stage in helo mail rcpt eom; do
		check_eq "$name: $stage {tls_version}" "$(macro "$dump" "$from" $stage '{tls_version}')" "$want"
	done
	check_re "$name: {cipher}" "$(macro "$dump" "$from" mail '{cipher}')" '^[A-Z0-9_-]+$'
	check_re "$name: {cipher_bits}" "$(macro "$dump" "$from" mail '{cipher_bits}')" '^[0-9]+$'
	for stage in helo mail rcpt; do
		check_eq "$name: $stage {verify}" "$(macro "$dump" "$from" $stage '{verify}')" "$verify"
		check_eq "$name: $stage {cert_subject}" "$(macro "$dump" "$from" $stage '{cert_subject}')" "$subj"
	done
	check_eq "$name: {cert_issuer}" "$(macro "$dump" "$from" rcpt '{cert_issuer}')" "$iss"
	check_eq "$name: {cert_fp} (sha256)" "$(macro "$dump" "$from" rcpt '{cert_fp}')" "$fp"
	check_eq "$name: no {cert_md5} when a fingerprint algorithm is set" \
		"$(macro "$dump" "$from" rcpt '{cert_md5}')" '<absent>'
}

TRUSTED_SUBJECT='/C=DE/O=Partner+20Bank+20AG/CN=client.partner.example'
EXPIRED_SUBJECT='/C=DE/O=Partner+20Bank+20AG/CN=expired.partner.example'
CA_ISSUER='/C=DE/O=TLS+20Policy+20Test/CN=TLS+20Policy+20Test+20CA'
ROGUE_ISSUER='/C=DE/O=Rogue+20Test/CN=Rogue+20Test+20CA'
# X509_NAME_oneline escapes (\xHH for UTF-8 bytes, \/ \+), then xtext.
ODD_SUBJECT='/C=DE/O=M+5CxC3+5CxBCller+20+5C/+20S+5CxC3+5CxB6hne+20+5C+2B+20Co=KG+20&+20Partner/CN=odd.partner.example'

start=$SECONDS
gcc -O2 -Wall -Wextra -Werror -o "$work/macro-dump-milter" "$here/macro-dump-milter.c" \
	-lmilter -lpthread || { not_ok "build macro-dump-milter"; exit 1; }

# --- 1: the usual harness (sha256 fingerprints) -----------------------------
dump=$work/dump.jsonl
milter_start "$dump" || exit 1
if ! sm_start "$work/sm" "$work/milter.sock"; then
	not_ok "sendmail starts"
	exit 1
fi
ok "sendmail starts (pid $SM_PID, 127.0.0.1:$SM_PORT, $((SECONDS - start)) s)"

# Plaintext, two recipients: per-recipient replies and deliveries.
if sm_send --from plain@sender.example --to a@bank.example --to b@other.example; then
	ok "plain: session"
else
	not_ok "plain: session" "see $SM_LAST_LOG"
fi
id=$SM_LAST_ID
check_eq "plain: no TLS" "$SM_TLS_STARTED" ""
check_eq "plain: MAIL" "$SM_MAIL_CODE" 250
check_eq "plain: RCPT a" "$(sm_rcpt_code a@bank.example)" 250
check_re "plain: RCPT b reply" "$(sm_rcpt_reply b@other.example)" '^250 2\.1\.5 <b@other\.example>'
check_eq "plain: end of message" "$SM_DATA_CODE" 250
check_re "plain: queue id" "$SM_QUEUE_ID" '^[0-9A-Za-z]{14}$'
check_eq "plain: sm_reply of a past session" "$(sm_reply "$id" MAIL)" "$SM_MAIL_REPLY"
for r in a@bank.example b@other.example; do
	if sm_wait_delivered "$id" 20 "$r" >/dev/null; then ok "plain: delivered to $r"; else not_ok "plain: delivered to $r"; fi
done
check_eq "plain: delivered header X-Test-Id" "$(sm_delivered_header "$id" X-Test-Id b@other.example)" "$id"
check_re "plain: delivered header Received (folded)" "$(sm_delivered_header "$id" Received)" \
	"^from $SM_HELO \(localhost \[127\.0\.0\.1\]\) by $SM_HOSTNAME .* id $SM_QUEUE_ID; "
for m in '{tls_version}' '{cipher}' '{cert_subject}' '{verify}' '{cert_fp}'; do
	check_eq "plain: $m not sent" "$(macro "$dump" plain@sender.example mail "$m")" '<absent>'
done
check_eq "plain: j" "$(macro "$dump" plain@sender.example connect j)" "$SM_HOSTNAME"
check_re "plain: v is the bare version" "$(macro "$dump" plain@sender.example connect v)" '^8\.[0-9.]+$'
check_eq "plain: {daemon_name}" "$(macro "$dump" plain@sender.example connect '{daemon_name}')" MTA
check_eq "plain: {client_addr}" "$(macro "$dump" plain@sender.example connect '{client_addr}')" 127.0.0.1
check_eq "plain: queue id i at MAIL" "$(macro "$dump" plain@sender.example mail i)" "$SM_QUEUE_ID"
check_eq "plain: {mail_addr}" "$(macro "$dump" plain@sender.example mail '{mail_addr}')" plain@sender.example
check_eq "plain: {rcpt_addr} of the 2nd RCPT" "$(macro "$dump" plain@sender.example rcpt '{rcpt_addr}' 1)" b@other.example
check_eq "plain: {auth_authen} not sent without AUTH" "$(macro "$dump" plain@sender.example mail '{auth_authen}')" '<absent>'

for v in TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; do
	tls_case "$v-nocert" "$v" "$v" "" "" "" NO
	tls_case "$v-trusted" "$v" "$v" trusted "$TRUSTED_SUBJECT" "$CA_ISSUER" OK
	tls_case "$v-untrusted" "$v" "$v" untrusted "$TRUSTED_SUBJECT" "$ROGUE_ISSUER" FAIL
done
check_re "TLSv1.3: SM_TLS_STARTED" "$SM_TLS_STARTED" '^TLSv1\.3:TLS_[A-Z0-9_]+:[0-9]+$'
tls_case expired any TLSv1.3 expired "$EXPIRED_SUBJECT" "$CA_ISSUER" FAIL

send_case odd TLSv1.3 odd
check_eq "odd: {cert_subject} escaping" "$(macro "$dump" odd@sender.example mail '{cert_subject}')" "$ODD_SUBJECT"
check_eq "odd: {verify}" "$(macro "$dump" odd@sender.example mail '{verify}')" OK

# Quarantine (the dump milter holds mail for hold@...): queued, not delivered.
sm_send --from hold@sender.example --to hold@bank.example
check_eq "hold: accepted" "$SM_DATA_CODE" 250
if held=$(sm_in_hold_queue "$SM_LAST_ID" 10); then
	check_eq "hold: in the hold queue with the reason" "$held" "$SM_QUEUE_ID macro-dump hold"
else
	not_ok "hold: in the hold queue with the reason"
fi
if sm_not_delivered "$SM_LAST_ID" 5; then ok "hold: not delivered"; else not_ok "hold: not delivered"; fi

if sm_wait_log 'STARTTLS=server, relay=localhost \[127\.0\.0\.1\], version=TLSv1\.3, verify=OK' >/dev/null; then
	ok "maillog: STARTTLS line with verify=OK"
else
	not_ok "maillog: STARTTLS line with verify=OK"
fi
sm_stop
if kill -0 "$(cat "$work/sm/sendmail.runpid")" 2>/dev/null; then not_ok "sm_stop: sendmail gone"; else ok "sm_stop: sendmail gone"; fi
milter_stop

# --- 2: Sendmail's default fingerprint setting: only {cert_md5} -------------
dump=$work/dump-md5.jsonl
milter_start "$dump" || exit 1
SM_CERT_FP_ALG=""
SM_PORT=""
if sm_start "$work/sm-md5" "$work/milter.sock"; then
	ok "sendmail (stock fingerprint) starts"
	send_case md5 TLSv1.3 trusted
	check_eq "md5: {cert_md5}" "$(macro "$dump" md5@sender.example mail '{cert_md5}')" \
		"$(fingerprint "$(sm_cert_file trusted)" md5)"
	check_eq "md5: {cert_fp} not sent" "$(macro "$dump" md5@sender.example mail '{cert_fp}')" '<absent>'
	send_case md5-nocert TLSv1.3
	check_eq "md5-nocert: {cert_md5} empty" "$(macro "$dump" md5-nocert@sender.example mail '{cert_md5}')" ''
else
	not_ok "sendmail (stock fingerprint) starts"
fi

# --- 3: milter down: F=T tempfails, nothing is delivered --------------------
milter_stop
sm_send --tls TLSv1.3 --from down-tls@sender.example --to a@bank.example
check_re "milter down: STARTTLS tempfails" "$(sm_reply "$SM_LAST_ID" STARTTLS)" '^454 4\.7\.0 '
if sm_not_delivered "$SM_LAST_ID" 5; then ok "milter down: TLS session not delivered"; else not_ok "milter down: TLS session not delivered"; fi
sm_send --from down-plain@sender.example --to a@bank.example
check_re "milter down: MAIL tempfails" "$SM_MAIL_REPLY" '^451 4\.3\.2 '
if sm_not_delivered "$SM_LAST_ID" 5; then ok "milter down: plaintext not delivered"; else not_ok "milter down: plaintext not delivered"; fi
sm_stop

# --- 4: which macros come with which command --------------------------------
# macro-stage-milter.py logs each macro packet with the command it precedes
# (libmilter's getsymval cannot tell); -s makes it ask for tlspolicy-milter's
# lists as tlspolicy-milter does. Sendmail's stock lists (cfhead.m4), sha256
# fingerprints. What tlspolicy-milter(8) (MTA INTEGRATION, Sendmail) and
# contrib/sendmail/tlspolicy.mc.snippet say rests on these checks; the
# table is in SENDMAIL-NOTES.md.
# sent DUMP SENDER STAGE [N]: the macro names of the Nth packet (0-based,
# default the last) of STAGE in SENDER's session, sorted, space-separated.
sent() {
	python3 - "$@" <<'PY'
import json, sys
dump, sender, stage = sys.argv[1:4]
conns = {}
for line in open(dump):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    conns.setdefault(r["conn"], []).append(r)
for recs in conns.values():
    if any(r["stage"] == "mail" and r["macros"].get("{mail_addr}") == sender for r in recs):
        got = [r for r in recs if r["stage"] == stage]
        n = int(sys.argv[4]) if len(sys.argv) > 4 else -1
        print(" ".join(sorted(got[n]["macros"])) if got else "<no-packet>")
        sys.exit(0)
print("<no-session>")
PY
}
stage_case() { # NAME SYMLIST(-s or "") FP_ALG
	local name=$1 sym=$2 dump=$work/stage-$1.jsonl
	rm -f "$work/stage.sock"
	# shellcheck disable=SC2086 # $sym is "-s" or nothing
	python3 "$here/macro-stage-milter.py" -p "unix:$work/stage.sock" -o "$dump" $sym \
		>>"$work/milter.out" 2>&1 &
	milter_pid=$!
	for _ in $(seq 1 50); do [ -S "$work/stage.sock" ] && break; sleep 0.1; done
	SM_CERT_FP_ALG=$3
	SM_PORT=""
	SM_MC_EXTRA=$stock_lists
	if ! sm_start "$work/sm-stage-$name" "$work/stage.sock"; then
		not_ok "$name: sendmail starts"
		return 1
	fi
	sm_send --from plain@s.example --to r@bank.example >/dev/null
	sm_send --tls TLSv1.3 --from nocert@s.example --to r@bank.example >/dev/null
	sm_send --tls TLSv1.3 --cert trusted --from trusted@s.example --to r@bank.example >/dev/null
	sm_stop
	milter_stop
	stage_dump=$dump
}
stock_lists=$(grep "^define(\`confMILTER_MACROS" "$SM_CACHE/root/usr/share/sendmail/cf/m4/cfhead.m4")
TLSN='{cert_issuer} {cert_subject} {cipher_bits} {cipher} {tls_version}'
# the client macros the stage milter asks for (as tlspolicy-milter does
# for client_name rules), sorted as the dump prints them
CLIENT='{client_addr} {client_name} {client_ptr} {client_resolve}'
if [ -n "$stock_lists" ] && command -v python3 >/dev/null; then
	stage_case ask -s sha256
	d=$stage_dump
	check_eq "stock lists: connect" "$(sent "$d" trusted@s.example connect)" '_ j {daemon_name} {if_name}'
	check_eq "stock lists: first EHLO empty" "$(sent "$d" trusted@s.example helo 0)" ''
	check_eq "stock lists: EHLO after STARTTLS, no {verify}" "$(sent "$d" trusted@s.example helo 1)" "$TLSN"
	check_eq "asked: MAIL has {verify} and {cert_fp}" "$(sent "$d" trusted@s.example mail)" \
		"i v {cert_fp} {cert_issuer} {cert_subject} {cipher_bits} {cipher} $CLIENT {mail_addr} {tls_version} {verify}"
	check_eq "asked: RCPT has {verify} and {cert_fp}" "$(sent "$d" nocert@s.example rcpt)" \
		"i v {cert_fp} {cert_issuer} {cert_subject} {cipher_bits} {cipher} $CLIENT {rcpt_addr} {tls_version} {verify}"
	check_eq "asked: DATA" "$(sent "$d" trusted@s.example data)" 'i'
	check_eq "asked: the EOM request is ignored" "$(sent "$d" trusted@s.example eom)" '{msg_id}'
	check_eq "asked: plaintext MAIL has no TLS macro" "$(sent "$d" plain@s.example mail)" "i v $CLIENT {mail_addr}"
	stage_case ask-md5 -s ""
	check_eq "asked, stock fingerprint: {cert_md5} at MAIL" "$(sent "$stage_dump" trusted@s.example mail)" \
		"i v {cert_issuer} {cert_md5} {cert_subject} {cipher_bits} {cipher} $CLIENT {mail_addr} {tls_version} {verify}"
	stage_case silent "" sha256
	check_eq "not asked: stock MAIL has no TLS macro" "$(sent "$stage_dump" trusted@s.example mail)" \
		'i {mail_addr} {mail_host} {mail_mailer}'
else
	not_ok "stage macros: cfhead.m4 or python3 missing"
fi

printf 'time: %s s\n' "$((SECONDS - start))"
printf 'sendmail-selftest: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]

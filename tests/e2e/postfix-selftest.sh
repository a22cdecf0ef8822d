#!/bin/bash
# tests/e2e/postfix-selftest.sh - prove the e2e harness (lib.sh) with no
# milter at all: every TLS version, client certificate state and the
# skip-EHLO client must reach the mailbox, and what Postfix records about
# them must be what the milter tests will rely on. If this fails, fix the
# harness (or the machine) before believing any milter e2e result.
#
# Exit 0 when every check passes, 1 when one fails, 77 when not root.
# E2E_KEEP=1 keeps the work directory; it is kept anyway after a failure.

set -u

if [ "$(id -u)" != 0 ]; then
	echo "postfix-selftest: skipped (needs root to run a private Postfix)"
	exit 77
fi

for tool in postfix postqueue postcat swaks openssl; do
	if ! command -v "$tool" >/dev/null; then
		echo "FAIL - $tool is not installed (apt-get install postfix swaks openssl)"
		echo "postfix-selftest: 0 passed, 1 failed"
		exit 1
	fi
done

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

passed=0
failed=0
work=""

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
	if "$@"; then ok "$name"; else fail "$name" "see ${PF_LAST_LOG:-$PF_LOG}"; fi
}

cleanup() {
	pf_stop || fail "pf_stop"
	if [ -n "$work" ] && [ "$failed" -eq 0 ] && [ "${E2E_KEEP-}" != 1 ]; then
		rm -rf "$work"
	elif [ -n "$work" ]; then
		echo "postfix-selftest: work directory kept: $work"
	fi
}

# ------------------------------------------------------------ predicates

has() { # has NEEDLE HAYSTACK
	case $2 in *"$1"*) return 0 ;; esac
	return 1
}

# The delivered copy of the last message has this text in its Received.
received_has() {
	has "$1" "$(pf_delivered_header "$PF_LAST_ID" Received)"
}

received_lacks() {
	pf_delivered_header "$PF_LAST_ID" Received >/dev/null && ! received_has "$1"
}

# The last session was accepted and reached the mailbox.
delivered() {
	[ "$PF_DATA_CODE" = 250 ] && pf_wait_delivered "$PF_LAST_ID" 10 >/dev/null
}

# RCPT's copy of the last message reached the mailbox.
copy_for() {
	pf_wait_delivered "$PF_LAST_ID" 10 "$1" >/dev/null
}

queued_with_id() {
	[ "$PF_DATA_CODE" = 250 ] && [ -n "$PF_QUEUE_ID" ]
}

held() {
	pf_in_hold_queue "$PF_LAST_ID" >/dev/null
}

no_ehlo_sent() {
	! grep -q '^C: EHLO' "$PF_LAST_LOG"
}

log_has() {
	pf_wait_log "$1" >/dev/null
}

# verify_says FILE TEXT: openssl's verdict on a client cert has TEXT.
verify_says() {
	openssl verify -CAfile "$PF_CERTS/ca.crt" -purpose sslclient "$PF_CERTS/$1" 2>&1 |
		grep -qF -- "$2"
}

# The master of the instance and all its daemons are gone.
instance_gone() {
	[ -n "$1" ] && ! _pf_any_alive "$1" && [ -z "$(_pf_children "$1")" ]
}

# ---------------------------------------------------------------- checks

check_pki() {
	check "pki: trusted client cert verifies against the test CA" \
		verify_says client.crt ": OK"
	check "pki: rogue client cert does not verify" \
		verify_says rogue.crt "unable to get local issuer certificate"
	check "pki: expired client cert fails as expired" \
		verify_says client-expired.crt "certificate has expired"
}

check_plaintext() {
	pf_send --to plain@example.com
	check "plaintext: accepted and delivered" delivered
	check "plaintext: no TLS in Received" received_lacks "(using TLS"
}

check_version() {
	local v=$1
	pf_send --tls "$v" --to "ver@health.example"
	check "$v: negotiated by swaks" has "$v:" "$PF_TLS_STARTED"
	check "$v: accepted and delivered" delivered
	check "$v: Received says 'using $v with cipher'" received_has "(using $v with cipher "
}

check_client_certs() {
	pf_send --tls TLSv1.2 --cert trusted --to cert@partner.example
	check "trusted cert: delivered" delivered
	check "trusted cert: Received says verified OK" received_has \
		'(Client CN "client.partner.example", Issuer "tlspolicy Test CA" (verified OK))'
	check "trusted cert: log says Trusted TLS connection" \
		log_has "Trusted TLS connection established from localhost\[127.0.0.1\]: TLSv1.2"
	pf_send --tls TLSv1.3 --cert rogue --to cert@partner.example
	check "rogue cert: delivered" delivered
	check "rogue cert: Received says not verified" received_has \
		'(Client CN "rogue.partner.example", Issuer "tlspolicy Rogue CA" (not verified))'
	check "rogue cert: log says Untrusted TLS connection" \
		log_has "Untrusted TLS connection established from localhost\[127.0.0.1\]: TLSv1.3"
	pf_send --tls TLSv1.1 --cert expired --to cert@partner.example
	check "expired cert: delivered" delivered
	check "expired cert: Received says not verified" received_has \
		'(Client CN "expired.partner.example", Issuer "tlspolicy Test CA" (not verified))'
}

check_recipients() {
	local n
	pf_send --tls TLSv1.2 --to one@example.com --to "$PF_REJECT_RCPT" --to two@other.example
	check "recipients: MAIL 250" test "$PF_MAIL_CODE" = 250
	check "recipients: first RCPT 250" test "$(pf_rcpt_code one@example.com)" = 250
	check "recipients: harness reject RCPT 550 5.1.1" has "550 5.1.1 " "$(pf_rcpt_reply "$PF_REJECT_RCPT")"
	check "recipients: third RCPT 250" test "$(pf_rcpt_code two@other.example)" = 250
	check "recipients: DATA 250 with queue id" queued_with_id
	check "recipients: first recipient's copy delivered" copy_for one@example.com
	check "recipients: third recipient's copy delivered" copy_for two@other.example
	check "recipients: rejected recipient got no copy" \
		pf_not_delivered "$PF_LAST_ID" 10 "$PF_REJECT_RCPT"
	n=$(grep -rlF -- "$PF_LAST_ID" "$PF_MAILBOX/new" | wc -l)
	check "recipients: two copies delivered" test "$n" = 2
}

check_hold() {
	pf_send --tls TLSv1.2 --to "$PF_HOLD_RCPT"
	check "hold: accepted" test "$PF_DATA_CODE" = 250
	check "hold: in the hold queue" held
	check "hold: not delivered" pf_not_delivered "$PF_LAST_ID"
}

check_skip_ehlo() {
	local v
	for v in TLSv1.2 TLSv1.3; do
		pf_send_skip_ehlo --tls "$v" --cert trusted --to skip@health.example
		check "skip-EHLO $v: session ran to QUIT" test "$?" = 0
		check "skip-EHLO $v: no EHLO after STARTTLS" no_ehlo_sent
		check "skip-EHLO $v: negotiated" has "$v:" "$PF_TLS_STARTED"
		check "skip-EHLO $v: delivered" delivered
		# Without a HELO after STARTTLS Postfix names the client by its
		# reverse DNS name: that is how we know the EHLO was really skipped.
		check "skip-EHLO $v: Received has TLS, no HELO name" received_has \
			"from localhost (localhost [127.0.0.1]) (using $v with cipher "
		check "skip-EHLO $v: client cert verified" received_has "(verified OK)"
	done
}

check_stop() {
	local master
	master=$(_pf_master_pid)
	pf_stop
	check "pf_stop: master and daemons gone" instance_gone "$master"
}

main() {
	local t0=$SECONDS
	work=$(mktemp -d "${TMPDIR:-/tmp}/tlspolicy-e2e.XXXXXX") || exit 1
	trap cleanup EXIT
	trap 'fail "interrupted"; exit 1' INT TERM
	if ! pf_start "$work" ""; then
		fail "pf_start" "log: $work/maillog"
		echo "postfix-selftest: $passed passed, $failed failed"
		exit 1
	fi
	ok "pf_start: private Postfix on 127.0.0.1:$PF_PORT"
	check_pki
	check_plaintext
	for v in TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; do check_version "$v"; done
	check_client_certs
	check_recipients
	check_hold
	check_skip_ehlo
	check_stop
	echo "postfix-selftest: $((SECONDS - t0)) s"
	echo "postfix-selftest: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"

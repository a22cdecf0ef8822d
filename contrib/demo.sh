#!/usr/bin/env bash
# demo.sh - tlspolicy-milter in front of a real Postfix, on loopback.
#
# Starts a private Postfix (its own configuration, queue and mailbox in a
# temporary directory; STARTTLS with a generated CA; client certificates
# asked for), plugs tlspolicy-milter into it with the policy below, sends
# a handful of messages at different TLS levels with swaks, and shows
# what happened to each: the SMTP reply per recipient, delivery, the tag
# header, the hold queue, and the audit records. Everything it starts is
# stopped when it ends. Run as root (Postfix's smtpd runs as postfix).
#
#   contrib/demo.sh BUILD_DIR     (contrib/quickstart.sh demo runs this)
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/_build/demo}
milter=$build/tlspolicy-milter
work=$(mktemp -d /tmp/tlspolicy-demo.XXXXXX)
chmod 755 "$work"
milter_pid=

# shellcheck source=tests/e2e/lib.sh
. "$src/tests/e2e/lib.sh"

cleanup() {
	pf_stop >/dev/null 2>&1
	if [ -n "$milter_pid" ]; then
		kill -TERM "$milter_pid" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$milter_pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

write_policy() {
	mkdir -p "$work/run" "$work/log"
	chown postfix "$work/run" "$work/log"
	cat >"$work/policy.yaml" <<POLICY
version: 1
milter:
  authserv_id: mx.test.example
audit:
  file: $work/log/audit.log
  sync: always
profiles:
  modern:
    min_version: TLSv1.2
    forward_secrecy: true
recipients:
  example.com: modern                 # reject below TLS 1.2 or without FS
  health.example:
    profile: modern
    min_version: TLSv1.3
    action: defer                     # 450: try again with better TLS
  archive.example: {profile: modern, action: quarantine}
  newsletter.example: {profile: modern, action: tag}
  default: {}
senders:
  partner.example:                    # mutual TLS with a pinned name
    profile: modern
    client_cert: verified
    subject: client.partner.example
POLICY
}

start() {
	say "checking the policy"
	"$milter" -c "$work/policy.yaml" -n --mta postfix || exit 1
	"$milter" -f -u postfix -c "$work/policy.yaml" \
		-p "unix:$work/run/milter.sock" 2>"$work/log/milter.log" &
	milter_pid=$!
	for _ in $(seq 1 100); do
		[ -S "$work/run/milter.sock" ] && break
		sleep 0.1
	done
	[ -S "$work/run/milter.sock" ] || { cat "$work/log/milter.log"; exit 1; }
	say "starting a private Postfix on 127.0.0.1 with the milter"
	pf_start "$work/pf" "unix:$work/run/milter.sock" || exit 1
	echo "Postfix listens on 127.0.0.1:$PF_PORT; milter pid $milter_pid"
}

# send "what" [pf_send options]: one session, and what became of it.
send() {
	local what=$1 rcpt line
	shift
	say "$what"
	pf_send "$@" >/dev/null 2>&1
	printf '  TLS: %s\n' "${PF_TLS_STARTED:-none}"
	if [ "${PF_MAIL_CODE:-}" != 250 ]; then
		printf '  MAIL FROM refused: %s\n' "$PF_MAIL_REPLY"
		return
	fi
	for rcpt in "${RCPTS[@]}"; do
		line=$(pf_rcpt_reply "$rcpt")
		printf '  RCPT %-28s %s\n' "$rcpt" "$line"
	done
	[ -n "${PF_QUEUE_ID:-}" ] && printf '  DATA: %s\n' "$PF_DATA_REPLY"
}

# outcome ID RCPT: delivered (with our header, if any), held, or not.
outcome() {
	local id=$1 rcpt=$2 hdr
	if pf_wait_delivered "$id" 5 "$rcpt" >/dev/null 2>&1; then
		hdr=$(pf_delivered_header "$id" X-TLS-Policy "$rcpt")
		printf '  %-30s delivered%s\n' "$rcpt" "${hdr:+, X-TLS-Policy: $hdr}"
	elif pf_in_hold_queue "$id" 3 >/dev/null 2>&1; then
		printf '  %-30s in the hold queue (quarantined)\n' "$rcpt"
	else
		printf '  %-30s not delivered\n' "$rcpt"
	fi
}

run() {
	local id
	RCPTS=(alice@example.com)
	send "1. plaintext to example.com" --to alice@example.com

	send "2. TLSv1.1 to example.com" --tls TLSv1.1 --to alice@example.com

	RCPTS=(alice@example.com bob@health.example)
	send "3. TLSv1.2 with forward secrecy, to example.com and health.example" \
		--tls TLSv1.2 --to alice@example.com --to bob@health.example
	id=$PF_LAST_ID
	outcome "$id" alice@example.com
	outcome "$id" bob@health.example

	RCPTS=(news@newsletter.example carol@other.example)
	send "4. TLSv1.2 without forward secrecy (AES128-SHA) to a tagging rule" \
		--tls TLSv1.2 --cipher AES128-SHA \
		--to news@newsletter.example --to carol@other.example
	id=$PF_LAST_ID
	outcome "$id" news@newsletter.example
	outcome "$id" carol@other.example

	RCPTS=(records@archive.example)
	send "5. TLSv1.2 without forward secrecy to a quarantining rule" \
		--tls TLSv1.2 --cipher AES128-SHA --to records@archive.example
	outcome "$PF_LAST_ID" records@archive.example

	RCPTS=(alice@example.com)
	send "6. partner.example without a client certificate" --tls TLSv1.3 \
		--from billing@partner.example --to alice@example.com

	send "7. partner.example with its trusted client certificate" \
		--tls TLSv1.3 --cert trusted \
		--from billing@partner.example --to alice@example.com
	outcome "$PF_LAST_ID" alice@example.com

	RCPTS=(alice@example.com bob@health.example)
	send "8. TLSv1.3 to everyone" --tls TLSv1.3 \
		--to alice@example.com --to bob@health.example
	outcome "$PF_LAST_ID" alice@example.com
	outcome "$PF_LAST_ID" bob@health.example
}

report() {
	say "the milter's decision log (one line per recipient)"
	grep -E ': (rcpt|mail)=' "$work/log/milter.log" | sed 's/^tlspolicy-milter: info: /  /' |
		cut -c1-220
	say "the audit log: $(wc -l <"$work/log/audit.log") records"
	python3 - "$work/log/audit.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    tls = (r.get("tls") or {}).get("version") or ("-" if r["type"] in ("start", "stop", "reload") else "plaintext")
    who = [x["addr"] for x in r.get("recipients", [])] or [r.get("sender") or ""]
    print("  #%-3d %-8s %-9s %-10s %s" % (r["seq"], r["type"], r.get("action", ""), tls, " ".join(who)))
PY
}

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root" >&2; exit 1; }
[ -x "$milter" ] || { echo "demo.sh: no $milter; build first" >&2; exit 1; }
write_policy
start
run
kill -TERM "$milter_pid"
for _ in $(seq 1 100); do
	kill -0 "$milter_pid" 2>/dev/null || break
	sleep 0.1
done
milter_pid=
report
say "done: Postfix and the milter are stopped, $work is removed"

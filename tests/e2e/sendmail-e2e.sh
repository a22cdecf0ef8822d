#!/bin/bash
# sendmail-e2e.sh - tlspolicy-milter end to end with a real Sendmail 8.17.
#
# Runs the daemon under test with a policy that needs what only Sendmail
# shows (the full certificate DN, xtext-encoded; {verify}; {cert_fp}),
# plugs it into the private loopback Sendmail of sendmail-lib.sh, and drives
# SMTP sessions with swaks over plaintext and TLSv1.1..TLSv1.3, with no, a
# trusted, an untrusted (same DN, unknown CA), an expired and an "odd"
# (UTF-8, escaped '/' and '+') client certificate. It asserts on the SMTP
# replies, on what is delivered (and what is not), on the tag header and on
# the audit log (valid JSON, contiguous seq, one record per refusal with
# the reply given and the TLS evidence), then stops the daemon with SIGTERM.
#
# The daemon: $TLSPOLICY_MILTER, else ${top_builddir:-.}/tlspolicy-milter.
# Exit: 0 all passed, 1 a check failed, 77 cannot run here (not root, or a
# tool is missing). One line per check; the last line is
# "sendmail-e2e: N passed, M failed". SM_E2E_KEEP=1 keeps the work
# directory (it is kept anyway when a check fails).
set -u

here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
# Every wait below is bounded; this is the budget for the whole run, checked
# before each SMTP session, so a hung step cannot push it far past 3 min.
budget=${SM_E2E_BUDGET:-150}
# swaks' per-step timeout (the harness's minimum); a session is bounded to
# six steps of it.
SM_SMTP_TIMEOUT=10
# Should the test die without cleaning up, Sendmail and its syslog listener
# still end on their own.
SM_MAX_SECONDS=300
SM_LOG_MAX=300

skip() {
	printf 'sendmail-e2e: SKIP: %s\n' "$*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, mounts)"
for tool in swaks m4 perl unshare openssl ss flock timeout python3; do
	command -v "$tool" >/dev/null || skip "$tool is missing"
done
python3 -c 'import json' 2>/dev/null || skip "python3 cannot import json"

milter=${TLSPOLICY_MILTER:-${top_builddir:-.}/tlspolicy-milter}
case $milter in
/*) ;;
*) milter=$(pwd)/$milter ;;
esac
if [ ! -x "$milter" ]; then
	printf 'sendmail-e2e: %s is not an executable (build it, or set TLSPOLICY_MILTER)\n' "$milter"
	printf 'sendmail-e2e: 0 passed, 1 failed\n'
	exit 1
fi

# shellcheck source=sendmail-lib.sh
. "$here/sendmail-lib.sh"

work=$(mktemp -d /tmp/tlspolicy-sm-e2e.XXXXXX) || exit 1
sock=$work/m.sock
policy=$work/policy.yaml
audit=$work/audit.log
milter_pid=""

# Stops the daemon under test: TERM, up to 10 s, then KILL. Sets
# milter_rc to its exit status.
milter_rc=""
milter_stop() {
	[ -n "$milter_pid" ] || return 0
	kill -TERM "$milter_pid" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$milter_pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$milter_pid" 2>/dev/null; then
		printf 'sendmail-e2e: tlspolicy-milter %s ignored TERM, killing it\n' "$milter_pid"
		kill -KILL "$milter_pid" 2>/dev/null
	fi
	wait "$milter_pid" 2>/dev/null
	milter_rc=$?
	milter_pid=""
}

# Runs on every exit: no Sendmail, no milter outlives the test.
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	sm_stop
	milter_stop
	if [ "${SM_E2E_KEEP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then
		printf 'sendmail-e2e: work directory kept: %s\n' "$work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ok, not_ok, check_eq, check_re: tests/e2e/common.sh (via sendmail-lib.sh)

finish() {
	printf 'time: %s s\n' "$SECONDS"
	printf 'sendmail-e2e: %d passed, %d failed\n' "$passed" "$failed"
	[ "$failed" -eq 0 ] && exit 0
	exit 1
}

# fingerprint CERT: SHA-256, as Sendmail's {cert_fp} writes it (upper-case
# hex with colons, SM_CERT_FP_ALG=sha256).
fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^[^=]*=//'
}

# ------------------------------------------------------------ expectations
# What the audit log must hold, one TSV line each, checked at the end by
# check-audit.py:
#   KIND KEY REPLY-OR-ACTION VERIFY FINGERPRINT CERT FAILED [SUBJECT]
# KIND mail (KEY: the sender), rcpt (KEY: the recipient) or message (KEY:
# the queue id); "-" for an absent value (JSON null); FAILED is the sorted,
# comma-separated set of requirements that failed.
expect=$work/expect.tsv
: >"$expect"
expect() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$expect"
}

# Refused copies that must never be delivered: "ID RCPT" (RCPT "" when the
# whole transaction was refused at MAIL), checked once Sendmail is done.
refused=()

# send ARGS...: sm_send, unless the time budget is spent.
send() {
	if [ "$SECONDS" -gt "$budget" ]; then
		not_ok "time budget of $budget s" "spent before: sm_send $*"
		finish
	fi
	sm_send "$@"
}

# delivered NAME ID [RCPT]: one check that ID (RCPT's copy) arrives.
delivered() {
	if sm_wait_delivered "$2" 15 "${3:-}" >/dev/null; then
		ok "$1: delivered${3:+ to $3}"
	else
		not_ok "$1: delivered${3:+ to $3}" "see $SM_DIR/tx/$2.txt and $SM_DIR/maillog"
	fi
}

# smtp_re ADDR REPLY-REGEX: what the client sees of the milter's reply
# "CODE X.Y.Z TEXT": Sendmail may insert "<ADDR>... " before the text (it
# does for the 550s, not for the 530s).
smtp_re() {
	local code=${2%% *} rest=${2#* }
	local ecode=${rest%% *} text=${rest#* } a
	a=$(printf '%s' "$1" | sed 's/\./\\./g')
	printf '^%s %s (<%s>\\.\\.\\. )?%s$' "$code" "$ecode" "$a" "$text"
}

# mail_refused NAME REPLY-REGEX: the last session was refused at MAIL.
mail_refused() {
	local from
	from=$(sed -n 's/^ *[-~]> MAIL FROM:<\(.*\)>.*/\1/p' "$SM_LAST_LOG" | head -n 1)
	check_re "$1: MAIL refused" "$SM_MAIL_REPLY" "$(smtp_re "$from" "$2")"
	refused+=("$SM_LAST_ID ")
}

start=$SECONDS

# ----------------------------------------------------------------- setup
# The test PKI first: the policy pins the trusted client certificate's
# fingerprint. sm_start finds it made and keeps it.
smdir=$work/sm
if ! sm_certs "$smdir/certs"; then
	not_ok "test certificates"
	finish
fi
certs=$smdir/certs
fp_trusted=$(fingerprint "$certs/client.crt")
fp_untrusted=$(fingerprint "$certs/untrusted.crt")
fp_expired=$(fingerprint "$certs/expired.crt")
fp_odd=$(fingerprint "$certs/odd.crt")
# The test CA's CN, for the issuer requirement (a CN name, compared with the
# last CN= of Sendmail's issuer DN).
ca_cn=$(openssl x509 -in "$certs/ca.crt" -noout -subject -nameopt RFC2253 |
	sed -n 's/^subject=CN=\([^,]*\),.*/\1/p')
check_eq "test CA CN" "$ca_cn" "TLS Policy Test CA"

# partner.example needs a verified certificate whose full DN is exactly the
# harness's trusted one (only Sendmail shows a DN; it sends it
# xtext-encoded, "+20" for each space). pinned.example pins the trusted
# certificate's fingerprint, presented.example wants any certificate.
cat >"$policy" <<EOF
version: 1
milter:
  authserv_id: mx.test.example
audit:
  file: $audit
  sync: always
senders:
  partner.example:
    min_version: TLSv1.2
    client_cert: verified
    subject: "/C=DE/O=Partner Bank AG/CN=client.partner.example"
    issuer: "$ca_cn"
  pinned.example:
    client_cert: presented
    fingerprints: ["$fp_trusted"]
  presented.example:
    client_cert: presented
recipients:
  strict.example:
    min_version: TLSv1.2
  tag.example:
    min_version: TLSv1.3
    action: tag
  default: {}
EOF

out=$("$milter" -c "$policy" -n --mta sendmail 2>&1)
rc=$?
check_eq "policy check (-n --mta sendmail) exit status" "$rc" 0
check_re "policy check says OK with 6 rules" "$out" "^$policy: OK: 6 rules, 0 profiles, sha256 [0-9a-f]{64}$"
# For Sendmail, -n only says which digest a fingerprint pin is compared
# with; nothing else may be unobservable: the full-DN subject is what
# Sendmail shows, and {verify} comes at MAIL and RCPT as the milter asks.
warn=$(printf '%s\n' "$out" | grep -i 'warning' |
	grep -Ev "on Sendmail, 'fingerprints' are compared with \{cert_fp\}, in the digest of CertFingerprintAlgorithm")
check_eq "policy check: no warning but the fingerprint digest reminder" "$warn" ""

# The daemon runs as root, like this Sendmail (sendmail-lib sets no
# RunAsUser, so its SMTP children connect to the milter as root): the
# socket's default 0660 root:root is usable, and no -u is needed. Without
# -u the daemon can also remove its socket from the 0700 work directory at
# stop. (It warns "running as root", which is expected here.)
"$milter" --run-as-root -f -c "$policy" -p "unix:$sock" >"$work/milter.log" 2>&1 &
milter_pid=$!
for _ in $(seq 1 100); do
	[ -S "$sock" ] && break
	kill -0 "$milter_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -S "$sock" ] && kill -0 "$milter_pid" 2>/dev/null; then
	ok "tlspolicy-milter listens on unix:$sock (pid $milter_pid)"
else
	not_ok "tlspolicy-milter listens on unix:$sock" "$(tail -n 5 "$work/milter.log")"
	finish
fi

# The harness's .mc already lists v (connect), {verify} and {cert_fp}
# (HELO, MAIL, RCPT); the milter asks for its own MAIL/RCPT lists with
# smfi_setsymlist on top.
if sm_start "$smdir" "$sock"; then
	ok "sendmail starts (127.0.0.1:$SM_PORT, $((SECONDS - start)) s)"
else
	not_ok "sendmail starts" "see $smdir/sendmail.out and $smdir/maillog"
	finish
fi
for sm in connect:v 'helo:{verify}' 'helo:{cert_fp}' 'envfrom:{verify}' 'envfrom:{cert_fp}' \
	'envrcpt:{verify}' 'envrcpt:{cert_fp}'; do
	if sed -n "s/^O Milter\.macros\.${sm%%:*}=//p" "$smdir/sendmail.cf" |
		tr ',' '\n' | tr -d ' ' | grep -qxF "${sm#*:}"; then
		ok "sendmail.cf: Milter.macros.${sm%%:*} has ${sm#*:}"
	else
		not_ok "sendmail.cf: Milter.macros.${sm%%:*} has ${sm#*:}" \
			"$(grep "^O Milter\.macros\.${sm%%:*}=" "$smdir/sendmail.cf")"
	fi
done

REPLY_PLAIN='530 5\.7\.0 Must issue a STARTTLS command first'
REPLY_RCPT='550 5\.7\.1 Message refused: TLS policy for the recipient domain not met'
REPLY_SENDER='550 5\.7\.1 Message refused: TLS policy for the sender domain not met'
unre() { printf '%s' "$1" | sed 's/\\//g'; }

# --- a: plaintext -----------------------------------------------------------
send --from a-plain@sender.example --to s-plain@strict.example --to o-plain@other.example
id=$SM_LAST_ID
check_eq "a plaintext: no TLS" "$SM_TLS_STARTED" ""
check_eq "a plaintext: MAIL" "$SM_MAIL_CODE" 250
check_re "a plaintext: RCPT strict.example refused" "$(sm_rcpt_reply s-plain@strict.example)" "$(smtp_re s-plain@strict.example "$REPLY_PLAIN")"
check_eq "a plaintext: RCPT other.example" "$(sm_rcpt_code o-plain@other.example)" 250
check_eq "a plaintext: message accepted" "$SM_DATA_CODE" 250
delivered "a plaintext" "$id" o-plain@other.example
refused+=("$id s-plain@strict.example")
expect rcpt s-plain@strict.example "$(unre "$REPLY_PLAIN")" - - none tls
expect message "$SM_QUEUE_ID" accept - - none -

# --- b: TLS versions against min_version TLSv1.2 ----------------------------
send --tls TLSv1.1 --from b-11@sender.example --to s-11@strict.example --to o-11@other.example
id=$SM_LAST_ID
check_re "b TLSv1.1: TLS started" "$SM_TLS_STARTED" '^TLSv1\.1:'
check_re "b TLSv1.1: RCPT strict.example refused" "$(sm_rcpt_reply s-11@strict.example)" "$(smtp_re s-11@strict.example "$REPLY_RCPT")"
check_eq "b TLSv1.1: RCPT other.example" "$(sm_rcpt_code o-11@other.example)" 250
check_eq "b TLSv1.1: message accepted" "$SM_DATA_CODE" 250
delivered "b TLSv1.1" "$id" o-11@other.example
refused+=("$id s-11@strict.example")
expect rcpt s-11@strict.example "$(unre "$REPLY_RCPT")" NO - none min_version

for v in TLSv1.2 TLSv1.3; do
	send --tls "$v" --from "b-$v@sender.example" --to "s-$v@strict.example"
	check_re "b $v: TLS started" "$SM_TLS_STARTED" "^${v//./\\.}:"
	check_eq "b $v: RCPT strict.example" "$(sm_rcpt_code "s-$v@strict.example")" 250
	check_eq "b $v: message accepted" "$SM_DATA_CODE" 250
	delivered "b $v" "$SM_LAST_ID"
	expect message "$SM_QUEUE_ID" accept NO - none -
done

# --- c: sender partner.example: verified cert with the full DN --------------
send --tls TLSv1.3 --cert trusted --from c-trusted@partner.example --to r-c@other.example
check_eq "c partner trusted: MAIL" "$SM_MAIL_CODE" 250
check_eq "c partner trusted: RCPT" "$(sm_rcpt_code r-c@other.example)" 250
check_eq "c partner trusted: message accepted" "$SM_DATA_CODE" 250
delivered "c partner trusted" "$SM_LAST_ID"
expect message "$SM_QUEUE_ID" accept OK "$fp_trusted" verified - \
	"/C=DE/O=Partner Bank AG/CN=client.partner.example"

# Same DN, unknown CA: {verify}=FAIL, and the issuer is the rogue CA.
send --tls TLSv1.3 --cert untrusted --from c-untrusted@partner.example --to r-c@other.example
mail_refused "c partner untrusted (same DN)" "$REPLY_SENDER"
expect mail c-untrusted@partner.example "$(unre "$REPLY_SENDER")" FAIL "$fp_untrusted" presented \
	client_cert,issuer "/C=DE/O=Partner Bank AG/CN=client.partner.example"

send --tls TLSv1.3 --from c-nocert@partner.example --to r-c@other.example
mail_refused "c partner no cert" "$REPLY_SENDER"
expect mail c-nocert@partner.example "$(unre "$REPLY_SENDER")" NO - none client_cert,issuer,subject

# Verified, same CA, other DN: only the full-DN subject match refuses it.
send --tls TLSv1.3 --cert odd --from c-odd@partner.example --to r-c@other.example
mail_refused "c partner verified cert, other DN" "$REPLY_SENDER"
expect mail c-odd@partner.example "$(unre "$REPLY_SENDER")" OK "$fp_odd" verified subject

send --tls TLSv1.3 --cert expired --from c-expired@partner.example --to r-c@other.example
mail_refused "c partner expired cert" "$REPLY_SENDER"
expect mail c-expired@partner.example "$(unre "$REPLY_SENDER")" FAIL "$fp_expired" presented client_cert,subject

send --tls TLSv1.1 --cert trusted --from c-tls11@partner.example --to r-c@other.example
mail_refused "c partner trusted over TLSv1.1" "$REPLY_SENDER"
expect mail c-tls11@partner.example "$(unre "$REPLY_SENDER")" OK "$fp_trusted" verified min_version

send --from c-plain@partner.example --to r-c@other.example
mail_refused "c partner plaintext" "$REPLY_PLAIN"
expect mail c-plain@partner.example "$(unre "$REPLY_PLAIN")" - - none tls

# --- d: sender pinned.example: fingerprint pin ------------------------------
send --tls TLSv1.2 --cert trusted --from d-trusted@pinned.example --to r-d@other.example
check_eq "d pinned trusted: MAIL" "$SM_MAIL_CODE" 250
check_eq "d pinned trusted: message accepted" "$SM_DATA_CODE" 250
delivered "d pinned trusted" "$SM_LAST_ID"
expect message "$SM_QUEUE_ID" accept OK "$fp_trusted" verified -

send --tls TLSv1.2 --cert untrusted --from d-untrusted@pinned.example --to r-d@other.example
mail_refused "d pinned untrusted (other fingerprint)" "$REPLY_SENDER"
expect mail d-untrusted@pinned.example "$(unre "$REPLY_SENDER")" FAIL "$fp_untrusted" presented fingerprints

send --tls TLSv1.2 --from d-nocert@pinned.example --to r-d@other.example
mail_refused "d pinned no cert" "$REPLY_SENDER"
expect mail d-nocert@pinned.example "$(unre "$REPLY_SENDER")" NO - none client_cert,fingerprints

# --- e: sender presented.example: any certificate ---------------------------
send --tls TLSv1.3 --cert untrusted --from e-untrusted@presented.example --to r-e@other.example
check_eq "e presented untrusted: MAIL" "$SM_MAIL_CODE" 250
check_eq "e presented untrusted: message accepted" "$SM_DATA_CODE" 250
delivered "e presented untrusted" "$SM_LAST_ID"
expect message "$SM_QUEUE_ID" accept FAIL "$fp_untrusted" presented -

send --tls TLSv1.3 --from e-nocert@presented.example --to r-e@other.example
mail_refused "e presented no cert" "$REPLY_SENDER"
expect mail e-nocert@presented.example "$(unre "$REPLY_SENDER")" NO - none client_cert

# --- f: the odd certificate (UTF-8, escaped '/' and '+') --------------------
# Sendmail sends O=M+5CxC3+5CxBCller+20+5C/+20S... ; the record holds the
# decoded DN: UTF-8 bytes, the value's '/' still escaped ("\/") so that the
# DN can be split again, '+' and '&' plain.
send --tls TLSv1.3 --cert odd --from f-odd@presented.example --to r-f@other.example
check_eq "f odd cert: MAIL" "$SM_MAIL_CODE" 250
check_eq "f odd cert: message accepted" "$SM_DATA_CODE" 250
delivered "f odd cert" "$SM_LAST_ID"
expect message "$SM_QUEUE_ID" accept OK "$fp_odd" verified - \
	'/C=DE/O=Müller \/ Söhne + Co=KG & Partner/CN=odd.partner.example'
if kill -0 "$milter_pid" 2>/dev/null; then
	ok "f odd cert: tlspolicy-milter still running"
else
	not_ok "f odd cert: tlspolicy-milter still running" "$(tail -n 5 "$work/milter.log")"
fi

# --- g: tag.example (min_version TLSv1.3, action tag) -----------------------
# Each message carries a forged tag header, which must be replaced by ours
# (TLSv1.2) or removed (TLSv1.3).
forged='X-TLS-Policy: mx.test.example; tls-policy=pass (forged)'
send --tls TLSv1.2 --from g-12@sender.example --to t-12@tag.example --header "$forged"
id=$SM_LAST_ID
check_eq "g tag TLSv1.2: RCPT" "$(sm_rcpt_code t-12@tag.example)" 250
check_eq "g tag TLSv1.2: message accepted" "$SM_DATA_CODE" 250
delivered "g tag TLSv1.2" "$id"
hdr=$(sm_delivered_header "$id" X-TLS-Policy)
check_eq "g tag TLSv1.2: one X-TLS-Policy header" "$(printf '%s' "$hdr" | grep -c .)" 1
check_re "g tag TLSv1.2: X-TLS-Policy value" "$hdr" \
	'^mx\.test\.example; tls-policy=fail action=tag rules=recipient:tag\.example failed=min_version; tls=TLSv1\.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256 cert=none$'
f=$(sm_delivered_files "$id" | head -n 1)
check_re "g tag TLSv1.2: X-TLS-Policy is the first header" \
	"$(sed -n '2p' "$f" 2>/dev/null)" '^X-TLS-Policy: mx\.test\.example; tls-policy=fail'
expect message "$SM_QUEUE_ID" tag NO - none min_version

send --tls TLSv1.3 --from g-13@sender.example --to t-13@tag.example --header "$forged"
id=$SM_LAST_ID
check_eq "g tag TLSv1.3: message accepted" "$SM_DATA_CODE" 250
delivered "g tag TLSv1.3" "$id"
if hdr=$(sm_delivered_header "$id" X-TLS-Policy); then
	not_ok "g tag TLSv1.3: no X-TLS-Policy header (forged one removed)" "found [$hdr]"
else
	ok "g tag TLSv1.3: no X-TLS-Policy header (forged one removed)"
fi
expect message "$SM_QUEUE_ID" accept NO - none -

# --- i: nothing refused was delivered ---------------------------------------
for r in "${refused[@]}"; do
	rid=${r%% *}
	rr=${r#* }
	if sm_not_delivered "$rid" 15 "$rr"; then
		ok "i: refused ${rr:-transaction} ($rid) not delivered"
	else
		not_ok "i: refused ${rr:-transaction} ($rid) not delivered"
	fi
done
n=$(find "$smdir/mail" -name '*.eml' | wc -l)
check_eq "i: delivered copies in all" "$n" 10

# --- 5: stop the daemon -----------------------------------------------------
if kill -0 "$milter_pid" 2>/dev/null; then
	ok "tlspolicy-milter ran through every session"
else
	not_ok "tlspolicy-milter ran through every session" "$(tail -n 5 "$work/milter.log")"
fi
milter_stop
check_eq "tlspolicy-milter exits 0 on SIGTERM" "$milter_rc" 0
if [ -e "$sock" ]; then not_ok "socket removed at stop"; else ok "socket removed at stop"; fi
crash='crit|Segmentation|Sanitizer|runtime error:|out of memory'
if grep -Eq "$crash" "$work/milter.log"; then
	not_ok "milter log has no crit/crash lines" "$(grep -E "$crash" "$work/milter.log" | head -n 3)"
else
	ok "milter log has no crit/crash lines"
fi
if grep -q ': err:' "$work/milter.log"; then
	not_ok "milter log has no err lines (on_error never used)" "$(grep ': err:' "$work/milter.log" | head -n 3)"
else
	ok "milter log has no err lines (on_error never used)"
fi

# --- h: the audit log -------------------------------------------------------
cat >"$work/check-audit.py" <<'PY'
import json
import sys

log, exp_path = sys.argv[1], sys.argv[2]


def res(good, name, detail=""):
    print(("ok" if good else "FAIL") + "\t" + name + "\t" + ("" if good else detail))


raw = open(log, "rb").read().decode("utf-8", "replace").split("\n")
if raw and raw[-1] == "":
    raw.pop()
recs, bad = [], []
for n, line in enumerate(raw, 1):
    try:
        recs.append(json.loads(line))
    except ValueError as e:
        bad.append("line %d: %s" % (n, e))
res(raw and not bad, "h audit: all %d lines are valid JSON" % len(raw), "; ".join(bad[:3]))
seqs = [r.get("seq") for r in recs]
res(seqs == list(range(1, len(recs) + 1)), "h audit: seq contiguous from 1", str(seqs))
types = [r.get("type") for r in recs]
res(types[:1] == ["start"], "h audit: first record is start", str(types[:1]))
res(types[-1:] == ["stop"] and types.count("stop") == 1, "h audit: last record is stop", str(types[-3:]))
dec = [r for r in recs if r.get("type") in ("mail", "rcpt", "message", "abort")]
res(dec and all(r.get("mta") == "sendmail" for r in dec),
    'h audit: every decision record has "mta":"sendmail"',
    str([r.get("mta") for r in dec]))


def bare(a):
    return (a or "").strip("<>")


def hexfp(s):
    # the record's fingerprint is the digest's hex; openssl (and Sendmail's
    # {cert_fp}) write it upper case with colons
    return s if s in (None, "-") else s.replace(":", "").lower()


def failed(verdicts):
    out = set()
    for v in verdicts:
        for rule in (v or {}).get("rules", []):
            for f in rule.get("failures", []):
                if f.get("status") == "fail":
                    out.add(f.get("requirement"))
    return ",".join(sorted(out)) or "-"


refusals = 0
for line in open(exp_path, encoding="utf-8"):
    e = line.rstrip("\n").split("\t")
    kind, key, want, verify, fp, cert, fails = e[:7]
    subject = e[7] if len(e) > 7 else None
    if kind == "mail":
        m = [r for r in recs if r.get("type") == "mail" and bare(r.get("sender")) == key]
    elif kind == "rcpt":
        m = [r for r in recs if r.get("type") == "rcpt"
             and any(bare(x.get("addr")) == key for x in r.get("recipients", []))]
    else:
        m = [r for r in recs if r.get("type") == "message" and r.get("queue_id") == key]
    name = "h audit: %s record for %s" % (kind, key)
    if len(m) != 1:
        res(False, name, "%d matching records" % len(m))
        continue
    r = m[0]
    tls = r.get("tls") or {}
    got = {
        "mta": r.get("mta"),
        "verify": tls.get("verify") or "-",
        "fingerprint": hexfp(tls.get("fingerprint") or "-"),
        "cert": tls.get("cert") or "-",
    }
    want_d = {"mta": "sendmail", "verify": verify, "fingerprint": hexfp(fp), "cert": cert}
    if kind == "message":
        got["action"] = r.get("action")
        want_d["action"] = want
        got["failed"] = failed([x.get("verdict") for x in r.get("recipients", [])])
    else:
        refusals += 1
        got["reply"] = r.get("reply")
        want_d["reply"] = want
        if kind == "mail":
            got["failed"] = failed([r.get("sender_verdict")])
        else:
            got["failed"] = failed([x.get("verdict") for x in r.get("recipients", [])])
            got["rcpt reply"] = r["recipients"][0].get("reply")
            want_d["rcpt reply"] = want
    want_d["failed"] = fails
    if subject is not None:
        got["subject"] = tls.get("subject")
        want_d["subject"] = subject
    diff = ["%s: got %r, want %r" % (k, got[k], want_d[k]) for k in want_d if got[k] != want_d[k]]
    res(not diff, name, "; ".join(diff))
res(len([r for r in recs if r.get("type") in ("mail", "rcpt")]) == refusals,
    "h audit: one mail/rcpt record per refusal, no others (%d)" % refusals,
    str([(r.get("type"), r.get("sender")) for r in recs if r.get("type") in ("mail", "rcpt")]))
PY
if timeout 30 python3 "$work/check-audit.py" "$audit" "$expect" >"$work/check-audit.out" 2>&1; then
	while IFS=$'\t' read -r st name detail; do
		if [ "$st" = ok ]; then ok "$name"; else not_ok "$name" "$detail"; fi
	done <"$work/check-audit.out"
else
	not_ok "h audit: check-audit.py ran" "$(tail -n 5 "$work/check-audit.out")"
fi

# The chain, by both verifiers, anchored at the checkpoint logged at stop.
anchor=$(sed -n 's/.*audit checkpoint seq=\([0-9]*\) hash=\([0-9a-f]*\) (closed).*/\1:\2/p' \
	"$work/milter.log" | tail -n 1)
c_out=$("${top_builddir:-.}/tlspolicy-audit" verify --anchor "$anchor" "$audit" 2>&1)
c_rc=$?
p_out=$(python3 "${top_srcdir:-.}/contrib/audit/tlspolicy-verify.py" --anchor "$anchor" "$audit" 2>&1)
p_rc=$?
if [ -n "$anchor" ] && [ "$c_rc" = 0 ] && [ "$p_rc" = 0 ] && [ "$c_out" = "$p_out" ]; then
	ok "h audit: chain verified by tlspolicy-audit and tlspolicy-verify.py ($c_out)"
else
	not_ok "h audit: chain verified by both verifiers" "anchor '$anchor'; C rc=$c_rc '$c_out'; Python rc=$p_rc '$p_out'"
fi

sm_stop
if kill -0 "$(cat "$smdir/sendmail.runpid")" 2>/dev/null; then
	not_ok "sendmail stopped"
else
	ok "sendmail stopped"
fi

finish

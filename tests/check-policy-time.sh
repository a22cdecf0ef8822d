#!/bin/sh
# check-policy-time.sh - what -n and -q say about time: the schedule and
# the exceptions -n prints, its expiry warnings (and --expiry-warning),
# -q --at on both sides of a schedule and of an exception's end, and the
# errors of a bad --at. Whole outputs are compared, not fragments.
set -u
bin=${top_builddir:-.}/tlspolicy-milter
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# same NAME WANT_RC WANT_FILE -- command...: stdout and stderr, whole.
same() {
	name=$1 want=$2 wantf=$3
	shift 4
	"$@" >"$tmp/got" 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ] && cmp -s "$wantf" "$tmp/got"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL %s: rc %s (want %s)\n' "$name" "$rc" "$want"
		diff -u "$wantf" "$tmp/got" | sed 's/^/    /'
	fi
}

p=$tmp/p.yaml
cat >"$p" <<'YAML'
version: 1
timezone: Europe/Berlin
exceptions:
  - name: fax-gw
    sender: .partner.example
    waive: [min_version]
    reason: old fax gateway
    owner: alice@example.com
    expires: 2027-01-31
    ticket: CHG-1234
  - name: lab
    client: [192.0.2.0/24, 2001:db8::/32]
    waive: all
    reason: lab
    owner: bob
    expires: 2027-01-10T12:00:00+01:00
recipients:
  bank.example:
    min_version: TLSv1.2
    mode: monitor
    enforce_from: 2027-01-15
  finance.example:
    min_version: TLSv1.2
    mode: {monitor: until 2027-01-14}
YAML
hash=$(sha256sum "$p" | cut -d' ' -f1)
fax="  fax-gw (line 4): sender .partner.example; waives min_version; owner alice@example.com; until 2027-02-01T00:00:00+01:00; ticket CHG-1234"
lab="  lab (line 11): client 192.0.2.0/24, client 2001:db8::/32; waives all; owner bob;"

cat >"$tmp/want" <<WANT
$p: OK: 2 rules, 0 profiles, sha256 $hash
schedule (timezone Europe/Berlin):
  recipient:bank.example: monitor, enforce from 2027-01-15T00:00:00+01:00
  recipient:finance.example: monitor, enforce from 2027-01-15T00:00:00+01:00
exceptions (timezone Europe/Berlin):
$fax
$lab until 2027-01-10T12:00:00+01:00
$p:11:5: warning: exception lab expires in 10 days (2027-01-10T12:00:00+01:00; owner bob)
WANT
same "-n before" 0 "$tmp/want" -- "$bin" -c "$p" -n --at 2027-01-01

cat >"$tmp/want" <<WANT
$p: OK: 2 rules, 0 profiles, sha256 $hash
schedule (timezone Europe/Berlin):
  recipient:bank.example: enforced since 2027-01-15T00:00:00+01:00
  recipient:finance.example: enforced since 2027-01-15T00:00:00+01:00
exceptions (timezone Europe/Berlin):
$fax
$lab EXPIRED 2027-01-10T12:00:00+01:00
$p:11:5: warning: exception lab expired at 2027-01-10T12:00:00+01:00 and is ignored: remove it or give it a new date
$p:4:5: warning: exception fax-gw expires in 12 days (2027-02-01T00:00:00+01:00; owner alice@example.com)
WANT
same "-n after, 30 days" 0 "$tmp/want" -- \
	"$bin" -c "$p" -n --at 2027-01-20T10:00Z --expiry-warning 30

q="mail_addr=a@mx.partner.example rcpt_addr=b@bank.example tls_version=TLSv1 cipher=AES128-SHA cipher_bits=128 mta=postfix"
session='session: mta=postfix tls=TLSv1 cipher=AES128-SHA bits=128 fs=no client_cert="not verified"'
cat >"$tmp/want" <<WANT
policy: $p (sha256 $hash)
$session
time: 2027-01-14T23:59:59+01:00 (timezone Europe/Berlin)
RCPT TO:<b@bank.example>
  rule recipient:bank.example: pass (monitor until 2027-01-15T00:00:00+01:00)
    waived min_version: required TLSv1.2 or higher, observed TLSv1 (exception fax-gw, until 2027-02-01T00:00:00+01:00)
  verdict: accept
WANT
# shellcheck disable=SC2086
same "-q, waived, monitored" 0 "$tmp/want" -- \
	"$bin" -c "$p" -q --at 2027-01-14T22:59:59Z $q

cat >"$tmp/want" <<WANT
policy: $p (sha256 $hash)
$session
time: 2027-02-01T00:00:00+01:00 (timezone Europe/Berlin)
RCPT TO:<b@bank.example>
  rule recipient:bank.example: FAIL -> reject (enforced since 2027-01-15T00:00:00+01:00)
    failed min_version: required TLSv1.2 or higher, observed TLSv1
  verdict: reject "550 5.7.1 Message refused: TLS policy for the recipient domain not met"
WANT
# shellcheck disable=SC2086
same "-q, expired, enforced" 0 "$tmp/want" -- "$bin" -c "$p" -q --at 2027-02-01 $q

printf '%s\n' "tlspolicy-milter: --at '2027-02-30': no such day" >"$tmp/want"
# shellcheck disable=SC2086
same "-q, bad --at" 64 "$tmp/want" -- "$bin" -c "$p" -q --at 2027-02-30 $q
printf '%s\n' "tlspolicy-milter: --expiry-warning: expected days from 0 to 3650, not 'soon'" >"$tmp/want"
same "-n, bad --expiry-warning" 64 "$tmp/want" -- \
	"$bin" -c "$p" -n --expiry-warning soon

# --test: a case's `time` (a date read in the policy's zone) decides on
# its side of the schedule; a case without one is decided at --at.
cat >"$tmp/cases.yaml" <<'YAML'
- name: before the schedule
  time: 2027-01-14
  mta: postfix
  tls_version: TLSv1
  expect:
    b@bank.example: {action: accept, would: reject}
- name: after the schedule
  time: 2027-01-15T00:00:00+01:00
  mta: postfix
  tls_version: TLSv1
  expect:
    b@bank.example: {action: reject, rule: "recipient:bank.example"}
- name: at --at
  mta: postfix
  tls_version: TLSv1
  expect:
    b@bank.example: {action: accept}
YAML
"$bin" -c "$p" -n --at 2027-01-14T23:59:59+01:00 --test "$tmp/cases.yaml" >"$tmp/got" 2>&1
if [ $? -eq 0 ] && grep -qF "3 cases, 3 verdicts: 3 as expected, 0 mismatches" "$tmp/got"; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	printf 'FAIL --test with time:\n'
	sed 's/^/    /' "$tmp/got"
fi
"$bin" -c "$p" -n --at 2027-01-15 --test "$tmp/cases.yaml" >"$tmp/got" 2>&1
if [ $? -eq 1 ] && grep -qF "$tmp/cases.yaml:17:5: case \"at --at\" (line 13): b@bank.example:" "$tmp/got"; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	printf 'FAIL --test, --at past the schedule:\n'
	sed 's/^/    /' "$tmp/got"
fi

echo "time cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

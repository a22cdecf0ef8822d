#!/bin/sh
# check-example-policies.sh - the example policies in contrib/policies/ load
# cleanly for both MTAs and give the verdicts their comments promise.
#
# Every contrib/policies/*.yaml must pass `tlspolicy-milter -n` for
# --mta postfix and --mta sendmail (exit 0, nothing on stderr but warnings);
# the warnings are printed, since they tell a reader what each MTA cannot
# show. Then a few `-q` queries per file assert the documented verdicts,
# and each policy's case file (NAME.cases.yaml beside it) must pass
# `-n --test`; a case file made wrong on purpose must fail with each
# mismatch named by file:line:col, and a malformed one with its own exit
# status.
set -u
bin=${top_builddir:-.}/tlspolicy-milter
src=${top_srcdir:-.}
dir=$src/contrib/policies
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf 'FAIL %s\n' "$*"
}

# ------------------------------------------------------------ load checks
nfiles=0
for f in "$dir"/*.yaml; do
	[ -f "$f" ] || continue
	case $f in *.cases.yaml) continue ;; esac
	nfiles=$((nfiles + 1))
	name=${f##*/}
	for mta in postfix sendmail; do
		out=$("$bin" -c "$f" -n --mta "$mta" 2>"$tmp/err")
		rc=$?
		# Anything on stderr that is not a warning is an error.
		errs=$(grep -v -e ': warning: ' "$tmp/err")
		if [ "$rc" -eq 0 ] && [ -z "$errs" ] &&
			printf '%s\n' "$out" | grep -qF -- "$f: OK: "; then
			ok
		else
			bad "$name loads for $mta: rc $rc, stdout: $out, stderr:"
			cat "$tmp/err"
		fi
		if grep -q -e ': warning: ' "$tmp/err"; then
			printf '%s (--mta %s) warnings:\n' "$name" "$mta"
			grep -e ': warning: ' "$tmp/err" | sed 's/^/    /'
		fi
	done
done
if [ "$nfiles" -ge 4 ]; then
	ok
else
	bad "expected at least 4 example policies in $dir, found $nfiles"
fi

# ---------------------------------------------------------------- queries
# query FILE NAME PATTERN... -- KEY=VALUE...: runs `-q` on FILE and checks
# that it exits 0 and that its output contains every PATTERN (fixed strings).
query() {
	file=$dir/$1 qname="$1: $2"
	shift 2
	: >"$tmp/pats"
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		printf '%s\n' "$1" >>"$tmp/pats"
		shift
	done
	[ $# -gt 0 ] && shift
	out=$("$bin" -c "$file" -q "$@" 2>&1)
	rc=$?
	missing=
	while IFS= read -r pat; do
		printf '%s\n' "$out" | grep -qF -- "$pat" || missing="$missing
    (wanted: $pat)"
	done <"$tmp/pats"
	if [ "$rc" -eq 0 ] && [ -z "$missing" ]; then
		ok
	else
		bad "$qname: rc $rc, output:"
		printf '%s\n%s\n' "$out" "$missing"
	fi
}

pci="pci-dss-4.0.yaml"
query $pci "TLSv1.1 to payments.example is refused; the monitor-mode domain only reports" \
	'RCPT TO:<ops@payments.example>' \
	'failed min_version: required TLSv1.2 or higher, observed TLSv1.1' \
	'verdict: reject "550 5.7.1 Message refused: TLS policy for the recipient domain not met"' \
	'verdict: accept (monitor: would reject)' -- \
	rcpt_addr=ops@payments.example rcpt_addr=ops@settlement.example \
	tls_version=TLSv1.1 cipher=ECDHE-RSA-AES128-SHA mta=postfix
query $pci "TLSv1.2 ECDHE with AES-GCM to payments.example is accepted" \
	'rule recipient:payments.example: pass' 'verdict: accept' -- \
	rcpt_addr=ops@payments.example tls_version=TLSv1.2 \
	cipher=ECDHE-RSA-AES128-GCM-SHA256 mta=postfix
query $pci "AES128-SHA (no forward secrecy, CBC) is refused, both failures named" \
	'failed forward_secrecy' 'failed ciphers.deny: required not CBC' \
	'verdict: reject' -- \
	rcpt_addr=ops@chargebacks.payments.example tls_version=TLSv1.2 \
	cipher=AES128-SHA mta=postfix
query $pci "the acquirer without a verified client certificate is refused at MAIL" \
	'MAIL FROM:<clearing@acquirer.example>' \
	'failed client_cert: required verified certificate, observed not verified' \
	"verdict: reject \"550 5.7.1 Mail from acquirer.example needs the acquirer's verified client certificate and TLSv1.2 or higher\"" -- \
	mail_addr=clearing@acquirer.example rcpt_addr=ops@payments.example \
	tls_version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 mta=postfix

hipaa="hipaa-nist-800-52r2.yaml"
query $hipaa "TLSv1.3 with AES-256-GCM is accepted" \
	'rule recipient:clinic.example: pass' 'verdict: accept' -- \
	rcpt_addr=records@clinic.example tls_version=TLSv1.3 \
	cipher=TLS_AES_256_GCM_SHA384 mta=postfix
query $hipaa "ChaCha20-Poly1305 (not FIPS-approved) is deferred, not rejected" \
	'failed ciphers.allow: required one of GCM, CCM, observed TLS_CHACHA20_POLY1305_SHA256' \
	'verdict: defer "450 4.7.1 clinic.example accepts mail only over TLSv1.2 or higher' -- \
	rcpt_addr=records@clinic.example tls_version=TLSv1.3 \
	cipher=TLS_CHACHA20_POLY1305_SHA256 mta=postfix
query $hipaa "TLSv1.1 is deferred for ePHI domains and only tagged elsewhere" \
	'failed min_version: required TLSv1.2 or higher, observed TLSv1.1' \
	'verdict: defer' 'rule recipient:default: FAIL -> tag' 'verdict: tag' -- \
	rcpt_addr=records@clinic.example rcpt_addr=someone@other.example \
	tls_version=TLSv1.1 cipher=ECDHE-RSA-AES128-SHA mta=postfix
query $hipaa "the laboratory's MTA is exempt on its rule only" \
	'rule recipient:results.clinic.example: exempt' \
	'rule recipient:clinic.example: FAIL -> defer' -- \
	rcpt_addr=lab@results.clinic.example rcpt_addr=records@clinic.example \
	client_addr=192.0.2.25 mta=postfix

bsi="bsi-tr-03108.yaml"
query $bsi "a SHA-1 MAC suite is refused, reported in monitor mode, tagged elsewhere" \
	'failed ciphers.deny: required not SHA1, observed ECDHE-RSA-AES128-SHA' \
	'verdict: reject "550 5.7.1' 'verdict: accept (monitor: would reject)' \
	'verdict: tag' -- \
	rcpt_addr=post@amt.example rcpt_addr=info@buergerservice.example \
	rcpt_addr=someone@other.example tls_version=TLSv1.2 \
	cipher=ECDHE-RSA-AES128-SHA mta=postfix
query $bsi "TLSv1.3 with AES-128-GCM is accepted" \
	'rule recipient:amt.example: pass' 'verdict: accept' -- \
	rcpt_addr=post@amt.example tls_version=TLSv1.3 \
	cipher=TLS_AES_128_GCM_SHA256 mta=sendmail
query $bsi "plaintext to a subdomain gets RFC 3207's 530" \
	'rule recipient:.amt.example: FAIL -> reject' \
	'verdict: reject "530 5.7.0 Must issue a STARTTLS command first"' -- \
	rcpt_addr=post@stadt.amt.example mta=postfix

bank="partner-bank-mtls.yaml"
query $bank "Postfix: the bank's trusted certificate with a pinned CN is accepted" \
	'rule sender:bank.example: pass' 'verdict: accept' -- \
	mail_addr=payments@bank.example rcpt_addr=treasury@corp.example \
	tls_version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 \
	cert_subject=mx1.bank.example 'cert_issuer=Example Bank Issuing CA 2' \
	mta=postfix
query $bank "Postfix: no (trusted) client certificate is refused at MAIL" \
	'MAIL FROM:<payments@bank.example>' \
	'failed client_cert: required verified certificate, observed not verified' \
	"verdict: reject \"550 5.7.1 Mail from bank.example requires the bank's verified client certificate" -- \
	mail_addr=payments@bank.example rcpt_addr=treasury@corp.example \
	tls_version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 mta=postfix
query $bank "Sendmail: the full-DN and fingerprint pins pass when shown" \
	'rule sender:custody.bank-group.example: pass' 'verdict: accept' -- \
	mail_addr=x@custody.bank-group.example rcpt_addr=treasury@corp.example \
	tls_version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 mta=sendmail \
	verify=OK \
	'cert_subject=/C=DE/O=Example+20Bank+20AG/OU=Mail/CN=mx1.bank.example' \
	'cert_issuer=/C=DE/O=Example+20Bank+20AG/CN=Example+20Bank+20Issuing+20CA+202' \
	cert_fp=3F:A1:5C:0E:92:7B:D4:18:6A:C3:E5:07:B9:24:F0:5D:81:6E:A2:C7:39:D0:4B:F8:12:AE:65:93:0C:7D:E4:B1
query $bank "Postfix: the same pins are unknown there, and unknown fails" \
	'unknown subject: required one of /C=DE/O=Example Bank AG/OU=Mail/CN=mx1.bank.example' \
	'unknown fingerprints' 'verdict: reject' -- \
	mail_addr=x@custody.bank-group.example rcpt_addr=treasury@corp.example \
	tls_version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 mta=postfix \
	cert_subject=mx1.bank.example 'cert_issuer=Example Bank Issuing CA 2'

# ------------------------------------------------------------ case files
# Every example policy ships its cases; -n --test runs them through the
# query mode's code and exits 0 when every verdict is as expected.
for f in "$dir"/*.yaml; do
	case $f in *.cases.yaml) continue ;; esac
	cases=${f%.yaml}.cases.yaml
	if [ ! -f "$cases" ]; then
		bad "${f##*/} has no case file ${cases##*/}"
		continue
	fi
	out=$("$bin" -c "$f" -n --test "$cases" 2>"$tmp/err")
	rc=$?
	if [ "$rc" -eq 0 ] &&
		printf '%s\n' "$out" | grep -qE -- "^$cases: [0-9]+ cases?, [0-9]+ verdicts?: [0-9]+ as expected, 0 mismatches$"; then
		ok
		printf '%s\n' "$out" | tail -n 1
	else
		bad "${cases##*/}: rc $rc, output:"
		printf '%s\n' "$out"
		grep -v ': warning: ' "$tmp/err"
	fi
done

# test_is NAME WANT_RC WANT_FILE -- ARGS...: runs tlspolicy-milter ARGS
# and compares its exit status and its whole output (stdout, then the
# stderr lines that are not warnings) with WANT_FILE.
test_is() {
	tname=$1 want_rc=$2 want=$3
	shift 4
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	grep -v ': warning: ' "$tmp/err" >>"$tmp/out"
	if [ "$rc" -eq "$want_rc" ] && diff -u "$want" "$tmp/out" >"$tmp/diff"; then
		ok
	else
		bad "--test $tname: rc $rc (wanted $want_rc)"
		cat "$tmp/diff"
	fi
}

bankp=$dir/partner-bank-mtls.yaml
okline="$bankp: OK: 4 rules, 3 profiles, sha256 $("$bin" -c "$bankp" -n 2>/dev/null | sed -n 's/.*sha256 //p')"

# The bank's cases with two expectations turned wrong: exit 1, each
# mismatch with the case file's line:col, expected and got, and the
# summary. (A copy: the path in the messages is the copy's.)
sed -e '/^- name: Postfix, the bank without/,/^$/s/action: reject/action: accept/' \
	-e 's/ops@corp.example: tag/ops@corp.example: {action: tag, would: reject}/' \
	"$dir/partner-bank-mtls.cases.yaml" >"$tmp/wrong.yaml"
cat >"$tmp/want" <<EOF
$okline
$tmp/wrong.yaml:28:5: case "Postfix, the bank without a (trusted) client certificate" (line 22): treasury@corp.example:
  expected action=accept rule=sender:bank.example
  got      action=reject rule=sender:bank.example would=reject
$tmp/wrong.yaml:77:5: case "anyone else below TLS 1.2 is tagged, not refused" (line 70): ops@corp.example:
  expected action=tag would=reject
  got      action=tag rule=recipient:default would=tag
$tmp/wrong.yaml: 8 cases, 9 verdicts: 7 as expected, 2 mismatches
EOF
test_is "mismatches" 1 "$tmp/want" -- -c "$bankp" -n --test "$tmp/wrong.yaml"

# A malformed case file: EX_DATAERR (65), every error with its place,
# nothing run.
cat >"$tmp/malformed.yaml" <<'EOF'
- name: a fact misspelt, a bad time, an unknown action
  mail_addr: payments@bank.example
  tls_versoin: TLSv1.2
  time: 2027-02-30
  expect:
    treasury@corp.example: {action: rejct}
- mta: exim
  expect: {treasury@corp.example: accept}
EOF
cat >"$tmp/want" <<EOF
$okline
$tmp/malformed.yaml:6:37: 'action': unknown action 'rejct'; did you mean 'reject'? (accept, tag, quarantine, defer, reject)
$tmp/malformed.yaml: cases not read
EOF
test_is "malformed expectation" 65 "$tmp/want" -- -c "$bankp" -n --test "$tmp/malformed.yaml"
sed 's/rejct/reject/' "$tmp/malformed.yaml" >"$tmp/malformed2.yaml"
cat >"$tmp/want" <<EOF
$okline
$tmp/malformed2.yaml:3:3: unknown key 'tls_versoin'; did you mean 'tls_version'?
$tmp/malformed2.yaml:4:9: time '2027-02-30': no such day (a date, read in the policy's timezone, or a date-time with its offset: 2027-01-15T08:00:00Z)
$tmp/malformed2.yaml:7:8: mta=exim: expected postfix or sendmail
EOF
test_is "malformed facts" 65 "$tmp/want" -- -c "$bankp" -n --test "$tmp/malformed2.yaml"

# A policy that does not load: EX_CONFIG (78), the cases not run.
printf 'version: 1\nrecipients: {a.example: {tsl: required}}\n' >"$tmp/badpolicy.yaml"
cat >"$tmp/want" <<EOF
$tmp/badpolicy.yaml:2:26: recipient:a.example: unknown key 'tsl'; did you mean 'tls'?
$tmp/badpolicy.yaml: policy not loaded
EOF
test_is "policy not loaded" 78 "$tmp/want" -- -c "$tmp/badpolicy.yaml" -n --test "$dir/partner-bank-mtls.cases.yaml"

echo "example-policies: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# check-policy-cli.sh - the policy checker (-n) and query mode (-q) as a
# policy editor uses them: exit codes, messages and verdicts.
set -u
bin=${top_builddir:-.}/tlspolicy-milter
src=${top_srcdir:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# expect NAME WANT_RC PATTERN -- command...: runs it, checks rc and output.
expect() {
	name=$1 want=$2 pattern=$3
	shift 4
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && printf '%s\n' "$out" | grep -qF -- "$pattern"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL %s: rc %s (want %s), output:\n%s\n(wanted: %s)\n' \
			"$name" "$rc" "$want" "$out" "$pattern"
	fi
}

sample=$src/contrib/tlspolicy.yaml.sample
expect "sample checks" 0 "OK: 10 rules, 3 profiles, sha256" -- \
	"$bin" -c "$sample" -n
expect "-t is -n" 0 "OK: 10 rules, 3 profiles, sha256" -- \
	"$bin" -c "$sample" -t
expect "sample has no warnings for postfix" 0 "" -- \
	sh -c "'$bin' -c '$sample' -n --mta postfix 2>&1 >/dev/null | grep -c . | grep -qx 0"

printf 'version: 1\nrecipients:\n  a.example:\n    min_verison: TLSv1.2\n' >"$tmp/bad.yaml"
expect "bad policy exits EX_CONFIG" 78 \
	"$tmp/bad.yaml:4:5: recipient:a.example: unknown key 'min_verison'; did you mean 'min_version'?" -- \
	"$bin" -c "$tmp/bad.yaml" -n
# compliance: tags (the html report's control mapping): a word or a list
printf 'version: 1\nprofiles:\n  p:\n    tls: required\n    compliance: [pci-dss-4.0.1, gdpr]\nrecipients:\n  a.example:\n    profile: p\n    compliance: hipaa\n' >"$tmp/tags.yaml"
expect "compliance tags load" 0 "OK: 1 rule, 1 profile" -- "$bin" -c "$tmp/tags.yaml" -n
printf 'version: 1\nrecipients:\n  a.example:\n    compliance: [gdpr, hipa]\n' >"$tmp/tag1.yaml"
expect "an unknown framework, with a suggestion" 78 \
	"$tmp/tag1.yaml:4:24: recipient:a.example: 'compliance' expects pci-dss-4.0.1, hipaa, gdpr or bsi-tr-03108, found 'hipa'; did you mean 'hipaa'?" -- \
	"$bin" -c "$tmp/tag1.yaml" -n
printf 'version: 1\nrecipients:\n  a.example:\n    compliance: {pci: yes}\n' >"$tmp/tag2.yaml"
expect "compliance: a mapping" 78 \
	"$tmp/tag2.yaml:4:17: recipient:a.example: 'compliance' expects a framework or a list of them, found a mapping" -- \
	"$bin" -c "$tmp/tag2.yaml" -n
printf 'version: 1\nrecipients:\n  a.example:\n    compliance: []\n' >"$tmp/tag3.yaml"
expect "compliance: an empty list" 78 "'compliance' expects a framework or a list of them" -- \
	"$bin" -c "$tmp/tag3.yaml" -n
printf 'version: 1\nrecipients:\n  # caf\351\n  a.example: {}\n' >"$tmp/latin1.yaml"
expect "invalid UTF-8 is placed at its byte" 78 \
	"$tmp/latin1.yaml:3:8: invalid UTF-8 (byte 0xe9 at byte offset 30); a policy file is UTF-8 text" -- \
	"$bin" -c "$tmp/latin1.yaml" -n
expect "missing file" 78 "$tmp/none.yaml: cannot open: No such file or directory" -- \
	"$bin" -c "$tmp/none.yaml" -n
expect "directory" 78 "is a directory, not a file" -- "$bin" -c "$tmp" -n
# A FIFO with no writer is refused at once, not waited on (timeout's 124
# would fail these), in check mode, at start and through a symlink.
mkfifo "$tmp/fifo.yaml"
ln -s fifo.yaml "$tmp/link.yaml"
expect "a FIFO is refused, not read" 78 \
	"$tmp/fifo.yaml: is a FIFO (named pipe), not a regular file" -- \
	timeout 10 "$bin" -c "$tmp/fifo.yaml" -n
expect "a symlink to a FIFO too" 78 \
	"$tmp/link.yaml: is a FIFO (named pipe), not a regular file" -- \
	timeout 10 "$bin" -c "$tmp/link.yaml" -n
expect "the daemon does not start on a FIFO" 78 \
	"$tmp/fifo.yaml: is a FIFO (named pipe), not a regular file" -- \
	timeout 10 "$bin" -f --run-as-root -c "$tmp/fifo.yaml" \
	-p "unix:$tmp/fifo.sock"
expect "and opened no socket" 0 "" -- test ! -e "$tmp/fifo.sock"

# With an audit log, -n says what becomes of answered decisions the log
# cannot take at stop: kept in audit.spill, or a warning why they would
# be lost.
mkdir -p "$tmp/log" "$tmp/spill"
printf 'version: 1\naudit: {file: %s/log/a.log}\nrecipients: {a.example: {}}\n' "$tmp" >"$tmp/nospill.yaml"
expect "no spill is a warning" 0 \
	"$tmp/nospill.yaml: warning: audit.spill is not set: decisions already answered" -- \
	"$bin" -c "$tmp/nospill.yaml" -n
printf 'version: 1\naudit: {file: %s/log/a.log, spill: %s/none/a.spill}\nrecipients: {a.example: {}}\n' "$tmp" "$tmp" >"$tmp/nodir.yaml"
expect "a spill without its directory is a warning" 0 \
	"warning: audit.spill: $tmp/none: the spill's directory: No such file or directory" -- \
	"$bin" -c "$tmp/nodir.yaml" -n
printf 'version: 1\naudit: {file: %s/log/a.log, spill: %s/spill/a.spill}\nrecipients: {a.example: {}}\n' "$tmp" "$tmp" >"$tmp/samefs.yaml"
expect "a spill on the log's file system is a warning" 0 \
	"warning: audit.spill $tmp/spill/a.spill is on the file system of $tmp/log/a.log" -- \
	"$bin" -c "$tmp/samefs.yaml" -n

# Serving as root without a user to drop to is refused (EX_USAGE) before
# anything is opened; checking and querying are not serving.
if [ "$(id -u)" -eq 0 ]; then
	expect "root without -u is refused" 64 \
		"refusing to serve as root: give -u USER (or milter.user)" -- \
		"$bin" -f -c "$sample" -p "unix:$tmp/root.sock"
	expect "and nothing was opened" 0 "" -- test ! -e "$tmp/root.sock"
	expect "root may check a policy" 0 "OK: 10 rules" -- "$bin" -c "$sample" -n
fi
expect "bad --mta" 64 "--mta: expected postfix or sendmail" -- \
	"$bin" -c "$sample" -n --mta exim

expect "plaintext to a subdomain is refused with 530" 0 \
	'verdict: reject "530 5.7.0 Must issue a STARTTLS command first"' -- \
	"$bin" -c "$sample" -q rcpt_addr=a@mx.example.com mta=postfix
expect "a custom reply covers plaintext too" 0 \
	'verdict: reject "550 5.7.1 Mail to example.com requires TLSv1.2 or better"' -- \
	"$bin" -c "$sample" -q rcpt_addr=a@example.com mta=postfix
expect "TLSv1.2 + FS to example.com passes" 0 "verdict: accept" -- \
	"$bin" -c "$sample" -q rcpt_addr=a@example.com mta=postfix \
	tls_version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 cipher_bits=256
expect "custom reply with placeholders" 0 \
	'"550 5.7.1 Mail to example.com requires TLSv1.2 or better"' -- \
	"$bin" -c "$sample" -q rcpt_addr=a@example.com mta=postfix \
	tls_version=TLSv1.1 cipher=ECDHE-RSA-AES256-SHA cipher_bits=256
expect "health.example defers below TLSv1.3" 0 "verdict: defer" -- \
	"$bin" -c "$sample" -q rcpt_addr=a@health.example mta=postfix \
	tls_version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384
expect "monitor mode only reports" 0 "verdict: accept (monitor: would reject)" -- \
	"$bin" -c "$sample" -q rcpt_addr=a@newsletter.example mta=postfix
expect "every failure is listed" 0 "failed forward_secrecy" -- \
	"$bin" -c "$sample" -q rcpt_addr=a@example.com mta=postfix \
	tls_version=TLSv1.1 cipher=AES128-SHA
expect "hostile recipient is escaped" 0 'RCPT TO:<a\x0d\x0aX-Evil: 1@example.com>' -- \
	"$bin" -c "$sample" -q "rcpt_addr=$(printf 'a\r\nX-Evil: 1@example.com')" mta=postfix
expect "unknown query key" 64 "unknown key 'tls_verison'; did you mean 'tls_version'?" -- \
	"$bin" -c "$sample" -q rcpt_addr=a@b.example tls_verison=TLSv1.2
expect "query needs a recipient" 64 "give at least one rcpt_addr" -- \
	"$bin" -c "$sample" -q mail_addr=a@b.example
expect "version" 0 "tlspolicy-milter " -- "$bin" -V

# -n with include: the included files in load order, each with its hash,
# and the policy's hash over them; -q decides with their rules.
mkdir -p "$tmp/split/partners"
printf 'version: 1\ninclude: partners/*.yaml\nrecipients: {corp.example: {}}\n' >"$tmp/split/main.yaml"
printf 'senders: {b.example: {tls: required}}\n' >"$tmp/split/partners/b.yaml"
printf 'senders: {a.example: {tls: required}}\n' >"$tmp/split/partners/a.yaml"
want_hash=$(cd "$tmp/split" && sha256sum main.yaml partners/a.yaml partners/b.yaml | cut -c1-64 | sha256sum | cut -c1-64)
a_hash=$(sha256sum "$tmp/split/partners/a.yaml" | cut -c1-64)
expect "-n: the hash covers every file" 0 "OK: 3 rules, 0 profiles, sha256 $want_hash" -- \
	"$bin" -c "$tmp/split/main.yaml" -n
expect "-n: included files listed in load order" 0 \
	"$tmp/split/main.yaml: includes $tmp/split/partners/a.yaml, sha256 $a_hash" -- \
	sh -c "'$bin' -c '$tmp/split/main.yaml' -n | sed -n 2p"
expect "-q: an included rule decides" 0 "rule sender:a.example: FAIL -> reject" -- \
	"$bin" -c "$tmp/split/main.yaml" -q mail_addr=x@a.example rcpt_addr=y@corp.example mta=postfix

# --test decides as the daemon does: a sender rule that refuses at MAIL
# gives its verdict to every recipient, however strict theirs is
printf 'version: 1\nsenders:\n  bank.example: {min_version: TLSv1.3, action: defer}\nrecipients:\n  corp.example: {min_version: TLSv1.3, action: reject}\n' >"$tmp/stage.yaml"
cat >"$tmp/stage.cases.yaml" <<'YAML'
- name: refused at MAIL
  mail_addr: a@bank.example
  mta: postfix
  tls_version: TLSv1.2
  expect:
    x@corp.example: {action: defer, rule: "sender:bank.example"}
YAML
expect "--test: the MAIL stage decides first" 0 "1 case, 1 verdict: 1 as expected, 0 mismatches" -- \
	"$bin" -c "$tmp/stage.yaml" -n --test "$tmp/stage.cases.yaml"
expect "--at alone does not start a daemon" 64 "--at with -n or -q" -- "$bin" --at 2027-01-01
expect "--test needs -n" 64 "--test and --expiry-warning go with -n" -- \
	"$bin" -c "$tmp/stage.yaml" -q --test "$tmp/stage.cases.yaml" rcpt_addr=x@corp.example

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# check-audit-tool.sh - tlspolicy-audit as a compliance officer uses it:
# verify against the shared test vectors and against logs tampered with
# here, report and show with their real output, redact, gzip input, and
# a log written by the daemon's own writer.
#
# Logs are made by tests/audit/mklog (records chained by audit/chain.c)
# from bodies written below, so every expected FILE:LINE is known.
# Exit 0 when all passed, 1 on any failure.
set -u
bin=${top_builddir:-.}/tlspolicy-audit
mklog=${top_builddir:-.}/tests/audit/mklog
src=$(cd "${top_srcdir:-.}" && pwd) || exit 1
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
mklog=$(cd "$(dirname "$mklog")" && pwd)/$(basename "$mklog")
vec=$src/tests/audit/vectors
tmp=$(mktemp -d /tmp/tlsp-audittool.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

. "$(dirname "$0")/check-lib.sh"

# ===================================================== the test vectors
trim() { printf '%s' "$1" | sed 's/^ *//; s/ *$//'; }
rows=0
while IFS='|' read -r _ files args code where _; do
	files=$(trim "$files") args=$(trim "$args") code=$(trim "$code")
	where=$(trim "$where")
	case $code in [0-9]) ;; *) continue ;; esac
	rows=$((rows + 1))
	[ "$args" = - ] && args=
	# shellcheck disable=SC2086
	(cd "$vec" && "$bin" verify $args $files) >"$tmp/out" 2>&1
	rc=$?
	name="vector: verify $args $files"
	if [ "$rc" != "$code" ]; then
		bad "$name: exit $rc, want $code"
	elif [ "$where" = ok ]; then
		grep -q '^OK: ' "$tmp/out" && ok || bad "$name: no OK line"
	elif [ "$where" != - ]; then
		got=$(grep -v ': warning: \|: note: ' "$tmp/out" | head -n 1)
		case $got in
		"$where: "*) ok ;;
		*) bad "$name: reported '$got', want $where" ;;
		esac
	else
		ok
	fi
done <"$vec/README"
[ "$rows" -ge 30 ] && ok || bad "vectors README: only $rows rows read"

# ============================================================ the bodies
# One day of decisions with known numbers, and hostile strings. Written
# as the daemon writes them: salt after type, redactable values anywhere.
body() { printf '%s\n' "$*" >>"$tmp/bodies"; }
: >"$tmp/bodies"
T1='"tls":{"version":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","bits":256,"forward_secrecy":true,"cert":"verified","subject":"CN=mx.sender.example","issuer":"CN=CA","verify":"OK","fingerprint":null,"observed":["{tls_version}"]}'
T2='"tls":{"version":"TLSv1.2","cipher":"AES128-SHA","bits":128,"forward_secrecy":false,"cert":"none","subject":null,"issuer":null,"verify":null,"fingerprint":null,"observed":["{tls_version}"]}'
T0='"tls":{"version":null,"cipher":null,"bits":null,"forward_secrecy":null,"cert":"none","subject":null,"issuer":null,"verify":null,"fingerprint":null,"observed":[]}'
PASS='{"action":"accept","would_action":"accept","decided_by":null,"flags":[],"rules":[{"rule":"strict","exempt":false,"status":"pass","action":"accept","mode":"enforce","failures":[]}]}'
FAILV='{"action":"reject","would_action":"reject","decided_by":"strict","flags":[],"rules":[{"rule":"strict","exempt":false,"status":"fail","action":"reject","mode":"enforce","failures":[{"requirement":"min_version","status":"fail","required":"TLSv1.3","observed":"TLSv1.2"}]}]}'
MON='{"action":"accept","would_action":"defer","decided_by":null,"flags":[],"rules":[{"rule":"watch","exempt":false,"status":"fail","action":"defer","mode":"monitor","failures":[{"requirement":"tls","status":"fail","required":"yes","observed":"none"}]}]}'
ENV='"txid":"c0a8.1","client":{"addr":"192.0.2.7","name":"mx.sender.example"},"helo":"mx.sender.example","sender":"<alice@sender.example>","mta":"postfix"'
body '{"time":"2026-11-01T08:00:00.000Z","host":"mx.test","type":"start","detail":"tlspolicy 0.1.0","policy":"ab12"}'
# 2: a message to two recipients of example.com, TLSv1.3, passes
body '{"time":"2026-11-01T08:00:01.000Z","host":"mx.test","type":"message","salt":"00112233445566778899aabbccddeeff","queue_id":"Q1",'"$ENV,$T1"',"recipients":[{"addr":"<bob@example.com>","verdict":'"$PASS"',"reply":null},{"addr":"<carol@Example.COM>","verdict":'"$PASS"',"reply":null}],"action":"accept","mode":"enforce","would_action":"accept","policy":"ab12"}'
# 3: a recipient of example.com refused at RCPT over TLSv1.2
body '{"time":"2026-11-01T08:00:02.000Z","host":"mx.test","type":"rcpt","salt":"0123456789abcdef0123456789abcdef","queue_id":"Q2","txid":"c0a8.2","client":{"addr":"198.51.100.9","name":"weak.example"},"helo":"weak.example","sender":"<x@weak.example>","mta":"postfix",'"$T2"',"recipients":[{"addr":"<dave@example.com>","verdict":'"$FAILV"',"reply":"550 5.7.1 TLSv1.3 required"}],"action":"reject","mode":"enforce","would_action":"reject","reply":"550 5.7.1 TLSv1.3 required","policy":"ab12"}'
# 4: plaintext to other.example, a monitor rule would defer
body '{"time":"2026-11-01T08:00:03.000Z","host":"mx.test","type":"message","salt":"fedcba9876543210fedcba9876543210","queue_id":"Q3","txid":"c0a8.3","client":{"addr":"203.0.113.5","name":"plain.example"},"helo":"plain\u001b[31mRED\u0007","sender":"<evil\u001b]0;pwned\u0007@plain.example>","mta":"postfix",'"$T0"',"recipients":[{"addr":"<eve@other.example>","verdict":'"$MON"',"reply":null}],"action":"accept","mode":"monitor","would_action":"defer","policy":"ab12"}'
# 5: a torn line (the daemon was killed), then its restart: the start
# record links to the record before the torn line
printf '%s\n' '#raw {"seq":5,"time":"2026-11-01T08:00:04.000Z","host":"mx.te' >>"$tmp/bodies"
body '{"time":"2026-11-01T08:00:05.000Z","host":"mx.test","type":"start","detail":"tlspolicy 0.1.0","policy":"ab12"}'
# 7: the next day (clock stepped back a little first: a warning)
body '{"time":"2026-11-01T07:59:59.000Z","host":"mx.test","type":"abort","salt":"00000000000000000000000000000001",'"$ENV,$T1"',"action":"accept","mode":"enforce","would_action":"accept"}'
body '{"time":"2026-11-02T09:00:00.000Z","host":"mx.test","type":"message","salt":"00000000000000000000000000000002","queue_id":"Q4",'"$ENV,$T1"',"recipients":[{"addr":"<bob@example.com>","verdict":'"$PASS"',"reply":null}],"action":"accept","mode":"enforce","would_action":"accept"}'
body '{"time":"2026-11-02T10:00:00.000Z","host":"mx.test","type":"stop","detail":"SIGTERM"}'
"$mklog" <"$tmp/bodies" >"$tmp/log" 2>"$tmp/head" || bad "mklog failed"
last=$(cut -d' ' -f2 "$tmp/head")
[ "$(wc -l <"$tmp/log")" -eq 9 ] && ok || bad "mklog: want 9 lines"

# ================================================================ verify
expect "untouched log holds" 0 "OK: 8 records, seq 1..8, files 1, last hash $last" \
	verify "$tmp/log"
expect "torn line warned with its place" 0 "$tmp/log:5: warning: torn line skipped" \
	verify "$tmp/log"
expect "clock step warned" 0 "$tmp/log:7: warning: clock stepped back" \
	verify "$tmp/log"
run verify -q "$tmp/log"
[ "$rc" = 0 ] && [ ! -s "$tmp/out" ] && ok || bad "-q: not quiet"
expect "anchor of the last record" 0 "OK: 8 records" \
	verify --anchor "8:$last" "$tmp/log"
expect "anchor as syslog says it" 0 "OK: 8 records" \
	verify --anchor "audit checkpoint seq=8 hash=$last" "$tmp/log"

# tamper FILE LINE SED: a copy of the log changed by a sed script.
tamper() { sed "$2" "$tmp/log" >"$tmp/$1"; }
tamper byte.log '3s/dave@/dav3@/'
expect "a changed byte" 1 "$tmp/byte.log:3: record changed" verify "$tmp/byte.log"
tamper action.log '3s/"action":"reject","mode"/"action":"accept","mode"/'
expect "a changed action" 1 "$tmp/action.log:3: record changed" \
	verify "$tmp/action.log"
tamper deleted.log '3d'
expect "a deleted line" 1 \
	"$tmp/deleted.log:3: does not link to the previous record (deleted, inserted or reordered records?)" \
	verify "$tmp/deleted.log"
tamper swapped.log '2{h;d};3{G}'
expect "two lines swapped" 1 "$tmp/swapped.log:2: does not link" \
	verify "$tmp/swapped.log"
tamper copied.log '2{h};4{G}'
expect "a copied line inserted" 1 "$tmp/copied.log:5: does not link" \
	verify "$tmp/copied.log"
head -n 6 "$tmp/log" >"$tmp/cut.log"
expect "a cut tail found by its anchor" 1 \
	"$tmp/cut.log:6: anchor 8 not found: the log ends at seq 5" \
	verify --anchor "8:$last" "$tmp/cut.log"
expect "a cut tail holds without an anchor" 0 "OK: 5 records" \
	verify "$tmp/cut.log"
expect "a wrong anchor hash" 1 "$tmp/log:9: anchor 8: hash differs" \
	verify --anchor "8:$(printf '%064d' 0 | tr 0 a)" "$tmp/log"
{ sed -n '1,4p' "$tmp/bodies"; echo '#genesis'; sed -n '6,$p' "$tmp/bodies"; } |
	"$mklog" >"$tmp/genesis.log" 2>/dev/null
expect "a new chain in the middle" 1 "$tmp/genesis.log:5: new chain started" \
	verify "$tmp/genesis.log"
{ sed -n '1,4p' "$tmp/bodies"; echo '#seq 9'; sed -n '6,$p' "$tmp/bodies"; } |
	"$mklog" >"$tmp/gap.log" 2>/dev/null
expect "a sequence gap" 1 "$tmp/gap.log:5: sequence gap: seq 9 after 4" \
	verify "$tmp/gap.log"

# Rotated files, oldest first, one of them compressed.
sed -n '1,3p' "$tmp/log" >"$tmp/audit.log.2"
sed -n '4,7p' "$tmp/log" >"$tmp/audit.log.1"
sed -n '8,$p' "$tmp/log" >"$tmp/audit.log"
gzip -c "$tmp/audit.log.2" >"$tmp/audit.log.2.gz"
expect "rotated files oldest first" 0 "OK: 8 records, seq 1..8, files 3" \
	verify "$tmp/audit.log.2.gz" "$tmp/audit.log.1" "$tmp/audit.log"
expect "rotated files in the wrong order" 1 "$tmp/audit.log.2.gz:1: " \
	verify "$tmp/audit.log.1" "$tmp/audit.log.2.gz" "$tmp/audit.log"
expect "a missing middle file" 1 "$tmp/audit.log:1: does not link" \
	verify "$tmp/audit.log.2.gz" "$tmp/audit.log"
expect "the newest file alone: start unchecked" 0 \
	"$tmp/audit.log:1: note: the chain starts at seq 7" verify "$tmp/audit.log"
a6=$(sed -n '7s/.*"hash":"\([0-9a-f]*\)"}$/\1/p' "$tmp/log")
expect "the newest file with the anchor before it" 0 "OK: 2 records" \
	verify --anchor "6:$a6" "$tmp/audit.log"
lacks "an anchored start needs no note" "note:"
run verify - <"$tmp/log"
[ "$rc" = 0 ] && grep -q '^OK: 8 records' "$tmp/out" && ok || bad "stdin"
if gzip -c "$tmp/log" | "$bin" verify - >"$tmp/out" 2>&1 &&
	grep -q '^OK: 8 records' "$tmp/out"; then
	ok
else
	bad "gzip on stdin"
fi
# (Without its trailer: every line comes out, then gzip fails.)
head -c $(($(wc -c <"$tmp/audit.log.2.gz") - 4)) "$tmp/audit.log.2.gz" \
	>"$tmp/trunc.gz"
expect "a truncated .gz is an error" 2 "corrupt or truncated" verify "$tmp/trunc.gz"

# An HMAC key.
printf '0123456789abcdef0123456789abcdef' >"$tmp/key"
"$mklog" -k "$tmp/key" <"$tmp/bodies" >"$tmp/keyed.log" 2>/dev/null
expect "keyed log with its key" 0 "OK: 8 records" verify --key "$tmp/key" "$tmp/keyed.log"
expect "keyed log without its key" 1 "$tmp/keyed.log:1: record changed (or the log is keyed: give --key)" \
	verify "$tmp/keyed.log"
printf 'short' >"$tmp/short.key"
expect "a short key" 2 "a key must hold" verify --key "$tmp/short.key" "$tmp/keyed.log"

# Hostile input: nothing may crash, and forged records must not pass.
cp "$tmp/log" "$tmp/hostile.log"
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >>"$tmp/hostile.log"
printf '\n{"seq":3,\0\0\0\n' >>"$tmp/hostile.log"
expect "an overlong line in the middle is a break" 1 \
	"$tmp/hostile.log:10: not a record (longer than 16 MiB), and not where a crash" \
	verify "$tmp/hostile.log"
expect "NUL bytes in the last line: a torn line" 1 \
	"$tmp/hostile.log:11: warning: torn line skipped" \
	verify --ignore-breaks "$tmp/hostile.log"
deep=$(printf '%070d' 0 | tr 0 '[')$(printf '%070d' 0 | tr 0 ']')
printf '{"time":"2026-11-01T08:00:00.000Z","host":"h","type":"start","x":%s}\n' "$deep" |
	"$mklog" >"$tmp/deep.log" 2>/dev/null
expect "a forged record nested too deeply" 1 \
	"$tmp/deep.log:1: record is not valid JSON (nested too deeply" verify "$tmp/deep.log"
expect "report survives hostile lines" 1 \
	"evidence     NOT VERIFIED: 1 break, 1 line not counted (the first break at $tmp/deep.log:1)" \
	report "$tmp/deep.log"

# Usage and I/O errors: 2.
expect "no arguments" 2 "usage:"
expect "unknown command" 2 "unknown command" frobnicate
expect "verify without files" 2 "no FILE" verify
expect "a malformed anchor" 2 "expected SEQ:HASH" verify --anchor 5:xyz "$tmp/log"
expect "a missing file" 2 "cannot open" verify "$tmp/none.log"
expect "a directory" 2 "is a directory" verify "$tmp"
expect "-V" 0 "tlspolicy-audit " -V

# ================================================================ report
# csv_col FILE SECTION NAME COLUMN: one cell of the csv report.
csv_col() {
	awk -F, -v s="$2" -v n="$3" -v c="$4" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == s && $2 == n { print $(col[c]) }' "$1"
}
# check NAME WANT GOT
check() {
	if [ "$2" = "$3" ]; then ok; else bad "$1: got '$3', want '$2'"; fi
}
run report --format csv "$tmp/log"
cp "$tmp/stdout" "$tmp/csv"
check "csv: decisions" 5 "$(csv_col "$tmp/csv" total "" decisions)"
check "csv: messages" 3 "$(csv_col "$tmp/csv" total "" messages)"
check "csv: refused" 1 "$(csv_col "$tmp/csv" total "" refused)"
check "csv: example.com recipients" 4 "$(csv_col "$tmp/csv" domain example.com decisions)"
check "csv: example.com messages" 2 "$(csv_col "$tmp/csv" domain example.com messages)"
check "csv: example.com TLSv1.3" 3 "$(csv_col "$tmp/csv" domain example.com version_TLSv1.3)"
check "csv: example.com TLSv1.2" 1 "$(csv_col "$tmp/csv" domain example.com version_TLSv1.2)"
check "csv: example.com rejected" 1 "$(csv_col "$tmp/csv" domain example.com action_reject)"
check "csv: example.com min_version failures" 1 \
	"$(csv_col "$tmp/csv" domain example.com fail_min_version)"
check "csv: other.example no TLS" 1 "$(csv_col "$tmp/csv" domain other.example version_none)"
check "csv: other.example would defer" 1 "$(csv_col "$tmp/csv" domain other.example would_defer)"
check "csv: rule strict evaluations" 4 "$(csv_col "$tmp/csv" rule strict decisions)"
check "csv: rule strict failed" 1 "$(csv_col "$tmp/csv" rule strict status_fail)"
check "csv: rule watch monitor" 1 "$(csv_col "$tmp/csv" rule watch monitor)"
check "csv: client failed" 1 "$(csv_col "$tmp/csv" client 198.51.100.9 failed)"
check "csv: client name" weak.example "$(csv_col "$tmp/csv" client 198.51.100.9 client_name)"
check "csv: cert verified" 3 "$(csv_col "$tmp/csv" total "" cert_verified)"
check "csv: 128-bit ciphers" 1 "$(csv_col "$tmp/csv" total "" bits_128_255)"

expect "text report: records by type" 0 \
	"records      8 (message 3, rcpt 1, abort 1, start 2, stop 1)" \
	report "$tmp/log"
grep -q '^  example.com  *4  *2  *3  *1 ' "$tmp/out" && ok ||
	bad "text report: the example.com row"
grep -q 'strict  *4  *3  *1  *0  *0  *1  *0  min_version' "$tmp/out" && ok ||
	bad "text report: the rule row"
grep -q '198.51.100.9  *weak.example  *1  *1  *1' "$tmp/out" && ok ||
	bad "text report: the failing client"
expect "report: one day" 0 "decisions    1: 1 recipient" \
	report --since 2026-11-02 "$tmp/log"
expect "report: until a date includes the day" 0 "decisions    4: 4 recipients" \
	report --until 2026-11-01 "$tmp/log"
expect "report: RFC 3339 bounds" 0 "decisions    3: 3 recipients" \
	report --since 2026-11-01T08:00:01Z --until 2026-11-01T08:00:02.5Z "$tmp/log"
expect "report: --tz moves the day" 0 "decisions    1: 1 recipient" \
	report --tz Pacific/Honolulu --since 2026-11-01 "$tmp/log"
expect "report: a bad --tz" 2 "unknown time zone" report --tz Mars/Olympus "$tmp/log"
expect "report: a bad --since" 2 "--since" report --since yesterday "$tmp/log"
expect "report: --domain" 0 "decisions    1: 1 recipient" \
	report --domain other.example "$tmp/log"
expect "report: --rule" 0 "decisions    4: 4 recipients" report --rule strict "$tmp/log"
if command -v python3 >/dev/null 2>&1; then
	run report --format json "$tmp/log"
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["total"]["decisions"] == 5, r["total"]; assert [d["domain"] for d in r["domains"]] == ["example.com", "other.example"]; assert r["rules"][0]["status"]["fail"] == 1' "$tmp/stdout" &&
		ok || bad "json report"
	run report --format tlsrpt "$tmp/log"
	python3 - "$tmp/stdout" <<'EOF' && ok || bad "tlsrpt report"
import json, sys
days = [json.loads(l) for l in open(sys.argv[1])]
assert [d["date-range"]["start-datetime"] for d in days] == \
    ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"], days
d = days[0]
assert d["organization-name"] == "mx.test"
assert d["date-range"]["end-datetime"] == "2026-11-01T23:59:59Z"
p = {x["policy"]["policy-domain"]: x for x in d["policies"]}
s = p["example.com"]["summary"]
assert s == {"total-successful-session-count": 2,
             "total-failure-session-count": 1}, s
f = p["example.com"]["failure-details"]
assert f == [{"result-type": "validation-failure",
              "sending-mta-ip": "198.51.100.9",
              "receiving-mx-hostname": "mx.test",
              "failed-session-count": 1,
              "failure-reason-code": "min_version"}], f
assert p["other.example"]["failure-details"][0]["result-type"] == \
    "starttls-not-supported"
EOF
fi
run report --format tlsrpt --tz Europe/Berlin "$tmp/log"
grep -q '"start-datetime":"2026-10-31T23:00:00Z"' "$tmp/out" && ok ||
	bad "tlsrpt: --tz Europe/Berlin day boundary"

# ================================================================== show
expect "show by queue id" 0 "queue id     Q2" show --queue-id Q2 "$tmp/log"
lacks "show by queue id: nothing else" "queue id     Q1"
grep -q "^$tmp/log:3: seq 3 2026-11-01T08:00:02.000Z rcpt on mx.test\$" "$tmp/out" &&
	ok || bad "show: the header line"
grep -q 'min_version: fail (required TLSv1.3, observed TLSv1.2)' "$tmp/out" && ok ||
	bad "show: the failed requirement"
expect "show escapes terminal controls" 0 'plain\x1b[31mRED\x07' \
	show --queue-id Q3 "$tmp/log"
if grep -q "$(printf '\033')" "$tmp/out" || grep -q "$(printf '\007')" "$tmp/out"; then
	bad "show: a raw control character reached the terminal"
else
	ok
fi
expect "show --json prints the line as it is" 0 "" show --json --queue-id Q3 "$tmp/log"
sed -n 4p "$tmp/log" | cmp -s - "$tmp/stdout" && ok || bad "show --json: not the raw line"
run show --json --domain example.com "$tmp/log"
check "show --domain" 3 "$(wc -l <"$tmp/stdout")"
run show --json --recipient carol@example.com "$tmp/log"
check "show --recipient (brackets, case)" 1 "$(wc -l <"$tmp/stdout")"
run show --json --sender '<alice@sender.example>' "$tmp/log"
check "show --sender" 3 "$(wc -l <"$tmp/stdout")"
run show --json --action reject "$tmp/log"
check "show --action" 1 "$(wc -l <"$tmp/stdout")"
run show --json --txid c0a8 "$tmp/log"
check "show --txid: a connection's transactions" 5 "$(wc -l <"$tmp/stdout")"
run show --json --txid c0a8.2 "$tmp/log"
check "show --txid: one transaction" 1 "$(wc -l <"$tmp/stdout")"
run show --json --type message --type rcpt "$tmp/log"
check "show --type, twice" 4 "$(wc -l <"$tmp/stdout")"
run show --json --since 2026-11-02 "$tmp/log"
check "show --since" 2 "$(wc -l <"$tmp/stdout")"
run show --json --queue-id Q1 --queue-id Q2 --action reject "$tmp/log"
check "show: options of different kinds all match" 1 "$(wc -l <"$tmp/stdout")"
expect "show: nothing matched" 0 "no record matched" show --queue-id nope "$tmp/log"
expect "show: a warning for a torn line" 0 "$tmp/log:5: warning: torn line skipped" \
	show --queue-id Q1 "$tmp/log"

# ================================================================ redact
"$bin" redact --value alice@sender.example "$tmp/log" >"$tmp/red.log" 2>"$tmp/out"
check "redact: status" 0 $?
grep -q 'redacted 3 values in 3 records' "$tmp/out" && ok || bad "redact: count"
grep -q 'alice@sender' "$tmp/red.log" && bad "redact: the value is still there" || ok
expect "redacted log still holds" 0 "OK: 8 records, seq 1..8, files 1, last hash $last" \
	verify "$tmp/red.log"
expect "a redacted value shows as its digest" 0 "sender       [redacted sha256:" \
	show --queue-id Q1 "$tmp/red.log"
"$bin" redact --value mx.sender.example --key-name helo "$tmp/log" >"$tmp/red2.log" 2>/dev/null
check "redact --key-name helo" 3 "$(grep -c '"helo":{"sha256":"' "$tmp/red2.log")"
check "redact --key-name leaves name" 3 "$(grep -c '"name":"mx.sender.example"' "$tmp/red2.log")"
expect "redact --key-name: still holds" 0 "OK: 8 records" verify "$tmp/red2.log"
"$bin" redact --value alice@sender.example --key "$tmp/key" "$tmp/keyed.log" \
	>"$tmp/red3.log" 2>/dev/null
expect "redact a keyed log" 0 "OK: 8 records" verify --key "$tmp/key" "$tmp/red3.log"
"$bin" redact --value alice@sender.example "$tmp/red.log" >"$tmp/red4.log" 2>"$tmp/out"
grep -q 'redacted 0 values' "$tmp/out" && cmp -s "$tmp/red.log" "$tmp/red4.log" &&
	ok || bad "redact twice: the second changes nothing"
expect "redact: a bad key name" 2 "--key-name" redact --value x --key-name seq "$tmp/log"

# ======================================= nothing but evidence (exit 1)
# Not an audit log, an empty file, a line inserted by hand: every command
# says so and exits 1; --allow-empty and --ignore-breaks as documented.
printf 'hello\nworld\n' >"$tmp/g.log"
: >"$tmp/empty.log"
for cmd in verify report show; do
	expect "$cmd: garbage" 1 \
		"$tmp/g.log:1: not a record, and no record before it: not an audit log?" \
		$cmd "$tmp/g.log"
	expect "$cmd: an empty file" 1 \
		"$tmp/empty.log:0: no records: the file is empty (--allow-empty" \
		$cmd "$tmp/empty.log"
done
lacks "garbage: no OK" "OK:"
expect "redact: garbage" 1 "$tmp/g.log:1: not a record" \
	redact --value x "$tmp/g.log"
cmp -s "$tmp/stdout" "$tmp/g.log" && ok || bad "redact: garbage not copied as it was"
expect "redact: an empty file" 1 "$tmp/empty.log:0: no records" \
	redact --value x "$tmp/empty.log"
expect "verify --allow-empty" 0 "OK: 0 records, files 1 (empty, as --allow-empty accepts)" \
	verify --allow-empty "$tmp/empty.log"
expect "verify --allow-empty: a rotated empty file after the log" 0 \
	"OK: 8 records, seq 1..8, files 2" verify --allow-empty "$tmp/log" "$tmp/empty.log"
expect "verify: a rotated empty file after the log" 1 "$tmp/empty.log:0: no records" \
	verify "$tmp/log" "$tmp/empty.log"
expect "verify --allow-empty: garbage is still garbage" 1 "$tmp/g.log:1: not a record" \
	verify --allow-empty "$tmp/g.log"
expect "report --allow-empty" 0 "evidence     verified: no records (empty files)" \
	report --allow-empty "$tmp/empty.log"

# A decision line inserted by hand without prev and hash (line 4): not
# counted, not shown, reported with its place; exit 1.
sed '3{p;s/,"prev":"[0-9a-f]*","hash":"[0-9a-f]*"}$/}/;s/"Q2"/"Q9"/}' "$tmp/log" \
	>"$tmp/inserted.log"
expect "verify: an unchained line" 1 \
	"$tmp/inserted.log:4: not a record, and not where a crash leaves a torn line" \
	verify "$tmp/inserted.log"
expect "report: an unchained line is not counted" 1 "decisions    5: 5 recipients" \
	report "$tmp/inserted.log"
expect "report: says where" 1 \
	"the log does not verify: 1 break; 1 line not counted as evidence ($tmp/inserted.log:4)" \
	report "$tmp/inserted.log"
expect "report: the evidence line" 1 \
	"evidence     NOT VERIFIED: 1 break, 1 line not counted (the first break at $tmp/inserted.log:4)" \
	report "$tmp/inserted.log"
expect "report --ignore-breaks: exit 0, weakened" 0 \
	"--ignore-breaks: going on; the evidence is weakened" \
	report --ignore-breaks "$tmp/inserted.log"
expect "show: an unchained line is not shown" 1 "no record matched" \
	show --queue-id Q9 "$tmp/inserted.log"
lacks "show: the inserted line" "Q9"
expect "show --ignore-breaks: still not shown" 0 "no record matched" \
	show --ignore-breaks --queue-id Q9 "$tmp/inserted.log"
expect "show: the records around it" 1 "queue id     Q2" \
	show --queue-id Q2 "$tmp/inserted.log"
"$bin" redact --value alice@sender.example "$tmp/inserted.log" \
	>"$tmp/red-ins.log" 2>"$tmp/out"
check "redact: an unchained line: status" 1 $?
grep -q "$tmp/inserted.log:4: not a record" "$tmp/out" && ok ||
	bad "redact: the unchained line not named"
check "redact: every line copied" 10 "$(wc -l <"$tmp/red-ins.log")"
"$bin" redact --ignore-breaks --value alice@sender.example "$tmp/inserted.log" \
	>/dev/null 2>"$tmp/out"
check "redact --ignore-breaks: status" 0 $?

# A record changed: not counted either, and the chain re-syncs after it.
tamper changed.log '3s/"action":"reject","mode"/"action":"accept","mode"/'
expect "report: a changed record is not counted" 1 "decisions    4: 4 recipients" \
	report "$tmp/changed.log"
expect "verify --ignore-breaks: every break, exit 1" 1 \
	"BROKEN: 1 break, the first at $tmp/changed.log:3; 1 line not in the chain; 7 records checked, files 1: the evidence is weakened" \
	verify --ignore-breaks "$tmp/changed.log"

# Where a torn line may stand (FORMAT.md sections 1 and 4).
{ sed -n '1,4p' "$tmp/log"; sed -n 5p "$tmp/log"; sed -n '7,$p' "$tmp/log"; } \
	>"$tmp/torn-mid.log"
expect "a torn line followed by an ordinary record" 1 "$tmp/torn-mid.log:5: not a record" \
	verify "$tmp/torn-mid.log"
{ sed -n '1,4p' "$tmp/log"; sed -n 5p "$tmp/log" | tr -d '\n'; } >"$tmp/torn-a.log"
sed -n '6,$p' "$tmp/log" >"$tmp/torn-b.log"
expect "killed, rotated, restarted: the torn last line of a file" 0 \
	"$tmp/torn-a.log:5: warning: torn line skipped" \
	verify "$tmp/torn-a.log" "$tmp/torn-b.log"
sed -n '7,$p' "$tmp/log" >"$tmp/torn-c.log"
expect "the torn last line of a file, then no start record" 1 "$tmp/torn-a.log:5: not a record" \
	verify "$tmp/torn-a.log" "$tmp/torn-c.log"

# --key on report and show; without it a keyed log is checked for seq and
# prev only, and the output says so.
expect "report --key: verified in the same pass" 0 \
	"evidence     verified: 8 records, seq 1..8" \
	report --key "$tmp/key" "$tmp/keyed.log"
lacks "report --key: hashes checked" "hashes not checked"
expect "report without the key of a keyed log" 0 \
	"evidence     chained, hashes not checked: no key; 8 records, seq 1..8 (seq and prev only)" \
	report "$tmp/keyed.log"
lacks "report without the key: not called verified" "verified: 8"
# An unkeyed log whose first record was changed looks keyed at first; the
# next record that hashes without a key shows it is not: a break there.
sed '1s/"host":"[^"]*"/"host":"forged.example"/' "$tmp/log" >"$tmp/first-changed.log"
expect "report: a changed first record of an unkeyed log" 1 \
	"$tmp/first-changed.log:1: record changed: its hash is not a plain SHA-256, but that of $tmp/first-changed.log:2 is" \
	report "$tmp/first-changed.log"
expect "show: a changed first record of an unkeyed log" 1 \
	"$tmp/first-changed.log:1: record changed" show "$tmp/first-changed.log"
expect "verify: the same log" 1 "$tmp/first-changed.log:1: record changed" \
	verify "$tmp/first-changed.log"
expect "report without the key: said on stderr too" 0 \
	"hashes not checked: no key" report --format csv "$tmp/keyed.log"
"$mklog" -k "$tmp/key" <"$tmp/bodies" | sed '3s/dave@/dav3@/' >"$tmp/keyed-changed.log"
expect "report --key finds a changed record" 1 "$tmp/keyed-changed.log:3: record changed" \
	report --key "$tmp/key" "$tmp/keyed-changed.log"
printf 'fedcba9876543210fedcba9876543210' >"$tmp/wrong.key"
expect "report: a wrong --key" 1 "$tmp/keyed.log:1: record changed (or wrong --key)" \
	report --key "$tmp/wrong.key" "$tmp/keyed.log"
expect "show --key" 0 "queue id     Q2" show --key "$tmp/key" --queue-id Q2 "$tmp/keyed.log"
sed '3s/"seq":3/"seq":4/' "$tmp/keyed.log" >"$tmp/keyed-seq.log"
expect "report without the key still checks seq" 1 "$tmp/keyed-seq.log:3:" \
	report "$tmp/keyed-seq.log"

# Every format says what verified.
run report --format csv "$tmp/log"
check "csv: the evidence row" 'evidence,"verified: 8 records, seq 1..8",' \
	"$(sed -n 2p "$tmp/stdout" | sed 's/,*$/,/')"
check "csv: the evidence row has every column" \
	"$(head -n 1 "$tmp/stdout" | tr -cd , | wc -c)" \
	"$(sed -n '2s/"[^"]*"//p' "$tmp/stdout" | tr -cd , | wc -c)"
if command -v python3 >/dev/null 2>&1; then
	run report --format json "$tmp/inserted.log"
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["evidence"]; assert e == {"verified": False, "hashes_checked": True, "records": 8, "first_seq": 1, "last_seq": 8, "breaks": 1, "not_counted": 1, "torn_tolerated": 1, "summary": e["summary"]} and e["summary"].startswith("NOT VERIFIED: 1 break"), e' "$tmp/stdout" &&
		ok || bad "json: the evidence member"
	run report --format tlsrpt "$tmp/keyed.log"
	python3 -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; assert d and all(x["tlspolicy-evidence"] == "chained, hashes not checked: no key; 8 records, seq 1..8 (seq and prev only)" for x in d), d' "$tmp/stdout" &&
		ok || bad "tlsrpt: the evidence member"
fi

# Usage errors are 2, also for the new options.
expect "report: a missing --key file" 2 "--key" report --key "$tmp/none" "$tmp/log"
expect "show: a missing --key file" 2 "--key" show --key "$tmp/none" "$tmp/log"

# show escapes the format characters the decision log escapes (FORMAT.md
# section 1): U+200B (zero width space) and U+202E (bidi override) of the
# escaping vector never reach the terminal raw.
run show "$vec/escaping-v2.jsonl"
if [ "$rc" -eq 0 ] && grep -qF 'sender       pay\xe2\x80\x8bments@' "$tmp/out" &&
	! LC_ALL=C grep -q "$(printf '\342\200\213\\|\342\200\256')" "$tmp/out"; then
	ok
else
	bad "show: format characters escaped (exit $rc)"
fi

# ======================================== the daemon's writer, end to end
if "$mklog" -w "$tmp/w.log" 2>"$tmp/w.say"; then
	anchor=$(sed -n 's/^audit checkpoint \(seq=[0-9]* hash=[0-9a-f]*\).*/\1/p' \
		"$tmp/w.say" | tail -n 1)
	expect "the writer's log, rotated, with its last checkpoint" 0 \
		"OK: 9 records, seq 1..9, files 2" \
		verify --anchor "$anchor" "$tmp/w.log.1" "$tmp/w.log"
	expect "the writer's rotate record" 0 "rotate on mx.test" \
		show --type rotate "$tmp/w.log"
	expect "the writer's surrogate escapes decoded and shown safely" 0 \
		'client       bad\xffname\x1b[31m [192.0.2.1]' show --queue-id QW1 "$tmp/w.log.1"
else
	bad "mklog -w: the writer failed: $(cat "$tmp/w.say")"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

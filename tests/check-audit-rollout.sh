#!/bin/sh
# check-audit-rollout.sh - tlspolicy-audit inventory and suggest on logs
# whose records are written below (chained by tests/audit/mklog).
# inventory: per sender domain and per client, the TLS facts and rule
# results, checked exactly in JSON, the same numbers in text and CSV,
# hostile names made safe. suggest: thresholds, what each requirement
# needs, values from the log quoted or left out, the draft accepted by
# tlspolicy-milter -n. Both: strictness (a tampered log exits 1 unless
# --ignore-breaks) and usage. (replay, and all three on a log the real
# daemon wrote: tests/milter/test_replay.)
# Exit 0 when all passed, 1 on any failure.
set -u
bin=${top_builddir:-.}/tlspolicy-audit
mklog=${top_builddir:-.}/tests/audit/mklog
milter=${top_builddir:-.}/tlspolicy-milter
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
milter=$(cd "$(dirname "$milter")" && pwd)/$(basename "$milter")
mklog=$(cd "$(dirname "$mklog")" && pwd)/$(basename "$mklog")
tmp=$(mktemp -d /tmp/tlsp-rollout.XXXXXX) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
pass=0 fail=0

. "$(dirname "$0")/check-lib.sh"

body() { printf '%s\n' "$*" >>"$tmp/bodies"; }
: >"$tmp/bodies"
T13='"tls":{"version":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","bits":256,"forward_secrecy":true,"cert":"verified","subject":"CN=mx.bank.example","issuer":"CN=Bank CA","verify":"OK","fingerprint":"ab01","observed":[]}'
T12='"tls":{"version":"TLSv1.2","cipher":"ECDHE-RSA-AES128-GCM-SHA256","bits":128,"forward_secrecy":true,"cert":"not verified","subject":"CN=<script>x","issuer":"CN=Self","verify":"FAIL","fingerprint":null,"observed":[]}'
T0='"tls":{"version":null,"cipher":null,"bits":null,"forward_secrecy":null,"cert":"none","subject":null,"issuer":null,"verify":null,"fingerprint":null,"observed":[]}'
PASS='{"action":"accept","would_action":"accept","decided_by":null,"flags":[],"rules":[{"rule":"bank","exempt":false,"status":"pass","action":"accept","mode":"enforce","failures":[]}]}'
FAIL='{"action":"reject","would_action":"reject","decided_by":"bank","flags":[],"rules":[{"rule":"bank","exempt":false,"status":"fail","action":"reject","mode":"enforce","failures":[{"requirement":"min_version","status":"fail","required":"TLSv1.3","observed":"TLSv1.2"},{"requirement":"client_cert","status":"fail","required":"verified","observed":"not verified"}]}]}'
UNK='{"action":"accept","would_action":"defer","decided_by":null,"flags":[],"rules":[{"rule":"watch","exempt":false,"status":"unknown","action":"defer","mode":"monitor","failures":[{"requirement":"client_cert","status":"unknown","required":"verified","observed":"(absent)"}]}]}'
EXEMPT='{"action":"accept","would_action":"accept","decided_by":null,"flags":[],"rules":[{"rule":"bank","exempt":true,"status":"pass","action":"accept","mode":"enforce","failures":[]}]}'
A='"client":{"addr":"192.0.2.1","name":"mx.bank.example"},"helo":"mx.bank.example","sender":"<a@bank.example>","mta":"postfix"'
B='"client":{"addr":"192.0.2.2","name":"mx2.bank.example"},"helo":"mx2","sender":"<b@Bank.Example>","mta":"postfix"'
C='"client":{"addr":"198.51.100.7","name":"evil\u001b[31m.example"},"helo":"x","sender":"<>","mta":"postfix"'
body '{"time":"2026-11-01T08:00:00.000Z","host":"mx.test","type":"start","detail":"tlspolicy","policy":"ab12"}'
# bank.example via 192.0.2.1, TLSv1.3, two messages to two recipients
body '{"time":"2026-11-01T09:00:00.000Z","host":"mx.test","type":"message","salt":"00112233445566778899aabbccddeeff","queue_id":"Q1",'"$A,$T13"',"recipients":[{"addr":"<x@corp.example>","verdict":'"$PASS"',"reply":null},{"addr":"<y@corp.example>","verdict":'"$PASS"',"reply":null}],"action":"accept","mode":"enforce","would_action":"accept"}'
body '{"time":"2026-11-03T09:00:00.000Z","host":"mx.test","type":"message","salt":"00112233445566778899aabbccddeef0","queue_id":"Q2",'"$A,$T13"',"recipients":[{"addr":"<x@corp.example>","verdict":'"$EXEMPT"',"reply":null}],"action":"accept","mode":"enforce","would_action":"accept"}'
# bank.example via 192.0.2.2, TLSv1.2 and a bad certificate: refused at RCPT
body '{"time":"2026-11-02T09:00:00.000Z","host":"mx.test","type":"rcpt","salt":"00112233445566778899aabbccddeef1","queue_id":"Q3",'"$B,$T12"',"recipients":[{"addr":"<x@corp.example>","verdict":'"$FAIL"',"reply":"550"}],"action":"reject","mode":"enforce","would_action":"reject"}'
# the null sender in plaintext, a monitor rule cannot see a certificate
body '{"time":"2026-11-02T10:00:00.000Z","host":"mx.test","type":"message","salt":"00112233445566778899aabbccddeef2","queue_id":"Q4",'"$C,$T0"',"recipients":[{"addr":"<x@corp.example>","verdict":'"$UNK"',"reply":null}],"action":"accept","mode":"monitor","would_action":"defer"}'
# not decisions: an abort, a stop
body '{"time":"2026-11-02T11:00:00.000Z","host":"mx.test","type":"abort","salt":"00112233445566778899aabbccddeef3",'"$A,$T13"',"action":"accept","mode":"enforce","would_action":"accept"}'
body '{"time":"2026-11-04T00:00:00.000Z","host":"mx.test","type":"stop","detail":"SIGTERM"}'
"$mklog" <"$tmp/bodies" >"$tmp/log" 2>/dev/null || bad "mklog failed"

# ================================================================ json
run inventory --format json "$tmp/log"
if [ "$rc" -eq 0 ] && python3 - "$tmp/stdout" >"$tmp/out" 2>&1 <<'PY'; then ok; else bad "json numbers"; fi
import json, sys
j = json.load(open(sys.argv[1]))
def eq(what, got, want):
    if got != want:
        print("%s: got %r, want %r" % (what, got, want)); sys.exit(1)
eq("records", j["records"], 4)
eq("evidence", j["evidence"]["verified"], True)
eq("sender order", [s["domain"] for s in j["senders"]], ["bank.example", "(null sender)"])
b = j["senders"][0]
eq("bank records", b["records"], 3)
eq("bank messages", b["messages"], 2)
eq("bank first", b["first_seen"], "2026-11-01T09:00:00Z")
eq("bank last", b["last_seen"], "2026-11-03T09:00:00Z")
eq("bank versions", b["tls_version"], {"TLSv1.3": 2, "TLSv1.2": 1})
eq("bank bits", b["cipher_bits"], {"256+": 2, "128-255": 1})
eq("bank fs", b["forward_secrecy"], {"yes": 3})
eq("bank certs", b["client_cert"], {"verified": 2, "not verified": 1})
eq("bank ciphers", b["ciphers"], [{"value": "TLS_AES_256_GCM_SHA384", "count": 2},
                                  {"value": "ECDHE-RSA-AES128-GCM-SHA256", "count": 1}])
eq("bank subjects", [v["value"] for v in b["subjects"]], ["CN=mx.bank.example", "CN=<script>x"])
eq("bank fingerprints", b["fingerprints"], [{"value": "ab01", "count": 2}])
# two passes on Q1, the exempt rule of Q2 not counted, one failure on Q3
eq("bank rules", b["rules"], {"evaluations": 3, "passed": 2, "requirements": {
    "min_version": {"fail": 1, "unknown": 0}, "client_cert": {"fail": 1, "unknown": 0}}})
n = j["senders"][1]
eq("null sender", (n["records"], n["tls_version"], n["client_cert"]), (1, {"none": 1}, {"none": 1}))
eq("null rules", n["rules"]["requirements"], {"client_cert": {"fail": 0, "unknown": 1}})
eq("client order", [(c["addr"], c.get("name")) for c in j["clients"]],
   [("192.0.2.1", "mx.bank.example"), ("192.0.2.2", "mx2.bank.example"), ("198.51.100.7", "evil\x1b[31m.example")])
eq("client 1", (j["clients"][0]["records"], j["clients"][0]["messages"]), (2, 2))
PY

# ========================================================= text and csv
expect "text head" 0 "4 decision records from 2 sender domains and 3 clients" inventory "$tmp/log"
expect "text row" 0 "bank.example: 3 records (2 messages), 2026-11-01T09:00:00Z .. 2026-11-03T09:00:00Z" inventory "$tmp/log"
expect "text versions" 0 "TLS versions: TLSv1.3 66.7%, TLSv1.2 33.3%" inventory "$tmp/log"
expect "text rules" 0 "rules: 3 evaluations, 2 passed every requirement; min_version: 1 failed, 0 unknown; client_cert: 1 failed, 0 unknown" inventory "$tmp/log"
expect "terminal escapes made safe" 0 'evil\x1b[31m.example' inventory "$tmp/log"
if grep -q "$(printf '\033')" "$tmp/stdout"; then bad "a raw ESC reached the terminal"; else ok; fi
expect "--domain" 0 "1 decision record from 1 sender domain and 1 client" inventory --domain "(null sender)" "$tmp/log"
expect "--since" 0 "3 decision records" inventory --since 2026-11-02 "$tmp/log"
expect "--top" 0 "(1 more not shown: --top)" inventory --top 1 "$tmp/log"
run inventory --format csv "$tmp/log"
if [ "$rc" -eq 0 ] && python3 - "$tmp/stdout" >"$tmp/out" 2>&1 <<'PY'; then ok; else bad "csv"; fi
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head = rows[0]
for r in rows[1:-1]:
    assert len(r) == len(head), (len(r), len(head), r)
d = {(r[0], r[1]): dict(zip(head, r)) for r in rows[1:-1]}
b = d[("sender", "bank.example")]
assert (b["records"], b["version_TLSv1.3"], b["min_version_failed"], b["rules_passed"]) == ("3", "2", "1", "2"), b
assert b["ciphers"] == "TLS_AES_256_GCM_SHA384=2;ECDHE-RSA-AES128-GCM-SHA256=1", b["ciphers"]
assert rows[-1][0] == "evidence" and rows[-1][1].startswith("verified: 7 records"), rows[-1]
assert d[("client", "198.51.100.7")]["name"] == "evil\\x1b[31m.example"
PY

# ============================================================ strictness
sed '3s/"Q2"/"Q9"/' "$tmp/log" >"$tmp/tampered"
expect "tampered log exits 1" 1 "does not verify" inventory "$tmp/tampered"
expect "tampered: evidence says so" 1 "evidence: NOT VERIFIED" inventory "$tmp/tampered"
expect "--ignore-breaks goes on" 0 "the evidence is weakened" inventory --ignore-breaks "$tmp/tampered"
expect "tampered record not counted" 0 "3 decision records" inventory --ignore-breaks "$tmp/tampered"
printf 'hello\n' >"$tmp/garbage"
expect "garbage exits 1" 1 "not a record" inventory "$tmp/garbage"
expect "no file" 2 "no FILE given" inventory
expect "bad format" 2 "expected text, csv or json" inventory --format html "$tmp/log"
expect "bad date" 2 "--since yesterday" inventory --since yesterday "$tmp/log"
expect "missing file" 2 "" inventory "$tmp/nonexistent"

# ============================================================= suggest
# partner.example: 3 days, all TLSv1.3 with a verified certificate whose
# subject holds a quote and a backslash; mixed.example: one session in
# plaintext; esc.example: a subject with an ESC (never pinned); few.example:
# one record only.
: >"$tmp/bodies"
tls() { # VERSION CIPHER BITS FS CERT SUBJECT
	printf '"tls":{"version":%s,"cipher":%s,"bits":%s,"forward_secrecy":%s,"cert":"%s","subject":%s,"issuer":"CN=P CA","verify":null,"fingerprint":null,"observed":[]}' "$@"
}
TP=$(tls '"TLSv1.3"' '"TLS_AES_256_GCM_SHA384"' 256 true verified '"CN=a\"b\\\\c"')
TE=$(tls '"TLSv1.3"' '"TLS_AES_256_GCM_SHA384"' 256 true verified '"CN=\u001b[2Jx"')
TM=$(tls '"TLSv1.2"' '"ECDHE-RSA-AES128-SHA256"' 128 true none null)
TN=$(tls null null null null none null)
msg() { # DAY SENDER RCPT TLS
	body '{"time":"2026-11-'"$1"'T09:00:00.000Z","host":"mx.test","type":"message","salt":"00112233445566778899aabbccddeeff","client":{"addr":"192.0.2.9","name":null},"helo":"x","sender":"<s@'"$2"'>","mta":"postfix",'"$4"',"recipients":[{"addr":"<r@'"$3"'>","verdict":null,"reply":null}],"action":"accept","mode":"enforce","would_action":"accept"}'
}
body '{"time":"2026-11-01T08:00:00.000Z","host":"mx.test","type":"start","detail":"tlspolicy","policy":"ab12"}'
for d in 01 02 03; do
	msg $d partner.example corp.example "$TP"
	msg $d esc.example corp.example "$TE"
	msg $d mixed.example other.example "$TM"
done
msg 04 mixed.example other.example "$TN"
msg 04 few.example corp.example "$TP"
"$mklog" <"$tmp/bodies" >"$tmp/s.log" 2>/dev/null || bad "mklog failed"

run suggest --min-messages 3 --min-days 3 "$tmp/s.log"
cp "$tmp/stdout" "$tmp/draft.yaml"
if [ "$rc" -eq 0 ] && python3 - "$tmp/draft.yaml" >"$tmp/out" 2>&1 <<'PY'; then ok; else bad "suggest draft"; fi
import sys
d = open(sys.argv[1]).read()
want = """  "partner.example":
    tls: required
    min_version: TLSv1.3
    min_cipher_bits: 256
    forward_secrecy: true
    ciphers: {deny: [RC4, DES, 3DES, NULL, EXPORT, ANON, MD5, CBC]}
    client_cert: verified
    subject: ["CN=a\\"b\\\\\\\\c"]
    issuer: ["CN=P CA"]
    mode: monitor
"""
assert want in d, d
# the subject with an ESC is not pinned, the rest is
e = d[d.index('"esc.example"'):]
e = e[:e.index("mode: monitor")]
assert "client_cert: verified" in e and "subject" not in e, e
assert "\x1b" not in d
# plaintext seen: nothing; one record: too little evidence
assert '"mixed.example"' not in d and '"few.example"' not in d, d
# recipients: corp.example got only TLSv1.3
assert '  "corp.example":\n    tls: required\n    min_version: TLSv1.3\n' in d, d
assert "1 domain with too little evidence, 2 with plaintext sessions" in d, d
PY
if "$milter" -c "$tmp/draft.yaml" -n >"$tmp/out" 2>&1 && grep -qF "OK: 3 rules" "$tmp/out"; then ok; else bad "the suggested draft does not check"; fi
expect "default thresholds: nothing" 0 "6 domains with too little evidence" suggest "$tmp/s.log"
expect "--domain" 0 "1 domain with too little evidence, 0 with plaintext" suggest --min-messages 3 --min-days 3 --domain few.example "$tmp/s.log"
expect "suggest: bad number" 2 "--min-days x: expected a number" suggest --min-days x "$tmp/s.log"
expect "suggest: tampered" 1 "does not verify" suggest "$tmp/tampered"

# ============================================================== replay
# Transitions to and from tag and quarantine, and records older than the
# authenticated and daemon_name members. (replay on the daemon's own log,
# every stage: tests/milter/test_replay.)
: >"$tmp/bodies"
OBS='"observed":["v","{tls_version}","{cipher}","{cipher_bits}","{auth_authen}","{daemon_name}","{client_addr}"]'
T12='"tls":{"version":"TLSv1.2","cipher":"ECDHE-RSA-AES128-GCM-SHA256","bits":128,"forward_secrecy":true,"cert":"not verified","subject":null,"issuer":null,"verify":null,"fingerprint":null,'"$OBS"'}'
V() { # ACTION RULE
	printf '{"action":"%s","would_action":"%s","decided_by":"%s","flags":[],"rules":[{"rule":"%s","exempt":false,"status":"fail","action":"%s","mode":"enforce","failures":[]}]}' "$1" "$1" "$2" "$2" "$1"
}
rmsg() { # QID RCPT-DOMAIN ACTION EXTRA
	body '{"time":"2026-11-05T09:00:00.000Z","host":"mx.test","type":"message","salt":"00112233445566778899aabbccddeeff","queue_id":"'"$1"'","client":{"addr":"192.0.2.9","name":null},"helo":"x","sender":"<s@p.example>","mta":"postfix",'"$4$T12"',"recipients":[{"addr":"<r@'"$2"'>","verdict":'"$(V "$3" "recipient:$2")"',"reply":null}],"action":"'"$3"'","mode":"enforce","would_action":"'"$3"'"}'
}
NEW='"daemon_name":"smtpd","authenticated":false,'
body '{"time":"2026-11-05T08:00:00.000Z","host":"mx.test","type":"start","detail":"tlspolicy","policy":"ab12"}'
rmsg T1 tagged.example tag "$NEW"
rmsg Q1 quar.example quarantine "$NEW"
rmsg O1 old.example accept ""
"$mklog" <"$tmp/bodies" >"$tmp/r.log" 2>/dev/null || bad "mklog failed"
printf 'version: 1\nrecipients:\n  tagged.example: {min_version: TLSv1.3, action: quarantine}\n  quar.example: {min_version: TLSv1.3, action: tag}\n' >"$tmp/d1.yaml"
expect "tag -> quarantine" 0 "tag -> quarantine: 1" replay --policy "$tmp/d1.yaml" "$tmp/r.log"
expect "quarantine -> tag" 0 "quarantine -> tag: 1" replay --policy "$tmp/d1.yaml" "$tmp/r.log"
expect "--fail-on quarantine" 3 "would newly be refused or marked" replay --policy "$tmp/d1.yaml" --fail-on quarantine "$tmp/r.log"
expect "--fail-on reject: nothing" 0 "changed: 2" replay --policy "$tmp/d1.yaml" --fail-on reject,defer "$tmp/r.log"
expect "bad --fail-on" 2 "--fail-on accept: expected actions" replay --policy "$tmp/d1.yaml" --fail-on accept "$tmp/r.log"
expect "--policy required" 2 "--policy DRAFT is required" replay "$tmp/r.log"
expect "replay: garbage" 1 "not a record" replay --policy "$tmp/d1.yaml" "$tmp/garbage"
expect "replay: tampered" 1 "does not verify" replay --policy "$tmp/d1.yaml" "$tmp/tampered"
expect "replay: missing draft" 2 "nothing replayed" replay --policy "$tmp/nonexistent.yaml" "$tmp/r.log"
# an older record: whether the client authenticated decides under a
# failing rule (the default scope exempts authenticated sessions)...
printf 'version: 1\nrecipients:\n  old.example: {min_version: TLSv1.3, action: reject}\n' >"$tmp/d2.yaml"
expect "older record, authentication decides" 0 "cannot replay: a fact the record lacks would decide (authenticated, daemon_name): 1" replay --policy "$tmp/d2.yaml" --domain old.example "$tmp/r.log"
# ... but not when the rule passes either way
printf 'version: 1\nrecipients:\n  old.example: {min_version: TLSv1.2, action: reject}\n' >"$tmp/d3.yaml"
expect "older record, nothing open decides" 0 "unchanged: 1; changed: 0; cannot replay: 0" replay --policy "$tmp/d3.yaml" --domain old.example "$tmp/r.log"
# ... nor when the draft's scope does not look at it
printf 'version: 1\nscope: {authenticated: enforce}\nrecipients:\n  old.example: {min_version: TLSv1.3, action: reject}\n' >"$tmp/d4.yaml"
expect "older record, scope enforces all" 0 "accept -> reject: 1" replay --policy "$tmp/d4.yaml" --domain old.example "$tmp/r.log"
# a log kept with addresses: domain ("@domain") replays by its domains
sed 's/"<s@p.example>"/"@p.example"/; s/"<r@\([a-z.]*\)>"/"@\1"/' "$tmp/bodies" >"$tmp/dbodies"
"$mklog" <"$tmp/dbodies" >"$tmp/rd.log" 2>/dev/null || bad "mklog failed (domain-only)"
grep -q '"sender":"@p.example"' "$tmp/rd.log" && grep -q '"addr":"@tagged.example"' "$tmp/rd.log" && ok ||
	bad "the domain-only log was not made"
expect "domain-only addresses: tag -> quarantine" 0 "tag -> quarantine: 1" replay --policy "$tmp/d1.yaml" "$tmp/rd.log"
expect "domain-only addresses: quarantine -> tag" 0 "quarantine -> tag: 1" replay --policy "$tmp/d1.yaml" "$tmp/rd.log"
# --fail-on counts what newly has one of its actions, not a change
# between two of them
printf 'version: 1\nrecipients:\n  quar.example: {min_version: TLSv1.3, action: reject}\n  tagged.example: {min_version: TLSv1.3, action: quarantine}\n' >"$tmp/d5.yaml"
expect "--fail-on: quarantine -> reject is not new" 0 "quarantine -> reject: 1" replay --policy "$tmp/d5.yaml" --fail-on reject,quarantine --domain quar.example "$tmp/r.log"
expect "--fail-on: tag -> quarantine is new" 3 "would newly be refused or marked" replay --policy "$tmp/d5.yaml" --fail-on reject,quarantine "$tmp/r.log"
run replay --policy "$tmp/d1.yaml" --format csv "$tmp/r.log"
if [ "$rc" -eq 0 ] && grep -qx 'transition,,tag,quarantine,1' "$tmp/stdout" &&
	grep -qx 'recipient,quar.example,quarantine,tag,1' "$tmp/stdout"; then ok; else bad "replay csv"; fi

printf 'rollout: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]

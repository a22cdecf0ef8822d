#!/bin/sh
# check-audit-fleet.sh - verify and report over several hosts' logs
# (--host NAME --key K --anchor A FILES... --host ...): each host's chain
# on its own key and anchors, one line per host, exit 1 when any fails,
# a file whose records name another host than declared, a two-host fleet
# with one log tampered (verify, and the HTML report's title and host
# lines), the merged counts, the parallel fleet report (each host on a
# thread of its own) identical run to run and equal to the sum of the
# hosts' own reports, and the usage errors.
# Exit 0 when all passed, 1 on any failure.
set -u
bin=${top_builddir:-.}/tlspolicy-audit
mklog=${top_builddir:-.}/tests/audit/mklog
fixture=${top_srcdir:-.}/tests/audit/html-fixture.sh
tmp=$(mktemp -d /tmp/tlsp-fleet.XXXXXX) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
pass=0 fail=0

. "$(dirname "$0")/check-lib.sh"

for h in mx1 mx2 mx3 mx4; do
	head -c 16 /dev/urandom >"$tmp/$h.key"
	sh "$fixture" "$h.test" | "$mklog" -k "$tmp/$h.key" >"$tmp/$h.log" 2>"$tmp/$h.last" ||
		bad "mklog $h"
	l=$(cat "$tmp/$h.last")
	eval "a_$h=\"\${l% *}:\${l#* }\""
done
sed '3s/"Q2"/"Q9"/' "$tmp/mx2.log" >"$tmp/mx2.bad"
H1="--host mx1.test --key $tmp/mx1.key --anchor $a_mx1 $tmp/mx1.log"
H2="--host mx2.test --key $tmp/mx2.key --anchor $a_mx2 $tmp/mx2.log"
H2bad="--host mx2.test --key $tmp/mx2.key $tmp/mx2.bad"

# ============================================================== verify
expect "two hosts" 0 "OK: 2 hosts, 0 failed" verify $H1 $H2
grep -q "^mx1.test: OK: 13 records, seq 1..13, files 1, last hash ${a_mx1#*:}$" "$tmp/stdout" && ok || bad "mx1 line"
grep -q "^mx2.test: OK: 13 records, seq 1..13, files 1, last hash ${a_mx2#*:}$" "$tmp/stdout" && ok || bad "mx2 line"
expect "each host its own key: mx2's key on mx1" 1 "mx1.test: BROKEN: the first break at $tmp/mx1.log:1" \
	verify --host mx1.test --key "$tmp/mx2.key" "$tmp/mx1.log" $H2
grep -q "^mx2.test: OK" "$tmp/stdout" && ok || bad "mx2 still verified"
expect "one host tampered" 1 "mx2.test: BROKEN: the first break at $tmp/mx2.bad:3: record changed" verify $H1 $H2bad
grep -q "^mx1.test: OK: 13 records" "$tmp/stdout" && grep -q "^BROKEN: 2 hosts, 1 failed$" "$tmp/stdout" && ok ||
	bad "tampered fleet: mx1 verified, the summary"
expect "an anchor of mx2 not met" 1 "mx2.test: BROKEN" verify $H1 --host mx2.test --key "$tmp/mx2.key" \
	--anchor "${a_mx1}" "$tmp/mx2.log"
expect "records of another host" 1 'mx1.test: BROKEN: 1 record names another host' \
	verify --host mx1.test --key "$tmp/mx2.key" "$tmp/mx2.log"
grep -qF "$tmp/mx2.log:1: the record names host \"mx2.test\", not the host declared" "$tmp/stderr" && ok ||
	bad "where the other host's record is"
run verify $H1 $H2 --host mx3.test --key "$tmp/mx3.key" "$tmp/mx3.log" --host mx4.test --key "$tmp/mx4.key" "$tmp/mx4.log"
[ "$rc" -eq 0 ] && [ "$(cut -d: -f1 "$tmp/stdout" | tr '\n' ' ')" = "mx1.test mx2.test mx3.test mx4.test OK " ] && ok ||
	bad "four hosts: one line each, in the order given"
expect "-q: only failures" 1 "mx2.test: BROKEN" verify -q $H1 $H2bad
grep -q "mx1.test" "$tmp/stdout" && ok || bad "-q still names every host"

# ============================================================== report
run report --format json $H1 $H2
cp "$tmp/stdout" "$tmp/both.json"
run report --format json --key "$tmp/mx1.key" "$tmp/mx1.log"
cp "$tmp/stdout" "$tmp/one.json"
if python3 - "$tmp/both.json" "$tmp/one.json" >"$tmp/out" 2>&1 <<'PY'; then ok; else bad "merged counts"; fi
import json, sys
b, o = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert b["total"]["decisions"] == 2 * o["total"]["decisions"], (b["total"], o["total"])
assert b["evidence"]["verified"] is True, b["evidence"]
assert b["evidence"]["summary"] == "verified: 2 hosts, 26 records, each host's chain on its own", b["evidence"]
assert {d["domain"]: d["decisions"] for d in b["domains"]} == \
    {d["domain"]: 2 * d["decisions"] for d in o["domains"]}
PY
run report --format html -o "$tmp/f.html" $H1 $H2bad
[ "$rc" -eq 1 ] && ok || bad "html report of a tampered fleet: exit $rc (want 1)"
if python3 - "$tmp/f.html" "$tmp" >"$tmp/out" 2>&1 <<'PY'; then ok; else bad "html host lines"; fi
import re, sys
h = open(sys.argv[1]).read()
t = re.search(r"<title>([^<]*)", h).group(1)
assert t.startswith("NOT VERIFIED:"), t
rows = re.findall(r'<tr><td>(mx\d.test)</td>.*?<td class="(ok|broken)">([^<]*)</td>', h)
assert rows == [("mx1.test", "ok", "verified: 13 records, seq 1..13"),
                ("mx2.test", "broken", "NOT VERIFIED: 1 break, 1 line not counted "
                 "(the first break at %s/mx2.bad:3)" % sys.argv[2])], rows
assert "anchors (syslog checkpoints) given 1, met 1" in h
PY
expect "report: records of another host" 1 'not mx1.test as declared' report --host mx1.test "$tmp/mx2.log"
# Every host's files, hashed as the host threads read them (a rotated
# gzip file of mx1 as stored): the size and SHA-256 of each, in order.
head -n 5 "$tmp/mx1.log" | gzip -n >"$tmp/mx1.a.gz"
tail -n +6 "$tmp/mx1.log" >"$tmp/mx1.b"
run report --format html -o "$tmp/h.html" --host mx1.test --key "$tmp/mx1.key" "$tmp/mx1.a.gz" "$tmp/mx1.b" $H2
got=$(sed -n '/<table id="files">/,/<\/table>/p' "$tmp/h.html" |
	sed -n 's|.*<code>\([^<]*\)</code></td><td class="n">\([0-9]*\)</td><td class="hash">\([0-9a-f]*\)<.*|\1 \2 \3|p')
want=$(for f in "$tmp/mx1.a.gz" "$tmp/mx1.b" "$tmp/mx2.log"; do
	echo "$f $(wc -c <"$f") $(sha256sum "$f" | cut -d' ' -f1)"
done)
[ "$rc" -eq 0 ] && [ "$got" = "$want" ] && ok || bad "fleet: the files' sizes and SHA-256 (got '$got', want '$want')"

# Four different hosts (two fixtures, two synthetic logs of other days,
# domains and clients), each read on a thread of its own: every format
# the same run to run (the HTML but for the time it was made), and the
# JSON the sum of the four hosts' own reports.
for h in s1 s2; do
	head -c 16 /dev/urandom >"$tmp/$h.key"
	"$mklog" -n 3000 -S "${h#s}" -D 40 -H "$h.test" -k "$tmp/$h.key" \
		>"$tmp/$h.log" 2>"$tmp/$h.last" || bad "mklog $h"
	l=$(cat "$tmp/$h.last")
	eval "a_$h=\"\${l% *}:\${l#* }\""
done
S1="--host s1.test --key $tmp/s1.key --anchor $a_s1 $tmp/s1.log"
S2="--host s2.test --key $tmp/s2.key --anchor $a_s2 $tmp/s2.log"
for f in text json csv tlsrpt html; do
	for n in 1 2; do
		o=
		[ "$f" = html ] && o="-o $tmp/run$n.html"
		run report --format "$f" $o $H1 $S1 $H2 $S2
		[ "$rc" -eq 0 ] || bad "four hosts, $f: exit $rc"
		cp "$tmp/stdout" "$tmp/run$n.$f"
		[ "$f" = html ] && sed 's/ at 20[0-9T:-]*Z</ at -</' "$tmp/run$n.html" >"$tmp/run$n.$f"
	done
	cmp -s "$tmp/run1.$f" "$tmp/run2.$f" && ok || bad "four hosts, $f: not the same run to run"
done
for h in H1 S1 H2 S2; do
	eval "g=\$$h"
	run report --format json ${g#--host * }
	cp "$tmp/stdout" "$tmp/one-$h.json"
done
if python3 - "$tmp/run1.json" "$tmp"/one-H1.json "$tmp"/one-S1.json "$tmp"/one-H2.json "$tmp"/one-S2.json \
	>"$tmp/out" 2>&1 <<'PY'; then ok; else bad "four hosts: the sum of the hosts' reports"; fi
import json, sys
fleet = json.load(open(sys.argv[1]))
hosts = [json.load(open(p)) for p in sys.argv[2:]]
def add(a, b):
    """b's numbers added to a's; a string kept from the first host."""
    if isinstance(a, dict):
        return {k: add(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k))
                for k in {**b, **a}}
    if isinstance(a, list):  # rows: by their name (first member)
        rows = {tuple(r.items())[0]: r for r in a}
        for r in b:
            k = tuple(r.items())[0]
            rows[k] = add(rows[k], r) if k in rows else r
        return list(rows.values())
    if isinstance(a, bool) or not isinstance(a, int):
        return a if a is not None else b
    return a + b
def rows(v):
    return {tuple(r.items())[0]: r for r in v}
want = hosts[0]
for h in hosts[1:]:
    want = add(want, h)
for k in ("records", "total", "sender_decisions", "not_counted", "outside_period", "files"):
    assert fleet[k] == want[k], (k, fleet[k], want[k])
for k in ("domains", "rules", "clients", "exceptions"):
    assert rows(fleet[k]) == rows(want[k]), k
assert len(fleet["domains"]) > 40 and fleet["total"]["decisions"] > 6000, fleet["total"]
assert fleet["period"]["first_record"] == min(h["period"]["first_record"] for h in hosts)
assert fleet["period"]["last_record"] == max(h["period"]["last_record"] for h in hosts)
assert fleet["evidence"]["records"] == sum(h["evidence"]["records"] for h in hosts)
PY

# =============================================================== usage
expect "a host without files" 2 "--host mx2.test: no FILE given" verify $H1 --host mx2.test
expect "a host twice" 2 "--host mx1.test given twice" verify $H1 $H1
expect "--key before --host" 2 "go after their --host" verify --key "$tmp/mx1.key" $H1
expect "a file before --host" 2 "a file before the first --host" verify "$tmp/mx1.log" $H1
expect "an unknown option in a group" 2 "expected --key, --anchor or a file" verify $H1 --host mx2.test --top 3 "$tmp/mx2.log"
expect "report: --key before --host" 2 "go after their --host" report --key "$tmp/mx1.key" $H1

echo "check-audit-fleet: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

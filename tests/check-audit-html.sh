#!/bin/sh
# check-audit-html.sh - tlspolicy-audit report --format html on the
# fixture of tests/audit/html-fixture.sh: the markup holds only the
# elements and attributes the report writes (no script, no handler, no
# URL), every hostile value of the log is text, the style sheet is the
# one the Content-Security-Policy allows, the numbers are the JSON
# report's, the files' SHA-256 are right, the day axis has no hole, a
# tampered or unkeyed log says NOT VERIFIED in the title, anchors are
# counted, the long tail goes to a companion CSV whose SHA-256 the HTML
# prints, and usage errors. (The browser's view: tests/browser/.)
# Exit 0 when all passed, 1 on any failure.
set -u
bin=${top_builddir:-.}/tlspolicy-audit
mklog=${top_builddir:-.}/tests/audit/mklog
fixture=${top_srcdir:-.}/tests/audit/html-fixture.sh
tmp=$(mktemp -d /tmp/tlsp-html.XXXXXX) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
pass=0 fail=0

. "$(dirname "$0")/check-lib.sh"

# check NAME HTML [ARGS...]: the python below on the HTML, with ARGS
check() {
	name=$1
	shift
	if python3 "$tmp/check.py" "$@" >"$tmp/out" 2>&1; then ok; else bad "$name"; fi
}

sh "$fixture" | "$mklog" >"$tmp/log" 2>/dev/null || bad "mklog"
head -c 16 /dev/urandom >"$tmp/key"
sh "$fixture" | "$mklog" -k "$tmp/key" >"$tmp/klog" 2>"$tmp/klast" || bad "mklog -k"

cat >"$tmp/check.py" <<'PY'
import base64, hashlib, json, re, sys
from html.parser import HTMLParser

TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1",
        "h2", "h3", "div", "strong", "span", "br", "code", "dl", "dt", "dd",
        "p", "table", "thead", "tbody", "tr", "th", "td", "section", "footer",
        "svg", "g", "defs", "pattern", "rect", "path", "line", "text",
        "polyline", "circle", "polygon"}
ATTRS = {"lang", "charset", "http-equiv", "content", "name", "class", "id",
         "colspan", "viewbox", "role", "aria-labelledby",
         "font-family", "font-size", "font-weight", "width", "height",
         "patternunits", "fill", "d", "stroke", "stroke-width", "x", "y",
         "x1", "y1", "x2", "y2", "text-anchor", "transform", "r", "cx", "cy",
         "points", "stroke-dasharray"}

class P(HTMLParser):
    def __init__(s):
        super().__init__(convert_charrefs=True)
        s.stack, s.text, s.style, s.ids, s.meta = [], [], "", {}, []
        s.cur = None
        s.tables = {}
    def handle_starttag(s, tag, attrs):
        if tag not in TAGS:
            sys.exit("element <%s> written" % tag)
        for k, v in attrs:
            if k not in ATTRS:
                sys.exit("attribute %s= on <%s>" % (k, tag))
            if v and re.search(r"url\((?!#)|javascript:|https?:", v):
                sys.exit("a URL in %s=%r" % (k, v))
        a = dict(attrs)
        if tag == "meta":
            s.meta.append(a)
        if "id" in a:
            s.ids[a["id"]] = []
        if tag == "table":
            s.cur = s.tables.setdefault(a.get("id"), [])
        if tag == "tr" and s.cur is not None:
            s.cur.append([])
        if tag in ("td", "th") and s.cur is not None and s.cur:
            s.cur[-1].append("")
        if tag not in ("meta", "br"):
            s.stack.append((tag, a.get("id")))
    def handle_endtag(s, tag):
        if tag in ("meta", "br"):
            return
        while s.stack:
            t, _ = s.stack.pop()
            if t == tag:
                break
        if tag == "table":
            s.cur = None
    def handle_data(s, d):
        s.text.append(d)
        if s.stack and s.stack[-1][0] == "style":
            s.style += d
        for t, i in s.stack:
            if i is not None:
                s.ids[i].append(d)
        if s.cur is not None and s.cur and s.cur[-1] and \
                s.stack and s.stack[-1][0] in ("td", "th", "code", "span"):
            s.cur[-1][-1] += d

def parse(path):
    p = P()
    p.feed(open(path, encoding="utf-8").read())
    p.close()
    return p

def eq(what, got, want):
    if got != want:
        sys.exit("%s: got %r, want %r" % (what, got, want))

def idtext(p, i):
    return "".join(p.ids[i]).strip()

what, html = sys.argv[1], sys.argv[2]
p = parse(html)
if what == "markup":
    text = "".join(p.text)
    for v in ("<script>alert(1)</script>", '"><img src=x onerror=alert(2)>',
              "<script>alert(3)</script>", '"><img src=x onerror=alert(4)>',
              "<script>alert(5)</script>", '"><img src=x onerror=alert(6)'):
        if v not in text:
            sys.exit("hostile value %r not shown as text" % v)
    csp = [m["content"] for m in p.meta
           if m.get("http-equiv") == "Content-Security-Policy"]
    eq("one CSP", len(csp), 1)
    if not csp[0].startswith("default-src 'none';"):
        sys.exit("CSP " + csp[0])
    h = base64.b64encode(hashlib.sha256(p.style.encode()).digest()).decode()
    eq("style hash in CSP", "style-src 'sha256-%s'" % h in csp[0], True)
elif what == "numbers":
    j = json.load(open(sys.argv[3]))
    eq("title", p.ids and "".join(p.text).split("TLS policy")[0].strip()[:9], "Verified:")
    eq("records", int(idtext(p, "n-records")), j["evidence"]["records"])
    eq("decisions", int(idtext(p, "n-decisions")), j["total"]["decisions"])
    eq("passed", int(idtext(p, "n-passed")), j["total"]["passed"])
    eq("refused", int(idtext(p, "n-refused")), j["total"]["refused"])
    eq("evidence", idtext(p, "evidence"), j["evidence"]["summary"])
    rows = [(r[0], int(r[1]), int(r[4])) for r in p.tables["t-rcpt"][1:]]
    eq("domain rows", rows, [(d["domain"], d["decisions"], d["failed"])
                             for d in j["domains"]])
    sha = hashlib.sha256(open(sys.argv[4], "rb").read()).hexdigest()
    eq("file row", p.tables["files"][1][1:], [str(len(open(sys.argv[4], "rb").read())), sha])
    eq("reloads", [(r[2], r[3][:4]) for r in p.tables["reloads"][1:]],
       [("start", "aaaa"), ("reload", "bbbb"), ("reload FAILED (old policy kept)", "-")])
    eq("monitor", [r[:3] for r in p.tables["t-monitor"][1:]],
       [['"><img src=x onerror=alert(4)>', "2", "defer 2"]])
    eq("required vs observed", p.tables["t-pairs"][1:],
       [["min_version", "TLSv1.3", "TLSv1.2", "3"], ["tls", "yes", "no", "2"]])
    eq("per recipient domain: required and observed", [r[6] for r in p.tables["t-rcpt"][1:]],
       ["min_version: TLSv1.3 required, TLSv1.2 observed (2)",
        "min_version: TLSv1.3 required, TLSv1.2 observed (1); tls: yes required, no observed (1)",
        "tls: yes required, no observed (1)"])
    eq("per sender domain: required and observed", [r[6] for r in p.tables["t-sender"][1:]],
       ["-", "min_version: TLSv1.3 required, TLSv1.2 observed (3)", "tls: yes required, no observed (2)"])
    # the pairs of a row add up to its failures by requirement
    for t in ("t-rcpt", "t-sender"):
        for r in p.tables[t][1:]:
            by = {}
            for m in re.finditer(r"(?:^|; )([a-z_]+): .*? observed \((\d+)\)", r[6]):
                by[m.group(1)] = by.get(m.group(1), 0) + int(m.group(2))
            want = {k: int(v) for k, v in re.findall(r"([a-z_]+) (\d+)", r[5])}
            eq("pairs of %s add up" % r[0], by, want)
    eq("inventory first cert", p.tables["t-inventory"][1][6],
       '<script>alert(1)</script> / "><img src=x onerror=alert(2)>')
    days = re.findall(r'class="xtick"[^>]*>([^<]*)<', open(html).read())
    eq("every day on the axis, once per chart", days,
       ["2026-11-0%d" % d for d in range(1, 6)] * 4)
elif what == "title":
    t = re.search(r"<title>([^<]*)</title>", open(html).read()).group(1)
    if not t.startswith(sys.argv[3]):
        sys.exit("title %r, want it to start with %r" % (t, sys.argv[3]))
    if len(sys.argv) > 4 and sys.argv[4] not in "".join(p.text):
        sys.exit("%r not in the text" % sys.argv[4])
elif what == "files":
    # each input's row: its size and SHA-256 as stored ("-=PATH": standard
    # input fed from PATH)
    rows = p.tables["files"][1:]
    want = []
    for a in sys.argv[3:]:
        name, path = ("-", a[2:]) if a.startswith("-=") else (a, a)
        b = open(path, "rb").read()
        want.append([name, str(len(b)), hashlib.sha256(b).hexdigest()])
    eq("file rows", rows, want)
elif what == "csv":
    csv, sha = sys.argv[3], hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest()
    eq("companion", idtext(p, "companion").split("SHA-256 ")[-1].rstrip("."), sha)
    eq("rcpt rows shown", len(p.tables["t-rcpt"]) - 1, 1)
    lines = open(csv).read().splitlines()
    eq("csv rows", [l.split(",")[0] for l in lines[1:]],
       ["recipient_domain", "recipient_domain", "sender_domain",
        "sender_domain", "client", "client"])
    if "'\"><img" not in open(csv).read() and "\"\"><img" not in open(csv).read():
        sys.exit("the hostile sender domain is not quoted in the CSV")
PY

# ============================================================ verified
run report --format html -o "$tmp/r.html" "$tmp/log"
[ "$rc" -eq 0 ] && [ -s "$tmp/r.html" ] && ok || bad "report html: exit $rc"
[ -e "$tmp/r.csv" ] && bad "a companion CSV with nothing to hold" || ok
check "markup: only the report's elements, hostile values as text" markup "$tmp/r.html"
run report --format json "$tmp/log"
cp "$tmp/stdout" "$tmp/r.json"
check "numbers equal the JSON report's" numbers "$tmp/r.html" "$tmp/r.json" "$tmp/log"
size=$(wc -c <"$tmp/r.html")
[ "$size" -lt 200000 ] && ok || bad "fixture report is $size bytes"

# ===================================== the files' SHA-256, as stored
# The reader's bytes are hashed as they are read: a plain file, a rotated
# gzip file (hashed as stored: its compressed bytes), standard input.
head -n 6 "$tmp/log" | gzip -n >"$tmp/part1.gz"
tail -n +7 "$tmp/log" >"$tmp/part2"
run report --format html -o "$tmp/f.html" "$tmp/part1.gz" "$tmp/part2"
[ "$rc" -eq 0 ] && ok || bad "gzip and plain: exit $rc"
check "files: a gzip file and a plain one" files "$tmp/f.html" "$tmp/part1.gz" "$tmp/part2"
"$bin" report --format html -o "$tmp/s.html" - <"$tmp/log" >/dev/null 2>&1 && ok || bad "stdin: exit $?"
check "files: standard input, hashed as read" files "$tmp/s.html" "-=$tmp/log"
cat "$tmp/log" | "$bin" report --format html -o "$tmp/p.html" - >/dev/null 2>&1 && ok || bad "a pipe: exit $?"
check "files: a pipe, hashed as read" files "$tmp/p.html" "-=$tmp/log"
gzip -c "$tmp/log" | "$bin" report --format html -o "$tmp/z.html" - >/dev/null 2>&1 && ok || bad "a compressed pipe: exit $?"
sed -n '/<table id="files">/,/<\/table>/p' "$tmp/z.html" | grep -q '<td class="n">-</td><td>standard input (compressed): not hashed</td>' && ok ||
	bad "files: compressed standard input says it is not hashed, size unknown"

# ======================================================= keys, anchors
last=$(cat "$tmp/klast")
run report --format html -o "$tmp/k.html" --key "$tmp/key" --anchor "${last% *}:${last#* }" "$tmp/klog"
[ "$rc" -eq 0 ] && ok || bad "keyed: exit $rc"
check "keyed, anchor met" title "$tmp/k.html" "Verified:" "anchors (syslog checkpoints) given 1, met 1"
run report --format html -o "$tmp/u.html" "$tmp/klog"
check "keyed log without --key" title "$tmp/u.html" "NOT VERIFIED (hashes not checked: no key)"
bad_anchor="${last% *}:$(printf '%064d' 0)"
run report --format html -o "$tmp/a.html" --key "$tmp/key" --anchor "$bad_anchor" "$tmp/klog"
[ "$rc" -eq 1 ] && ok || bad "a wrong anchor: exit $rc (want 1)"
check "a wrong anchor" title "$tmp/a.html" "NOT VERIFIED"

# ============================================================ tampered
sed '3s/"Q2"/"Q9"/' "$tmp/log" >"$tmp/tampered"
run report --format html -o "$tmp/t.html" "$tmp/tampered"
[ "$rc" -eq 1 ] && ok || bad "tampered: exit $rc (want 1)"
check "tampered: NOT VERIFIED in the title and the first break" title "$tmp/t.html" "NOT VERIFIED" "first break: $tmp/tampered:3"

# ====================================================== the long tail
run report --format html --top 1 -o "$tmp/top.html" "$tmp/log"
[ "$rc" -eq 0 ] && [ -s "$tmp/top.csv" ] && ok || bad "--top 1: exit $rc, no CSV"
check "companion CSV and its SHA-256" csv "$tmp/top.html" "$tmp/top.csv"

# ======================================= --policy and the control mapping
milter=${top_builddir:-.}/tlspolicy-milter
cat >"$tmp/pol.yaml" <<'YAML'
version: 1
profiles:
  strong:
    tls: required
    min_version: TLSv1.3
    compliance: [pci-dss-4.0.1, gdpr]
recipients:
  corp.example:
    profile: strong
  other.example:
    tls: required
    compliance: hipaa
YAML
phash=$("$milter" -c "$tmp/pol.yaml" -n | sed 's/.*sha256 //')
P13='"tls":{"version":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","bits":256,"forward_secrecy":true,"cert":"none","subject":null,"issuer":null,"verify":null,"fingerprint":null,"observed":[]}'
P12='"tls":{"version":"TLSv1.2","cipher":"ECDHE-RSA-AES128-GCM-SHA256","bits":128,"forward_secrecy":true,"cert":"none","subject":null,"issuer":null,"verify":null,"fingerprint":null,"observed":[]}'
P0='"tls":{"version":null,"cipher":null,"bits":null,"forward_secrecy":null,"cert":"none","subject":null,"issuer":null,"verify":null,"fingerprint":null,"observed":[]}'
V() { printf '{"action":"%s","would_action":"%s","decided_by":null,"flags":[],"rules":[{"rule":"%s","exempt":false,"status":"%s","action":"%s","mode":"enforce","failures":[]}]}' "$1" "$1" "$2" "$3" "$1"; }
M() { printf '{"time":"2026-11-0%sT09:00:00.000Z","host":"mx1.test","type":"message","salt":"00112233445566778899aabbccddee0%s","queue_id":"P%s","client":{"addr":"192.0.2.9","name":"c.example"},"helo":"c","sender":"<s@s.example>","mta":"postfix",%s,"recipients":[{"addr":"<x@%s>","verdict":%s,"reply":null}],"action":"%s","mode":"enforce","would_action":"%s"}\n' "$1" "$1" "$1" "$2" "$3" "$4" "$5" "$5"; }
{
	printf '{"time":"2026-11-01T00:00:00.000Z","host":"mx1.test","type":"start","format":2,"detail":"tlspolicy","policy":"%s"}\n' "$phash"
	M 1 "$P13" corp.example "$(V accept recipient:corp.example pass)" accept
	M 2 "$P12" corp.example "$(V reject recipient:corp.example fail)" reject
	M 3 "$P0" other.example "$(V reject recipient:other.example fail)" reject
	M 4 "$P13" z.example "$(V accept recipient:default pass)" accept
} | "$mklog" >"$tmp/plog" 2>/dev/null || bad "mklog (policy log)"
run report --format html -o "$tmp/p.html" --policy "$tmp/pol.yaml" "$tmp/plog"
[ "$rc" -eq 0 ] && ok || bad "--policy: exit $rc"
if python3 - "$tmp/p.html" "$phash" >"$tmp/out" 2>&1 <<'PY'; then ok; else bad "policy text and control mapping"; fi
import re, sys
h = open(sys.argv[1]).read()
def rows(tid):
    t = re.search(r'<table id="%s">(.*?)</table>' % tid, h, re.S).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", t)[1:]]
p = rows("t-policies")
assert len(p) == 1 and p[0][1] == sys.argv[2], p
assert p[0][2] == "matches: in force from 2026-11-01T00:00:00.000Z on mx1.test (start record)", p
assert rows("t-policy-rules") == [["recipient:corp.example", "pci-dss-4.0.1, gdpr"],
                                  ["recipient:other.example", "hipaa"]], rows("t-policy-rules")
fw = re.findall(r'<h3 id="fw-([^"]+)">', h)
assert fw == ["pci-dss-4.0.1", "hipaa", "gdpr"], fw
ctl = re.search(r'<section id="controls">(.*?)</section>', h, re.S).group(1)
cells = re.findall(r"<tr><td>([^<]*)</td><td>[^<]*</td><td>(.*?)</td></tr>", ctl)
d = {}
for k, v in cells:
    d.setdefault(k, v)
want = {
 "PCI DSS v4.0.1 4.2.1": "1 tagged rule judged 2 decisions: 1 (50.0%) met every requirement, 1 failed, 1 were refused (enforced), 0 evaluations were in monitor mode.",
 "HIPAA 45 CFR 164.312(e)(2)(ii)": "Of 1 decisions by the tagged rules, 0 (0.0%) were on TLS sessions and 1 without TLS.",
 "GDPR Art. 32(1)(a)": "Of 2 decisions by the tagged rules, 2 (100.0%) were on TLS sessions and 0 without TLS.",
 "PCI DSS v4.0.1 10.2.1": "5 audit records from 1 host, from 2026-11-01T00:00:00Z to 2026-11-04T09:00:00Z; 4 decisions recorded.",
}
for k, v in want.items():
    assert d.get(k) == v, (k, d.get(k))
assert "PCI DSS v4.0.1 4.2.1.1" in d and "PCI DSS v4.0.1 10.5.1" in d and "PCI DSS v4.0.1 10.3.4" in d
assert d["PCI DSS v4.0.1 10.3.2"].startswith("The records form a hash chain; this report's verification of it: verified: 5 records"), d["PCI DSS v4.0.1 10.3.2"]
assert not any(k.startswith("BSI") for k in d)
# facts, never a claim
for m in re.finditer(r"(?i)certifi(ed|cation)|\bcompliant\b|\bcomplies\b|\bconformant", h):
    ctx = h[max(0, m.start() - 40):m.end() + 10]
    assert "not a certification" in ctx or "compliance:" in ctx or "compliance tags" in ctx, ctx
PY
# past --top, the domains a rule names are still listed; the rest go to
# the CSV
run report --format html --top 1 -o "$tmp/p3.html" --policy "$tmp/pol.yaml" "$tmp/plog"
got=$(grep -o '<table id="t-rcpt">.*' "$tmp/p3.html" | head -n 1 >/dev/null; sed -n '/<table id="t-rcpt">/,/<\/table>/p' "$tmp/p3.html" | grep -o '<tr><td>[^<]*' | sed 's/<tr><td>//' | sort | tr '\n' ' ')
[ "$rc" -eq 0 ] && [ "$got" = "corp.example other.example " ] && grep -q '^recipient_domain,"z.example"' "$tmp/p3.csv" && ok ||
	bad "--top 1 with --policy: rows '$got' (want the two named domains), z.example in the CSV"
run report --format html --top 1 -o "$tmp/p4.html" "$tmp/plog"
got=$(sed -n '/<table id="t-rcpt">/,/<\/table>/p' "$tmp/p4.html" | grep -c '<tr><td>')
[ "$got" -eq 1 ] && ok || bad "--top 1 without --policy: $got rows (want 1)"
sed 's/TLSv1.3/TLSv1.2/' "$tmp/pol.yaml" >"$tmp/pol2.yaml"
run report --format html -o "$tmp/p2.html" --policy "$tmp/pol2.yaml" "$tmp/plog"
[ "$rc" -eq 0 ] && grep -q "does not match the log" "$tmp/p2.html" && grep -q 'id="controls-none"' "$tmp/p2.html" &&
	! grep -q '<h3 id="fw-' "$tmp/p2.html" && ok || bad "a policy whose hash the log does not name"
grep -q "Policy text not supplied" "$tmp/r.html" && ok || bad "without --policy: not supplied"
printf 'version: 1\nrecipients:\n  a.example:\n    compliance: [hipa]\n' >"$tmp/badpol.yaml"
expect "--policy that does not compile" 2 "$tmp/badpol.yaml:4:18:" report --format html -o "$tmp/x.html" --policy "$tmp/badpol.yaml" "$tmp/plog"
expect "--policy only for html" 2 "--policy is for --format html" report --policy "$tmp/pol.yaml" "$tmp/plog"

# Clients a rule names (client_addr networks, client_name patterns) are
# listed in the inventory past --top too.
cat >"$tmp/cpol.yaml" <<'YAML'
version: 1
recipients:
  corp.example:
    client_addr: [198.51.100.0/24, "2001:db8::/32"]
  other.example:
    client_name: [.partner.example]
YAML
chash=$("$milter" -c "$tmp/cpol.yaml" -n | sed 's/.*sha256 //')
C() { printf '{"time":"2026-11-01T1%s:00:00.000Z","host":"mx1.test","type":"message","salt":"00112233445566778899aabbccddee1%s","queue_id":"C%s","client":{"addr":"%s","name":%s},"helo":"c","sender":"<s@s.example>","mta":"postfix",%s,"recipients":[{"addr":"<x@corp.example>","verdict":%s,"reply":null}],"action":"accept","mode":"enforce","would_action":"accept"}\n' "$1" "$1" "$1" "$2" "$3" "$P13" "$(V accept recipient:corp.example pass)"; }
{
	printf '{"time":"2026-11-01T00:00:00.000Z","host":"mx1.test","type":"start","format":2,"detail":"tlspolicy","policy":"%s"}\n' "$chash"
	C 0 192.0.2.9 '"busy.example"'
	C 1 192.0.2.9 '"busy.example"'
	C 2 198.51.100.7 null
	C 3 203.0.113.5 '"quiet.example"'
	C 4 192.0.2.77 null
	C 5 192.0.2.77 '"MX1.Partner.Example"'
	C 6 192.0.2.9 '"busy.example"'
	C 7 2001:db8::25 null
} | "$mklog" >"$tmp/clog" 2>/dev/null || bad "mklog (client log)"
inventory() { sed -n '/<table id="t-inventory">/,/<\/table>/p' "$1" | grep -o '<tr><td>[^<]*' | sed 's/<tr><td>//' | sort | tr '\n' ' '; }
run report --format html --top 1 -o "$tmp/c1.html" --policy "$tmp/cpol.yaml" "$tmp/clog"
got=$(inventory "$tmp/c1.html")
[ "$rc" -eq 0 ] && [ "$got" = "192.0.2.77 192.0.2.9 198.51.100.7 2001:db8::25 " ] && ok ||
	bad "--top 1: clients a rule names listed (192.0.2.77 by the name of its second session): '$got' (want 192.0.2.77 192.0.2.9 198.51.100.7 2001:db8::25)"
# the companion CSV holds exactly the rows the HTML does not show
[ "$(grep '^client,' "$tmp/c1.csv" | cut -d, -f2 | tr '\n' ' ')" = '"203.0.113.5" ' ] &&
	grep -q '1 more, fewer decisions each and named by no rule' "$tmp/c1.html" && ok ||
	bad "the CSV: only the client the HTML leaves out ($(grep '^client,' "$tmp/c1.csv" | tr '\n' ' '))"
run report --format html --top 1 -o "$tmp/c2.html" "$tmp/clog"
got=$(inventory "$tmp/c2.html")
[ "$rc" -eq 0 ] && [ "$got" = "192.0.2.9 " ] && ok || bad "--top 1 without --policy: clients '$got' (want the busiest only)"

# ====================== size: a year of days, 1,000 named rules, <= 2 MB
python3 - >"$tmp/year.bodies" <<'PY'
import datetime
T = ['"tls":{"version":"TLSv1.3","cipher":"x","bits":256,"forward_secrecy":true,"cert":"verified","subject":null,"issuer":null,"verify":"OK","fingerprint":null,"observed":[]}',
     '"tls":{"version":"TLSv1.2","cipher":"x","bits":128,"forward_secrecy":true,"cert":"not verified","subject":null,"issuer":null,"verify":"FAIL","fingerprint":null,"observed":[]}',
     '"tls":{"version":null,"cipher":null,"bits":null,"forward_secrecy":null,"cert":"none","subject":null,"issuer":null,"verify":null,"fingerprint":null,"observed":[]}']
print('{"time":"2026-01-01T00:00:00.000Z","host":"mx1","type":"start","format":2,"policy":"%s"}' % ("a" * 64))
n = 0
for day in range(365):
    d = datetime.date(2026, 1, 1) + datetime.timedelta(days=day)
    for k in range(6):
        n += 1
        st, act = ("pass", "accept") if k < 4 else ("fail", "reject" if k == 4 else "defer")
        v = '{"action":"%s","would_action":"%s","decided_by":null,"flags":[],"rules":[{"rule":"recipient:d%d.example","exempt":false,"status":"%s","action":"%s","mode":"%s","failures":[]}]}' % (act, act, n % 1000, st, act, "monitor" if n % 7 == 0 else "enforce")
        print('{"time":"%sT%02d:00:00.000Z","host":"mx1","type":"message","salt":"%032x","queue_id":"Q%d","client":{"addr":"192.0.2.%d","name":"c"},"helo":"c","sender":"<s@s%d.example>","mta":"postfix",%s,"recipients":[{"addr":"<x@d%d.example>","verdict":%s,"reply":null}],"action":"%s","mode":"enforce","would_action":"%s"}' % (d.isoformat(), k + 8, n, n, n % 250, n, T[k % 3], n % 1000, v, act, act))
PY
"$mklog" <"$tmp/year.bodies" >"$tmp/year.log" 2>/dev/null || bad "mklog (a year)"
run report --format html -o "$tmp/year.html" "$tmp/year.log"
size=$(wc -c <"$tmp/year.html")
[ "$rc" -eq 0 ] && [ "$size" -le 2000000 ] && [ "$(grep -c '<tr><td>recipient:d' "$tmp/year.html")" -ge 1000 ] && ok ||
	bad "a year and 1,000 rules: exit $rc, $size bytes (at most 2,000,000), every rule listed"
[ -s "$tmp/year.csv" ] && [ "$(grep -c '^sender_domain,' "$tmp/year.csv")" -eq $((2190 - 100)) ] && ok ||
	bad "a year: the senders past the first 100 in the companion CSV"
[ "$(grep -c 'class="xtick"' "$tmp/year.html")" -le 36 ] && grep -q '>2026-01-01<' "$tmp/year.html" &&
	grep -q '>2026-12-31<' "$tmp/year.html" && ok || bad "a year: at most 9 day labels a chart, the first and last"

# ========================================== exceptions in force (html)
cat >"$tmp/epol.yaml" <<'YAML'
version: 1
exceptions:
  - name: fax-gw
    sender: partner.example
    waive: [min_version]
    reason: "old <fax> gateway"
    owner: alice@example.com
    expires: 2027-01-31
    ticket: CHG-1234
recipients:
  corp.example: {min_version: TLSv1.3}
YAML
ehash=$("$milter" -c "$tmp/epol.yaml" -n 2>/dev/null | sed -n '1s/.*sha256 //p')
W='{"action":"accept","would_action":"accept","decided_by":null,"flags":["waived"],"rules":[{"rule":"recipient:corp.example","exempt":false,"status":"pass","action":"accept","mode":"enforce","failures":[],"waived":[{"requirement":"min_version","status":"fail","required":"TLSv1.3","observed":"TLSv1.2","exception":"fax-gw","expires":"2027-01-31T23:59:59Z"}]}]}'
{
	printf '{"time":"2026-11-01T00:00:00.000Z","host":"mx1.test","type":"start","format":2,"detail":"tlspolicy","policy":"%s"}\n' "$ehash"
	M 1 "$P12" corp.example "$W" accept
	M 2 "$P12" corp.example "$W" accept
} | "$mklog" >"$tmp/elog" 2>/dev/null || bad "mklog (exceptions log)"
run report --format html -o "$tmp/e.html" --policy "$tmp/epol.yaml" "$tmp/elog"
if [ "$rc" -eq 0 ] && grep -q '<table id="exceptions">' "$tmp/e.html" &&
	grep -q '<tr><td>fax-gw (CHG-1234)</td><td>alice@example.com</td><td>old &lt;fax&gt; gateway</td><td>2027-01-31T23:59:59Z</td><td class="n">2</td><td class="n">2</td><td>min_version 2</td>' "$tmp/e.html"; then ok; else bad "exceptions in force, with the policy's owner and reason"; fi
run report --format html -o "$tmp/e2.html" "$tmp/elog"
grep -q '<tr><td>fax-gw</td><td>(policy text not supplied)</td>' "$tmp/e2.html" && ok ||
	bad "exceptions in force without --policy"
grep -q 'No exception of the policy waived a requirement' "$tmp/r.html" && ok ||
	bad "no exception: said so"

# =============================================================== usage
expect "html needs -o" 2 "--format html needs -o FILE" report --format html "$tmp/log"
expect "-o only for html" 2 "-o is for --format html" report -o "$tmp/x.html" "$tmp/log"
expect "unwritable" 2 "tlspolicy-audit: $tmp/no/such.html.tmp" report --format html -o "$tmp/no/such.html" "$tmp/log"
expect "bad anchor" 2 "--anchor 12: expected" report --format html -o "$tmp/x.html" --anchor 12 "$tmp/log"

echo "check-audit-html: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

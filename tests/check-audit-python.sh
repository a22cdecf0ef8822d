#!/bin/sh
# check-audit-python.sh - the independent Python verifier of the audit log
# (contrib/audit/tlspolicy-verify.py) against the test vectors, and the
# JSON Schema of a record (contrib/audit/record.schema.json).
#
# For every row of tests/audit/vectors/README the verifier must exit as
# the table says and report the break at the FILE:LINE it gives; when
# tlspolicy-audit is built, both verifiers must exit alike and name the
# same FILE:LINE for every finding, with and without --ignore-breaks. The
# worked examples in audit/FORMAT.md section 7 must verify as a chain. The
# schema must be JSON; when the python3 module jsonschema is installed,
# every record of the good vectors must validate against it and a few
# broken records must not (otherwise that part says SKIP).
#
# Exit 0 when all passed, 1 on any failure, 77 without python3. Reads
# top_srcdir like the other tests; writes only below a temporary directory.
set -u
src=$(cd "${top_srcdir:-.}" && pwd) || exit 1
vec=$src/tests/audit/vectors
verify=$src/contrib/audit/tlspolicy-verify.py
schema=$src/contrib/audit/record.schema.json
command -v python3 >/dev/null 2>&1 || {
	echo "SKIP: no python3"
	exit 77
}
tmp=$(mktemp -d /tmp/tlsp-auditpy.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf 'FAIL %s\n' "$*"
	[ -s "$tmp/out" ] && sed 's/^/    /' "$tmp/out"
}
# is WHAT COMMAND...: passes when COMMAND succeeds, else fails with WHAT.
is() {
	what=$1
	shift
	if "$@"; then ok; else bad "$what"; fi
}
trim() { printf '%s' "$1" | sed 's/^ *//; s/ *$//'; }

# run ARGS...: runs the verifier in the vectors directory; output in
# $tmp/out, exit status in $rc.
run() {
	(cd "$vec" && python3 "$verify" "$@") >"$tmp/out" 2>&1
	rc=$?
}

# ----------------------------------------------- the table of the README
rows=0
while IFS='|' read -r _ files args code where _; do
	files=$(trim "$files") args=$(trim "$args") code=$(trim "$code")
	where=$(trim "$where")
	case $code in [0-9]) ;; *) continue ;; esac
	rows=$((rows + 1))
	[ "$args" = - ] && args=
	# Word splitting of ARGS and FILES is wanted: they are lists.
	# shellcheck disable=SC2086
	run $args $files
	name="verify $args $files"
	if [ "$rc" != "$code" ]; then
		bad "$name: exit $rc, want $code"
	elif [ "$where" = ok ]; then
		is "$name: no OK line" grep -q '^OK: ' "$tmp/out"
	elif [ "$where" != - ]; then
		# The first line that is not a warning or a note is the break.
		got=$(grep -v ': warning: \|: note: ' "$tmp/out" | head -n 1)
		case $got in
		"$where: "*) ok ;;
		*) bad "$name: reported '$got', want $where" ;;
		esac
	else
		ok
	fi
done <"$vec/README"
is "README: only $rows rows read" [ "$rows" -ge 30 ]

# -------------------------------------------- what exit codes do not show
# expect NAME PATTERN ARGS...: the output of the verifier holds PATTERN.
expect() {
	name=$1 pattern=$2
	shift 2
	run "$@"
	is "$name: no '$pattern'" grep -q -- "$pattern" "$tmp/out"
}
expect "torn last line warned" \
	'^torn-last.jsonl:11: warning: torn line skipped$' torn-last.jsonl
expect "torn line before a restart warned" \
	'^torn-before-start.jsonl:6: warning: torn line skipped$' \
	torn-before-start.jsonl
expect "torn middle line is a break" \
	'^torn-middle.jsonl:6: not a record, and not where a crash' \
	torn-middle.jsonl
expect "clock step warned" '^clock-back.jsonl:4: warning: clock stepped back' \
	clock-back.jsonl
expect "unchecked start noted" '^rotate-2.jsonl:1: note: ' rotate-2.jsonl
expect "sequence gap named" 'seq-gap.jsonl:6: sequence gap' seq-gap.jsonl
expect "new chain named" 'genesis-restart.jsonl:7: new chain' \
	genesis-restart.jsonl
expect "link named" 'swapped-lines.jsonl:6: does not link' swapped-lines.jsonl
expect "change named" 'changed-byte.jsonl:4: record changed' changed-byte.jsonl
expect "tail cut named" 'anchor 10 not found' tail-cut.jsonl \
	--anchor "10:$(sed -n '10s/.*"hash":"\([0-9a-f]*\)".*/\1/p' \
		"$vec/good-unkeyed.jsonl")"
last=$(sed -n '$s/.*"hash":"\([0-9a-f]*\)".*/\1/p' "$vec/good-unkeyed.jsonl")
expect "summary" "^OK: 11 records, seq 1..11, files 1, last hash $last\$" \
	good-unkeyed.jsonl
run --anchor 5:xyz good-unkeyed.jsonl
is "a malformed anchor: exit $rc, want 2" [ "$rc" = 2 ]
(cd "$vec" && python3 "$verify" - <good-unkeyed.jsonl) >"$tmp/out" 2>&1
is "stdin" grep -q '^OK: 11 records' "$tmp/out"
(cd "$vec" && python3 "$verify" - <rotate-1.jsonl.gz) >"$tmp/out" 2>&1
is "gzip on stdin" grep -q '^OK: 6 records' "$tmp/out"
printf '\037\213garbage' >"$tmp/bad.gz"
run "$tmp/bad.gz"
is "a corrupt .gz: exit $rc, want 2" [ "$rc" = 2 ]
: >"$tmp/empty.jsonl"
run "$tmp/empty.jsonl"
is "an empty file: exit $rc, want 1" [ "$rc" = 1 ]
run --allow-empty "$tmp/empty.jsonl"
is "an empty file with --allow-empty: exit $rc, want 0" [ "$rc" = 0 ]
expect "--ignore-breaks goes on and says so" \
	'^BROKEN: 1 break, the first at torn-middle.jsonl:6; 1 line not in the chain; 11 records checked, files 1: the evidence is weakened$' \
	--ignore-breaks torn-middle.jsonl

# ------------------------------------ the C verifier says the same things
# For every row of the README, with and without --ignore-breaks, both
# verifiers exit alike and name the same FILE:LINE for every finding
# (breaks, warnings, notes), in the same order.
# (The vectors' names end in .jsonl or .jsonl.gz.)
places() {
	sed -n 's/^\([^ :]*\.jsonl[.gz]*\(:[0-9][0-9]*\)\{0,1\}\): .*/\1/p' "$1"
}
cbin=${top_builddir:-.}/tlspolicy-audit
if [ -x "$cbin" ]; then
	cbin=$(cd "$(dirname "$cbin")" && pwd)/$(basename "$cbin")
	same=0
	while IFS='|' read -r _ files args code _; do
		files=$(trim "$files") args=$(trim "$args") code=$(trim "$code")
		case $code in [0-9]) ;; *) continue ;; esac
		[ "$args" = - ] && args=
		for more in "" --ignore-breaks; do
			# shellcheck disable=SC2086
			(cd "$vec" && "$cbin" verify $more $args $files) \
				>"$tmp/c.out" 2>&1
			crc=$?
			run $more $args $files
			places "$tmp/c.out" >"$tmp/c.places"
			places "$tmp/out" >"$tmp/p.places"
			if [ "$crc" = "$rc" ] &&
				cmp -s "$tmp/c.places" "$tmp/p.places"; then
				same=$((same + 1))
			else
				bad "C and Python differ on verify $more $args" \
					"$files: exit $crc/$rc, places" \
					"$(tr '\n' ' ' <"$tmp/c.places")/" \
					"$(tr '\n' ' ' <"$tmp/p.places")"
			fi
		done
	done <"$vec/README"
	is "C and Python: only $same runs compared" [ "$same" -ge 90 ]
else
	echo "SKIP: $cbin not built: C and Python not compared"
fi

# The worked examples of FORMAT.md section 7 form a chain of two records.
sed -n '/^## 7\./,$p' "$src/audit/FORMAT.md" |
	sed -n 's/^    \({"seq":.*"hash":"[0-9a-f]*"}\)$/\1/p' >"$tmp/examples.jsonl"
run "$tmp/examples.jsonl"
if [ "$rc" = 0 ] && grep -q '^OK: 2 records' "$tmp/out" &&
	! grep -q warning "$tmp/out"; then
	ok
else
	bad "the examples of FORMAT.md section 7 do not verify"
fi

# The canonical bytes of corner cases no record of the vectors has (the
# same cases as test_chain.c's table).
if python3 -B - "$verify" >"$tmp/out" 2>&1 <<'EOF'
import hashlib, importlib.util, sys
spec = importlib.util.spec_from_file_location("verify", sys.argv[1])
v = importlib.util.module_from_spec(spec)
spec.loader.exec_module(v)
def d(salt, key, value):
    return hashlib.sha256(b"%s\0%s\0%s" % (salt, key, value)).hexdigest()
cases = [
    (b'{"x":{"salt":"ab"},"sender":"v"}',
     b'{"x":{"salt":"ab"},"sender":{"sha256":"%s"}}' % d(b"", b"sender",
                                                       b"v").encode()),
    (b'{"sende\\u0072":"x"}', b'{"sende\\u0072":"x"}'),
    (b'{"sender":{"sha256":"%s"}}' % (b"0" * 64,),
     b'{"sender":{"sha256":"%s"}}' % (b"0" * 64,)),
    (b'{"addr":"a\\\\","name":null,"salt":"s"}',
     b'{"addr":{"sha256":"%s"},"name":null,"salt":"s"}'
     % d(b"s", b"addr", b"a\\\\").encode()),
    (b'{"detail":"sender","x":["name"]}', b'{"detail":"sender","x":["name"]}'),
]
for line, want in cases:
    got = v.canonical(line)
    if got != want:
        sys.exit("canonical(%r) = %r, want %r" % (line, got, want))
try:
    v.canonical(b'{"sender":"abc')
    sys.exit("an unterminated string was canonicalised")
except v.NotARecord:
    pass
EOF
then
	ok
else
	bad "canonical bytes of corner cases"
fi

# ------------------------------------------------------------ the schema
if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$schema" \
	>"$tmp/out" 2>&1; then
	ok
else
	bad "$schema is not JSON"
fi
if python3 -c 'import jsonschema' 2>/dev/null; then
	if python3 - "$schema" "$vec" "$tmp/examples.jsonl" >"$tmp/out" 2>&1 <<'EOF'
import glob, json, os, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
check = jsonschema.Draft202012Validator(schema)
good = ["good-unkeyed", "good-keyed", "redacted", "rotate-1", "rotate-2",
        "clock-back", "torn-last", "torn-before-start", "torn-eof-1",
        "torn-eof-2", "escaping-v2", "escaping-v1"]
n = 0
paths = [os.path.join(sys.argv[2], name + ".jsonl") for name in good]
for path in paths + [sys.argv[3]]:
    for number, line in enumerate(open(path, "rb"), 1):
        if not line.endswith(b"\n") or not line.startswith(b'{"seq":'):
            continue  # a torn line
        try:
            rec = json.loads(line.decode("utf-8", "surrogateescape"))
        except ValueError:
            continue  # a torn line that ends in LF
        for e in check.iter_errors(rec):
            sys.exit("%s:%d: %s" % (path, number, e.message))
        n += 1
# Broken records must not validate.
rec = json.loads(open(os.path.join(sys.argv[2], "good-unkeyed.jsonl"),
                      "rb").readlines()[3])
for what, change in [
        ("an unknown action", lambda r: r.update(action="tempfail")),
        ("no salt", lambda r: r.pop("salt")),
        ("a bad digest", lambda r: r.update(sender={"sha256": "ab"})),
        ("an unknown member", lambda r: r.update(extra=1)),
        ("an uppercase hash", lambda r: r.update(hash=r["hash"].upper())),
        ("no mode", lambda r: r.pop("mode")),
        ("an unknown cert state",
         lambda r: r["tls"].update(cert="trusted"))]:
    broken = json.loads(json.dumps(rec))
    change(broken)
    if check.is_valid(broken):
        sys.exit("a record with %s validates" % what)
print("%d records valid" % n)
EOF
	then
		ok
		echo "schema: $(cat "$tmp/out")"
	else
		bad "schema validation"
	fi
else
	echo "SKIP: python3 module jsonschema not installed: records not" \
		"validated against the schema"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

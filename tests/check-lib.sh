# check-lib.sh - the helpers the tlspolicy-audit check scripts share,
# sourced after they set $bin (the program run), $tmp (a scratch
# directory) and pass=0 fail=0. Not a test itself.

ok() { pass=$((pass + 1)); }

bad() {
	fail=$((fail + 1))
	printf 'FAIL %s\n' "$*"
	[ -s "$tmp/out" ] && head -n 20 "$tmp/out" | sed 's/^/    /'
}

# run ARGS...: the tool; standard output in $tmp/stdout, both streams
# in $tmp/out, the status in $rc.
run() {
	"$bin" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
	rc=$?
	cat "$tmp/stdout" "$tmp/stderr" >"$tmp/out"
}

# expect NAME WANT_RC PATTERN ARGS...: runs the tool; the status must be
# WANT_RC and the output hold PATTERN (a fixed string; "" for any).
expect() {
	name=$1 want=$2 pattern=$3
	shift 3
	run "$@"
	if [ "$rc" -eq "$want" ] && grep -qF -- "$pattern" "$tmp/out"; then
		ok
	else
		bad "$name: exit $rc (want $want), wanted '$pattern' in:"
	fi
}

# lacks NAME PATTERN: the last output must not hold PATTERN.
lacks() {
	if grep -qF -- "$2" "$tmp/out"; then
		bad "$1: '$2' should not be there"
	else
		ok
	fi
}

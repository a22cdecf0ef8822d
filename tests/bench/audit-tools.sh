#!/bin/bash
# audit-tools.sh - tlspolicy-audit report against verify on the same log,
# A/B in the same run: report checks the chain as it counts (the same
# follower as verify), and must stay within 1.2x of verify's time.
#
#   tests/bench/audit-tools.sh [RECORDS [ROUNDS]]     (from a build dir)
#
# Writes RECORDS synthetic records (tests/audit/mklog -n, default
# 200000, about 1.3 kB each) to BENCH_DIR (default /var/tmp), reads the
# file once to put it in the page cache, then runs, ROUNDS times
# (default 5) in alternation, verify, report, report --format json and
# show --type stop, each bounded by `timeout 300`. Prints every CPU time
# (wall time in parentheses), the medians in MB/s of CPU time and the
# ratio of each to verify (per round and the median of the per-round
# ratios). Run it under the heavy-work lock:
#   flock /tmp/tlsp-heavy.lock tests/bench/audit-tools.sh
set -u
n=${1:-200000} rounds=${2:-5}
build=$(pwd)
tool=$build/tlspolicy-audit mklog=$build/tests/audit/mklog
for b in "$tool" "$mklog"; do
	[ -x "$b" ] || {
		echo "audit-tools: $b not built (run from a build directory" \
			"after make check)" >&2
		exit 2
	}
done
dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/tlsp-bench-tools.XXXXXX") || exit 2
trap 'rm -rf "$dir"' EXIT
log=$dir/audit.log
"$mklog" -n "$n" >"$log" || exit 2
mb=$(awk -v b="$(wc -c <"$log")" 'BEGIN { printf "%.1f", b / 1e6 }')
cat "$log" >/dev/null

# timed CMD...: the CPU time (user + system) of one run in $t (seconds),
# its wall time in $w, its status in $st. CPU time, because the machine
# is shared: waiting for a core is not the tool's cost.
timed() {
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$dir/time" timeout 300 "$@" >/dev/null 2>&1
	st=$?
	t1=$(date +%s%N)
	t=$(awk '{ printf "%.3f", $1 + $2 }' "$dir/time")
	w=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

names=(verify report report-json show)
# BASELINE=PATH: another tlspolicy-audit (say, of the commit before) whose
# verify and report run in the same rounds, as base-verify, base-report.
base=${BASELINE:-}
[ -n "$base" ] && names+=(base-verify base-report)
declare -A times ratios
echo "log: $n records, $mb MB, $rounds rounds; $(nproc) cores; $(date -u +%FT%TZ)"
for ((r = 1; r <= rounds; r++)); do
	line="round $r:"
	for name in "${names[@]}"; do
		case $name in
		verify) timed "$tool" verify -q "$log" ;;
		report) timed "$tool" report "$log" ;;
		report-json) timed "$tool" report --format json "$log" ;;
		show) timed "$tool" show --type stop "$log" ;;
		base-verify) timed "$base" verify -q "$log" ;;
		base-report) timed "$base" report "$log" ;;
		esac
		[ "$st" = 0 ] || {
			echo "audit-tools: $name exited $st" >&2
			exit 1
		}
		times[$name]="${times[$name]:-} $t"
		[ "$name" = verify ] && v=$t
		ratios[$name]="${ratios[$name]:-} $(awk -v a="$t" -v b="$v" 'BEGIN { printf "%.3f", a / b }')"
		line="$line $name $t s ($w)"
	done
	echo "$line"
done
printf '%-12s %8s %8s %14s\n' command "CPU s" "MB/s" "x verify"
for name in "${names[@]}"; do
	m=$(printf '%s\n' ${times[$name]} | median)
	q=$(printf '%s\n' ${ratios[$name]} | median)
	printf '%-12s %8s %8.0f %14s\n' "$name" "$m" \
		"$(awk -v s="$m" -v b="$mb" 'BEGIN { print b / s }')" "$q"
done

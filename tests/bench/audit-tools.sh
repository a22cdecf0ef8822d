#!/bin/bash
# audit-tools.sh - tlspolicy-audit's commands against verify on the same
# log, in the same rounds: every command checks the chain as it reads
# (the same follower as verify). report must stay within 1.2x of
# verify's time; replay (with a 10,000-rule draft) at >= 0.6x verify's
# speed (<= 1.67x its time), inventory and suggest at >= 0.8x (<= 1.25x).
#
#   tests/bench/audit-tools.sh [RECORDS [ROUNDS]]     (from a build dir)
#
# Writes RECORDS synthetic records (tests/audit/mklog -n, default
# 200000, about 1.3 kB each; keyed, read with --key, verify and the
# reports also with --anchor) to BENCH_DIR (default /var/tmp), reads the
# file once to put it in the page cache, then runs, ROUNDS times
# (default 5) in alternation, verify, report, report --format json,
# report --format html (within 1.2x of report's time: its own line) and
# show --type stop, replay --policy (10,000 recipient rules requiring
# TLSv1.3), inventory and suggest, each bounded by `timeout 300`. Prints
# every CPU time (wall time in parentheses), the medians in MB/s of CPU
# time and the ratio of each to verify (per round and the median of the
# per-round ratios). Then, on a second log of the same size whose
# senders are spread over SENDERS domains (default 100000; 0 skips it),
# the peak RSS of verify, inventory, suggest and replay: memory grows
# with distinct domains and clients, not with records. Run it under the
# heavy-work lock:
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
log=$dir/audit.log draft=$dir/draft.yaml
# Keyed, as the daemon writes it by default: every command reads it with
# --key, and verify and both reports also with --anchor (the last seq and
# hash), as an officer runs them.
head -c 32 /dev/urandom >"$dir/key"
"$mklog" -n "$n" -k "$dir/key" >"$log" 2>"$dir/last" || exit 2
last=$(cat "$dir/last")
key=(--key "$dir/key")
anchor=(--anchor "${last% *}:${last#* }")
awk 'BEGIN { print "version: 1"; print "recipients:"
	for (i = 0; i < 10000; i++)
		printf "  d%d.example: {min_version: TLSv1.3, action: reject}\n", i }' >"$draft"
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

names=(verify report report-json report-html show replay inventory suggest)
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
		verify) timed "$tool" verify -q "${key[@]}" "${anchor[@]}" "$log" ;;
		report) timed "$tool" report "${key[@]}" "${anchor[@]}" "$log" ;;
		report-json) timed "$tool" report --format json "${key[@]}" "$log" ;;
		report-html) timed "$tool" report --format html -o "$dir/r.html" \
			"${key[@]}" "${anchor[@]}" "$log" ;;
		show) timed "$tool" show --type stop "${key[@]}" "$log" ;;
		replay) timed "$tool" replay --policy "$draft" "${key[@]}" "$log" ;;
		inventory) timed "$tool" inventory "${key[@]}" "$log" ;;
		suggest) timed "$tool" suggest "${key[@]}" "$log" ;;
		base-verify) timed "$base" verify -q "${key[@]}" "${anchor[@]}" "$log" ;;
		base-report) timed "$base" report "${key[@]}" "${anchor[@]}" "$log" ;;
		esac
		[ "$st" = 0 ] || {
			echo "audit-tools: $name exited $st" >&2
			exit 1
		}
		times[$name]="${times[$name]:-} $t"
		[ "$name" = verify ] && v=$t
		[ "$name" = report ] && rt=$t
		[ "$name" = report-html ] &&
			html_ratios="${html_ratios:-} $(awk -v a="$t" -v b="$rt" 'BEGIN { printf "%.3f", a / b }')"
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
printf 'report-html / report (CPU time, median of the rounds): %s (target <= 1.2)\n' \
	"$(printf '%s\n' $html_ratios | median)"

# Memory: peak RSS on a log whose senders come from many domains.
senders=${SENDERS:-100000}
[ "$senders" -gt 0 ] || exit 0
rm -f "$log"
"$mklog" -n "$n" -D "$senders" >"$log" 2>/dev/null || exit 2
distinct=$("$tool" inventory --format json "$log" 2>/dev/null |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["senders_total"])')
echo "memory: $n records from $distinct distinct sender domains"
printf '%-12s %12s\n' command "peak RSS MB"
for name in verify report report-html inventory suggest replay; do
	case $name in
	verify) set -- verify -q "$log" ;;
	report) set -- report "$log" ;;
	report-html) set -- report --format html -o "$dir/r.html" "$log" ;;
	replay) set -- replay --policy "$draft" "$log" ;;
	*) set -- "$name" "$log" ;;
	esac
	/usr/bin/time -f '%M' -o "$dir/rss" timeout 300 "$tool" "$@" \
		>/dev/null 2>&1
	printf '%-12s %12.1f\n' "$name" "$(awk '{ print $1 / 1024 }' "$dir/rss")"
done

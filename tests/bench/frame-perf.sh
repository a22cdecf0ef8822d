#!/usr/bin/env bash
# tests/bench/frame-perf.sh - the packet guard's share of the daemon's CPU
# (milter/frame.c), read from a profile rather than from throughput.
#
# The frame section of run.sh compares tx/s and CPU per transaction with
# the guard on and off, but on a shared 2-core VM its A/A spread is wider
# than the guard's cost. Here the daemon runs mtbench's load (10,000
# rules, sync: batch, the make bench shape) at c=1 and c=8 for SECS
# seconds under perf record (cpu-clock, 4999 Hz), and the guard's
# functions are counted among the daemon's own samples: read(), close()
# and __read_chk() of the executable (follow() and scan() are inlined
# into read(); MILTER=tests/bench/tlspolicy-milter-noguard has none).
# Needs perf. Run it under the benchmark lock:
#
#   flock /tmp/tlsp-heavy.lock tests/bench/frame-perf.sh
set -u
build=${top_builddir:-$(pwd)}
milter=${MILTER:-$build/tlspolicy-milter}
mtbench=$build/tests/milter/mtbench
secs=${SECS:-10}
command -v perf >/dev/null || { echo "frame-perf: no perf" >&2; exit 77; }
for b in "$milter" "$mtbench"; do
	[ -x "$b" ] || { echo "frame-perf: $b is not built" >&2; exit 1; }
done
w=$(mktemp -d /tmp/tlsp-frame-perf.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT
"$mtbench" -P 10000 >"$w/p.yaml"
printf 'milter: {strip_forged_headers: never}\naudit: {file: %s/a.log, sync: batch}\n' \
	"$w" >>"$w/p.yaml"
echo "frame-perf: $milter, $(date -u +%Y-%m-%dT%H:%MZ), ${secs}s per concurrency"
for c in 1 8; do
	setsid "$milter" --run-as-root -f -c "$w/p.yaml" -p "unix:$w/m.sock" \
		>"$w/m.log" 2>&1 </dev/null &
	pid=$!
	for _ in $(seq 1 200); do
		[ -S "$w/m.sock" ] && break
		sleep 0.05
	done
	perf record -q -F 4999 -e cpu-clock -p "$pid" -o "$w/perf.data" \
		-- sleep "$secs" >/dev/null 2>&1 &
	rec=$!
	line=$("$mtbench" -s "unix:$w/m.sock" -c "$c" -t "$secs" -k 5 -r 2 -H 20 \
		-b 10000 -D 10000 -n 10000000 -e | head -1)
	wait "$rec"
	kill "$pid"
	wait "$pid" 2>/dev/null
	pid=
	rm -f "$w/m.sock" "$w/a.log"
	perf report -i "$w/perf.data" --no-children --sort dso,symbol --stdio \
		2>/dev/null >"$w/report"
	awk -v c="$c" -v line="$line" '
		/^# Samples/ { samples = $3 }
		$2 ~ /tlspolicy-milter/ && $4 ~ /^(read|close|__read_chk)$/ {
			s += $1; what = what " " $4 "=" $1 }
		END { split(line, f, " ");
		      printf "c=%s %s %s samples=%s guard=%.2f%% (%s )\n", c, f[1], f[5],
			  samples, s, what }' "$w/report"
done

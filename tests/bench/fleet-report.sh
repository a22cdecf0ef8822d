#!/bin/sh
# fleet-report.sh SEQ_TOOL PAR_TOOL [RECORDS] [ROUNDS] - a two-host
# fleet's `report --format html`, by two builds of tlspolicy-audit (e.g.
# one that reads the hosts one after the other, one that reads each on a
# thread of its own), rounds interleaved.
#
# Writes two keyed logs of RECORDS synthetic records each (default
# 185,000, about 250 MB; tests/audit/mklog -n -H, other seeds) under
# /var/tmp, reads them once to warm the page cache, then runs each tool
# ROUNDS times (default 3) with --key and --anchor per host, and prints
# each round's wall time, CPU time (user + system, all threads) and peak
# RSS, then the medians. The two HTML files (and companion CSVs) must be
# the same but for the time they were made. Run from a build directory (MKLOG overrides
# ./tests/audit/mklog); the logs are deleted at the end. Others
# benchmark on the same machine: hold the heavy-work lock, e.g.
#
#	flock /tmp/tlsp-heavy.lock ../../tests/bench/fleet-report.sh \
#		/var/tmp/seq/tlspolicy-audit ./tlspolicy-audit
set -eu
seq=$1 par=$2 n=${3:-185000} rounds=${4:-3}
mklog=${MKLOG:-./tests/audit/mklog}
dir=$(mktemp -d /var/tmp/tlsp-fleet-bench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT

args=
for h in 1 2; do
	head -c 16 /dev/urandom >"$dir/mx$h.key"
	"$mklog" -n "$n" -S "$h" -H "mx$h.example.net" -k "$dir/mx$h.key" \
		>"$dir/mx$h.log" 2>"$dir/mx$h.last"
	l=$(cat "$dir/mx$h.last")
	args="$args --host mx$h.example.net --key $dir/mx$h.key"
	args="$args --anchor ${l% *}:${l#* } $dir/mx$h.log"
done
ls -l "$dir"/mx*.log | awk '{ printf "%s %.1f MB\n", $NF, $5 / 1e6 }'
cat "$dir"/mx*.log >/dev/null

mkdir "$dir/seq" "$dir/par"
echo "round tool wall_s cpu_s rss_mb"
r=1
while [ "$r" -le "$rounds" ]; do
	for v in seq par; do
		eval "tool=\$$v"
		/usr/bin/time -f "%e %U %S %M" -o "$dir/time" \
			"$tool" report --format html -o "$dir/$v/r.html" $args \
			>/dev/null
		read -r wall user sys rss <"$dir/time"
		cpu=$(echo "$user + $sys" | bc)
		echo "$r $v $wall $cpu $((rss / 1024))" | tee -a "$dir/rows"
	done
	r=$((r + 1))
done
for v in seq par; do
	sed 's/ at 20[0-9T:-]*Z</ at -</' "$dir/$v/r.html" >"$dir/$v.cmp"
done
cmp -s "$dir/seq.cmp" "$dir/par.cmp" && cmp -s "$dir/seq/r.csv" "$dir/par/r.csv" &&
	echo "html and csv: the same" || echo "html or csv: DIFFERENT"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for v in seq par; do
	w=$(awk -v t="$v" '$2 == t { print $3 }' "$dir/rows" | median)
	c=$(awk -v t="$v" '$2 == t { print $4 }' "$dir/rows" | median)
	echo "median $v: wall $w s, cpu $c s"
done

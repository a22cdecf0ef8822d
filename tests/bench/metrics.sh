# tests/bench/metrics.sh - the "metrics" section of tests/bench/run.sh,
# sourced by it (it uses run.sh's policy, run, med, say, kv, $work,
# $rounds, $milter, $mtbench, $shape): what milter.metrics_file costs.
#
# 1. The milter's CPU per transaction (user + system of all its threads,
#    from /proc/PID/stat, as run.sh's run records it): the daemon with
#    metrics on (the file written every second, the worst case, partner
#    alerts tracking every sender) and off, 10,000 rules, sync: batch, at
#    c=1 and c=8, in interleaved rounds (off on off2), so each round's
#    difference on - off is paired; off2 - off is the A/A control (what
#    the machine's noise alone does). The target: on - off <= 1 us.
# 2. Instructions per transaction under callgrind, c=1: each daemon
#    serves BENCH_CG_TX1 and then BENCH_CG_TX2 transactions in two fresh
#    runs; the difference of their instruction counts over the
#    difference of transactions cancels the start-up (the policy's
#    compile). The target: on within 1% of off. Here the file is written
#    only at start and stop (metrics_interval: 3600): under callgrind a
#    transaction takes ~50 times as long, so a write per second would
#    be charged to 50 times fewer transactions than in production. What
#    one write costs is measured apart (the daemon with a 1 s interval:
#    write_file's instructions per call), to be spread over the
#    transactions of an interval.

metrics_settings="metrics_file: $work/prom/tlspolicy.prom, metrics_interval: 1"
mkdir -p "$work/prom"
policy "$work/metrics-off.yaml" 10000 batch never
policy "$work/metrics-off2.yaml" 10000 batch never
policy "$work/metrics-on.yaml" 10000 batch never "$metrics_settings"
policy "$work/metrics-on-cg.yaml" 10000 batch never \
	"metrics_file: $work/prom/tlspolicy.prom, metrics_interval: 3600"

# BENCH_METRICS_PARTS: "cpu callgrind" (both, the default), or one
metrics_parts=${BENCH_METRICS_PARTS:-"cpu callgrind"}
case " $metrics_parts " in *" cpu "*)
for r in $(seq 1 "$rounds"); do
	for c in 1 8; do
		for m in metrics-off metrics-on metrics-off2; do
			run metrics "$r" "$c" "$m"
		done
	done
done

# metrics_diff CONC A B: per-round differences of cpu_us, A - B, in us:
# "min median max".
metrics_diff() {
	awk -F'\t' -v c="$1" -v a="$2" -v b="$3" '
		$1 == "metrics" && $3 == c && ($4 == a || $4 == b) {
			match($5, /cpu_us=[0-9.]+/); v = substr($5, RSTART + 7, RLENGTH - 7)
			if ($4 == a) x[$2] = v; else y[$2] = v
		}
		END { for (r in x) if (r in y) print x[r] - y[r] }' "$runs" |
		sort -g | awk '{a[NR]=$1} END {if (NR) printf "%+.1f %+.1f %+.1f", a[1], a[int((NR+1)/2)], a[NR]; else print "- - -"}'
}

say ""
say "== metrics: milter.metrics_file on (written every 1 s) vs off, 10,000 rules,"
say "   sync: batch, medians of $rounds x ${secs}s; CPU per transaction (us, all"
say "   threads, /proc/PID/stat); per-round differences (min med max)"
say "conc daemon         tx/s  cpu/tx us | on - off (paired)    | A/A: off2 - off"
for c in 1 8; do
	for m in metrics-off metrics-on metrics-off2; do
		say "$(printf '%-4s %-12s %7.0f %9.1f' "$c" "$m" \
			"$(med metrics "$c" "$m" tps)" "$(med metrics "$c" "$m" cpu_us)")"
	done
	say "$(printf '%-4s %-30s | %-20s | %s' "$c" "differences" \
		"$(metrics_diff "$c" metrics-on metrics-off)" \
		"$(metrics_diff "$c" metrics-off2 metrics-off)")"
done
;;
esac

# metrics_cg NAME TX: instructions (Ir) of the daemon NAME serving TX
# transactions on one connection under callgrind, start to stop.
metrics_cg() {
	local name=$1 tx=$2 sock=$work/cg.sock cgout=$work/cg.$1.$2.out i
	rm -f "$sock" "$cgout" "$audit_dir"/*
	setsid valgrind --tool=callgrind --callgrind-out-file="$cgout" \
		"$milter" --run-as-root -f -c "$work/$name.yaml" -p "unix:$sock" \
		>"$work/cg.$name.log" 2>&1 </dev/null &
	pid=$!
	for i in $(seq 1 1200); do
		[ -S "$sock" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	"$mtbench" -s "unix:$sock" -c 1 -n "$tx" -t 600 -k 5 -r 2 -H 20 \
		-b 10000 -D 10000 -e >"$work/cg.mtbench" 2>&1
	[ "$(kv tx "$(head -1 "$work/cg.mtbench")")" = "$tx" ] ||
		echo "bench: metrics callgrind $name: $(head -1 "$work/cg.mtbench")" >&2
	kill "$pid" 2>/dev/null
	for i in $(seq 1 600); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	cp "$cgout" "$out/" 2>/dev/null
	sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$cgout" 2>/dev/null | head -1
}

if [[ " $metrics_parts " != *" callgrind "* ]]; then
	:
elif command -v valgrind >/dev/null 2>&1; then
	cg1=${BENCH_CG_TX1:-200} cg2=${BENCH_CG_TX2:-1200}
	[ "$quick" = 1 ] && cg1=${BENCH_CG_TX1:-100} cg2=${BENCH_CG_TX2:-400}
	say ""
	say "== metrics: callgrind instructions per transaction, c=1, ($cg2 - $cg1) transactions"
	declare -A metrics_ir
	for m in metrics-off metrics-on-cg; do
		a=$(metrics_cg "$m" "$cg1") b=$(metrics_cg "$m" "$cg2")
		metrics_ir[$m]=$(awk -v a="$a" -v b="$b" -v n=$((cg2 - cg1)) \
			'BEGIN {if (a > 0 && b > a) printf "%.0f", (b - a) / n; else print 0}')
		say "$(printf '%-12s Ir %s (%s tx) %s (%s tx): %s per transaction' \
			"$m" "${a:-?}" "$cg1" "${b:-?}" "$cg2" "${metrics_ir[$m]}")"
	done
	say "$(awk -v on="${metrics_ir[metrics-on-cg]}" -v off="${metrics_ir[metrics-off]}" \
		'BEGIN {if (off > 0) printf "on/off: %.4f (%+.0f instructions per transaction)", on / off, on - off; else print "on/off: -"}')"
	# one write of the file: write_file's inclusive cost per call, from
	# the daemon writing every second
	metrics_cg metrics-on "$cg2" >/dev/null
	if command -v callgrind_annotate >/dev/null 2>&1; then
		w=$(callgrind_annotate --inclusive=yes "$work/cg.metrics-on.$cg2.out" 2>/dev/null |
			awk '/[ :]write_file / {gsub(",", "", $1); print $1; exit}')
		n=$(awk '/^c?fn=\([0-9]+\) write_file$/ {match($0, /\([0-9]+\)/); id = substr($0, RSTART, RLENGTH)}
			/^cfn=/ {match($0, /\([0-9]+\)/); c = (id != "" && substr($0, RSTART, RLENGTH) == id)}
			/^calls=/ {if (c) {split($1, a, "="); n += a[2]}; c = 0}
			END {print n + 0}' "$work/cg.metrics-on.$cg2.out")
		say "$(awk -v w="${w:-0}" -v n="${n:-0}" 'BEGIN {if (n > 0) printf "one write of the file: %.0f instructions (%d writes)", w / n, n; else print "one write of the file: -"}')"
	fi
else
	say "== metrics: callgrind skipped (no valgrind)"
fi

# tests/bench/callgrind.sh - instructions per transaction (sourced by
# tests/bench/run.sh: BENCH_ONLY=callgrind make bench).
#
# Each milter of BENCH_CALLGRIND (any name run.sh's start() knows) runs
# twice under callgrind at concurrency 1 with the load of the other
# sections, once for BENCH_CG_TX1 and once for BENCH_CG_TX2 transactions;
# the difference of the two instruction counts over the difference of
# transactions is its user-space instructions per transaction, without
# start-up, policy compile and stop. Kernel time is not counted: the
# audit section's sys_us column has it. The second run's profile is
# kept as $out/callgrind.out.NAME (callgrind_annotate --inclusive=yes
# reads it), its top symbols by self cost in $out/callgrind.NAME.txt. Bounded: each run waits at most 600 s for its transactions
# and 120 s for the milter to stop.

cg_tx1=${BENCH_CG_TX1:-300} cg_tx2=${BENCH_CG_TX2:-1500}
cg_list=${BENCH_CALLGRIND:-"lean naive aud-off aud-full"}

# cg_run NAME TX: one run under callgrind; prints "instructions transactions".
cg_run() {
	local name=$1 n=$2 f=$work/callgrind.$1.$2 line i
	wrap=(valgrind -q --tool=callgrind --callgrind-out-file="$f")
	start "$name" "unix:$work/m.sock"
	wrap=()
	line=$("$mtbench" -s "unix:$work/m.sock" -c 1 -t 600 "${shape[@]}" -n "$n" \
		2>"$work/mtbench.err" | head -1)
	# callgrind writes its counts when the milter exits: wait for it
	kill "$pid" 2>/dev/null
	for i in $(seq 1 1200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	if [ "$(kv errors "$line")" != 0 ] || [ ! -s "$f" ]; then
		echo "bench: callgrind $name: ${line:-no result}" >&2
		head -5 "$work/mtbench.err" "$work/$name.log" >&2
		fails=$((fails + 1))
		echo "0 0"
		return
	fi
	echo "$(awk '$1 == "totals:" || $1 == "summary:" {print $2; exit}' "$f") $(kv tx "$line")"
}

say ""
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	say "== callgrind: skipped (needs valgrind)"
else
	[ -s "$work/audit.key" ] || head -c 32 /dev/urandom >"$work/audit.key"
	aud_policy aud-off no none
	aud_policy aud-full yes ""
	say "== callgrind: user-space instructions per transaction, c=1, runs of $cg_tx2 minus $cg_tx1 transactions"
	say "milter       Ir/tx   (top symbols by self cost: $out/callgrind.NAME.txt)"
	for m in $cg_list; do
		read -r i1 t1 <<<"$(cg_run "$m" "$cg_tx1")"
		read -r i2 t2 <<<"$(cg_run "$m" "$cg_tx2")"
		say "$(printf '%-10s %9s' "$m" "$(awk -v a="$i1" -v b="$i2" -v x="$t1" -v y="$t2" \
			'BEGIN {printf "%.0f", (y > x ? (b - a) / (y - x) : 0)}')")"
		if [ -s "$work/callgrind.$m.$cg_tx2" ]; then
			cp "$work/callgrind.$m.$cg_tx2" "$out/callgrind.out.$m"
			callgrind_annotate "$out/callgrind.out.$m" 2>/dev/null >"$out/callgrind.$m.txt"
		fi
	done
fi

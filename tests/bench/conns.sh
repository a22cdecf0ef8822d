# shellcheck shell=bash
# tests/bench/conns.sh - sourced by run.sh (section "conns"): 1,000
# connections opened at once and held (negotiated, CONNECT, HELO), the
# milter's RSS and thread count read from /proc while they are all open,
# then transactions on all of them; no connection may fail.

nconns=${BENCH_CONNS:-1000}
status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status" 2>/dev/null; }
say ""
say "== conns: $nconns concurrent open connections (held ${secs}s, then ${secs}s of transactions)"
say "milter  idle RSS KiB  open RSS KiB  KiB/conn  threads idle/open  tx/s   p99 us   max us  errors"
for m in lean ours naive; do
	start "$m" "unix:$work/m.sock"
	sleep 0.2
	rss0=$(status VmRSS) thr0=$(status Threads)
	rm -f "$work/ready"
	expect=()
	[ "$m" = ours ] && expect=(-e)
	"$mtbench" "${expect[@]}" -s "unix:$work/m.sock" -c "$nconns" -k 0 -t "$secs" -W "$secs" \
		-F "$work/ready" -T 30000 -r 2 -H 20 -b 10000 -D 10000 -n 10000000 \
		>"$work/conns.out" 2>"$work/conns.err" &
	loadpid=$!
	for _ in $(seq 1 2400); do [ -s "$work/ready" ] && break; sleep 0.05; done
	sleep 0.5
	rss1=$(status VmRSS) thr1=$(status Threads) opened=$(cat "$work/ready" 2>/dev/null)
	wait "$loadpid"
	loadpid=
	stop
	line=$(head -1 "$work/conns.out")
	printf 'conns\t1\t%s\t%s\t%s\n' "$nconns" "$m" "$line" >>"$runs"
	if [ "${opened:-0}" != "$nconns" ] || [ "$(kv errors "$line")" != 0 ]; then
		echo "bench: conns $m: opened ${opened:-?} of $nconns; $line" >&2
		grep -v "^mtbench: [0-9]* connections set up" "$work/conns.err" | head -5 >&2
		fails=$((fails + 1))
	fi
	say "$(printf '%-7s %12s %13s %9.1f  %7s/%-7s %9.0f %8.0f %8.0f  %s' "$m" "$rss0" "$rss1" \
		"$(awk -v a="$rss0" -v b="$rss1" -v n="$nconns" 'BEGIN {print (b - a) / n}')" \
		"$thr0" "$thr1" "$(kv tps "$line")" "$(kv p99_us "$line")" "$(kv max_us "$line")" \
		"$(kv errors "$line")")"
done

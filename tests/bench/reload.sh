# shellcheck shell=bash
# tests/bench/reload.sh - sourced by run.sh (section "reload"): reloads of
# a 100,000-rule policy (SIGUSR1, one after the other: tests/bench/reloader
# waits for the daemon's "reloaded policy" line) while 64 connections
# send mail, against the same daemon's steady state just before. Sessions are short (-k 5),
# so connections keep pinning new policies and dropping old ones. Every
# reply is checked against the policy (-e): a failed or tempfailed
# transaction the policy did not ask for counts as unexpected.

rl_rounds=$(( rounds < 3 ? rounds : 3 ))
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null; }
say ""
say "== reload: $reloads reloads of a 100,000-rule policy (SIGUSR1) under 64 connections, $rl_rounds rounds"
say "round  steady: tx/s  p99    max   | reloading: tx/s  p99    max    errors unexpected | p99 ratio  reload_s  RSS before/after KiB"
for r in $(seq 1 "$rl_rounds"); do
	start ours-100k "unix:$work/m.sock"
	steady=$("$mtbench" -s "unix:$work/m.sock" -c 64 -t "$secs" "${shape[@]}" -e 2>"$work/mtbench.err" | head -1)
	printf 'reload\t%s\t64\tsteady\t%s\n' "$r" "$steady" >>"$runs"
	rss0=$(rss)
	"$mtbench" -s "unix:$work/m.sock" -c 64 -t 900 "${shape[@]}" -e >"$work/rl.out" 2>"$work/rl.err" &
	loadpid=$!
	sleep 0.5
	# A C loop, not grep and sleep: a shell loop that forks 60 times a
	# second raised the milter's p99 as much as the reloads themselves.
	rl=$("$reloader" "$pid" "$work/ours-100k.log" "$reloads" 2>>"$work/rl.err")
	ok=$?
	kill -INT "$loadpid"
	wait "$loadpid"
	loadpid=
	rss1=$(rss)
	line=$(head -1 "$work/rl.out")
	printf 'reload\t%s\t64\treloading\t%s\n' "$r" "$line" >>"$runs"
	stop
	if [ "$ok" != 0 ] || [ "$(kv errors "$line")" != 0 ] || [ "$(kv unexpected "$line")" != 0 ] ||
		[ "$(kv errors "$steady")" != 0 ]; then
		echo "bench: reload round $r: $rl $line" >&2
		head -5 "$work/rl.err" >&2
		fails=$((fails + 1))
	fi
	say "$(printf '%-6s %11.0f %6.0f %7.0f | %15.0f %6.0f %7.0f %6s %6s     | %9s %9.3f  %s/%s' "$r" \
		"$(kv tps "$steady")" "$(kv p99_us "$steady")" "$(kv max_us "$steady")" \
		"$(kv tps "$line")" "$(kv p99_us "$line")" "$(kv max_us "$line")" \
		"$(kv errors "$line")" "$(kv unexpected "$line")" \
		"$(ratio "$(kv p99_us "$line")" "$(kv p99_us "$steady")")" \
		"$(awk -v s="$(kv secs "$rl")" -v n="$reloads" 'BEGIN {print s / n}')" "$rss0" "$rss1")"
done

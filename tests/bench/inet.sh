# shellcheck shell=bash
# tests/bench/inet.sh - sourced by run.sh (section "inet"): the time one
# message takes over a TCP loopback socket against a unix socket, on one
# long-lived connection, for a message the milter tags (two replies at
# end of message: the header, then accept) and one it accepts at DATA.
# libmilter does not set TCP_NODELAY: its second small reply waits for
# the MTA's delayed ACK (~40 ms); nullmilter -a shows that baseline,
# tlspolicy-milter sets TCP_NODELAY on its listening socket.

port=$((30000 + $$ % 20000))
printf 'version: 1\nrecipients:\n  default: {min_cipher_bits: 512, action: tag}\n' >"$work/ours-tag.yaml"
printf 'version: 1\nrecipients:\n  default: {tls: optional}\n' >"$work/ours-notag.yaml"
say ""
say "== inet: one connection, p50/max per message over unix: and inet: (TCP loopback), ${rounds} rounds of <= 100 messages"
say "milter                     unix p50   unix max | inet p50   inet max   (us)"
for m in null-tag ours-tag ours-notag; do
	for r in $(seq 1 "$rounds"); do
		for s in "unix:$work/m.sock" "inet:$port@127.0.0.1"; do
			start "$m" "$s"
			line=$("$mtbench" -s "$s" -c 1 -k 0 -n 100 -t "$secs" -D 0 -r 1 -H 20 -b 10000 \
				2>"$work/mtbench.err" | head -1)
			stop
			[ "$(kv errors "$line")" = 0 ] || { echo "bench: inet $m $s: $line" >&2; fails=$((fails + 1)); }
			printf 'inet\t%s\t1\t%s-%s\t%s\n' "$r" "$m" "${s%%:*}" "$line" >>"$runs"
		done
	done
	say "$(printf '%-26s %8.0f %10.0f | %8.0f %10.0f' \
		"$m$([ $m = null-tag ] && echo ' (libmilter)')" \
		"$(med inet 1 "$m-unix" p50_us)" "$(med inet 1 "$m-unix" max_us)" \
		"$(med inet 1 "$m-inet" p50_us)" "$(med inet 1 "$m-inet" max_us)")"
done

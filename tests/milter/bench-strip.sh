#!/usr/bin/env bash
# bench-strip.sh - what removing forged tag headers costs.
#
# strip_forged_headers makes the MTA pass every header of every message
# (header callbacks, and no early accept at DATA). This runs the same
# load against tlspolicy-milter with it on (auto: the policy tags) and
# off (never), and against the lean null milter as the floor, in
# alternating rounds (A B C A B C ...), each milter started the same way
# (setsid, fresh), and prints the median transactions per second of each
# and the ratios. Bounded: ROUNDS x TX x CONNS transactions per milter.
#
#   tests/milter/bench-strip.sh [ROUNDS] [CONNS] [TX_PER_CONN]
set -u
build=${top_builddir:-$(pwd)}
rounds=${1:-7} conns=${2:-8} ntx=${3:-500}
bench=$build/tests/milter/mtbench null=$build/tests/milter/nullmilter
milter=$build/tlspolicy-milter
work=$(mktemp -d /tmp/tlsp-bench.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

for b in "$bench" "$null" "$milter"; do
	[ -x "$b" ] || { echo "bench-strip: build $b first (make check)" >&2; exit 1; }
done
policy() { # $1: extra milter settings
	cat >"$work/$2.yaml" <<P
version: 1
milter: {$1}
recipients:
  strict.example: {min_version: TLSv1.2}
  tag.example: {min_version: TLSv1.3, action: tag}
P
}
policy "" strip
policy "strip_forged_headers: never" nostrip

start() { # $1: name
	rm -f "$work/m.sock"
	case $1 in
	null) setsid "$null" -p "unix:$work/m.sock" >/dev/null 2>&1 & ;;
	*) setsid "$milter" -f -c "$work/$1.yaml" -p "unix:$work/m.sock" \
		>/dev/null 2>&1 & ;;
	esac
	pid=$!
	for _ in $(seq 1 100); do [ -S "$work/m.sock" ] && return; sleep 0.05; done
	echo "bench-strip: $1 did not start" >&2
	exit 1
}

stop() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

declare -A tps
for r in $(seq 1 "$rounds"); do
	for m in null nostrip strip; do
		start "$m"
		line=$("$bench" -s "unix:$work/m.sock" -c "$conns" -n "$ntx") || {
			echo "bench-strip: $m: $line" >&2
			exit 1
		}
		stop
		t=$(sed -n 's/.* tps=\([0-9.]*\).*/\1/p' <<<"$line")
		tps[$m]="${tps[$m]:-} $t"
		printf 'round %d %-8s %s\n' "$r" "$m" "$line"
	done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
n=$(median <<<"${tps[null]}") o=$(median <<<"${tps[nostrip]}") s=$(median <<<"${tps[strip]}")
printf '\nmedian tx/s over %d rounds (%d connections x %d transactions):\n' \
	"$rounds" "$conns" "$ntx"
printf '  null milter (lean)            %10.1f\n' "$n"
printf '  tlspolicy, no header removal  %10.1f  (%.2fx null)\n' "$o" "$(echo "$o / $n" | bc -l)"
printf '  tlspolicy, header removal     %10.1f  (%.2fx null, %.2fx without)\n' \
	"$s" "$(echo "$s / $n" | bc -l)" "$(echo "$s / $o" | bc -l)"

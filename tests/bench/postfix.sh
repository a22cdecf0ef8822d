#!/usr/bin/env bash
# tests/bench/postfix.sh - the time tlspolicy-milter adds to a message
# through a real Postfix, over unix: and inet: sockets, for a message it
# accepts at DATA (untagged) and one it tags at end of message.
#
# One private Postfix on loopback (tests/e2e/lib.sh), no TLS (smtp-source
# speaks plain SMTP, so "tagged" is a policy that tags plaintext). Each
# round sends N messages, one SMTP session each (so one milter connection
# each, as in production), one after the other, with every milter setup
# in turn, interleaved: no milter, the lean null milter, tlspolicy-milter
# untagged and tagged, over unix: and inet:. The milter is switched with
# postconf + postfix reload. Prints ms per message (median over rounds)
# and what each setup adds to "no milter". Bounded: N messages per run,
# smtp-source under `timeout`.
#
#   postfix.sh     (env: top_builddir, top_srcdir, BENCH_QUICK,
#                   BENCH_PF_MESSAGES, BENCH_PF_ROUNDS)
set -u
build=${top_builddir:-$(pwd)}
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../e2e/lib.sh
. "$src/tests/e2e/lib.sh"
quick=${BENCH_QUICK:-0}
n=${BENCH_PF_MESSAGES:-$([ "$quick" = 1 ] && echo 100 || echo 400)}
rounds=${BENCH_PF_ROUNDS:-$([ "$quick" = 1 ] && echo 2 || echo 5)}
milter=$build/tlspolicy-milter null=$build/tests/milter/nullmilter

work=$(mktemp -d /tmp/tlsp-pfbench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	pf_stop
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

# start NAME SPEC ARGS...: a milter in its own session, listening on SPEC.
start() {
	local name=$1 spec=$2 p=${2#inet:}
	shift 2
	setsid "$@" -p "$spec" >"$work/$name.log" 2>&1 </dev/null &
	pids+=("$!")
	for _ in $(seq 1 200); do
		case $spec in
		unix:*) [ -S "${spec#unix:}" ] && return 0 ;;
		inet:*) ss -Hltn "sport = :${p%%@*}" | grep -q . && return 0 ;;
		esac
		sleep 0.05
	done
	echo "postfix bench: $name did not start" >&2
	cat "$work/$name.log" >&2
	exit 1
}

policy() { # FILE DEFAULT_RULE
	printf 'version: 1\nmilter: {socket_mode: "0666"}\nrecipients:\n  default: %s\n' "$2" >"$1"
}
policy "$work/untagged.yaml" "{tls: optional}"
policy "$work/tagged.yaml" "{tls: required, action: tag}"
pi=$(port) && pt=$(port) || exit 1
start ours-unix-untagged "unix:$work/u.sock" "$milter" --run-as-root -f -c "$work/untagged.yaml"
start ours-unix-tagged "unix:$work/t.sock" "$milter" --run-as-root -f -c "$work/tagged.yaml"
start ours-inet-untagged "inet:$pi@127.0.0.1" "$milter" --run-as-root -f -c "$work/untagged.yaml"
pt2=$pt
while [ "$pt2" = "$pi" ]; do pt2=$(port); done
start ours-inet-tagged "inet:$pt2@127.0.0.1" "$milter" --run-as-root -f -c "$work/tagged.yaml"
start lean-unix "unix:$work/n.sock" "$null" -f policy -D accept
chmod 666 "$work/n.sock"

pf_start "$work/pf" || exit 1
declare -A setup=(
	[none]=""
	[lean-unix]="unix:$work/n.sock"
	[untagged-unix]="unix:$work/u.sock"
	[tagged-unix]="unix:$work/t.sock"
	[untagged-inet]="inet:127.0.0.1:$pi"
	[tagged-inet]="inet:127.0.0.1:$pt2"
)
order="none lean-unix untagged-unix tagged-unix untagged-inet tagged-inet"
declare -A ms
for r in $(seq 1 "$rounds"); do
	for s in $order; do
		postconf -c "$PF_ETC" -e "smtpd_milters=${setup[$s]}" &&
			postfix -c "$PF_ETC" reload >>"$work/reload.out" 2>&1 || exit 1
		sleep 1.5 # old smtpd processes finish and exit
		t0=$(date +%s%N)
		if ! timeout 300 smtp-source -s 1 -m "$n" -l 2000 -f bench@client.example \
			-t user@dest.example "127.0.0.1:$PF_PORT" >"$work/src.out" 2>&1 ||
			[ -s "$work/src.out" ]; then
			echo "postfix bench: $s: smtp-source failed:" >&2
			head -5 "$work/src.out" >&2
			exit 1
		fi
		t1=$(date +%s%N)
		ms[$s]="${ms[$s]:-} $(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN {printf "%.3f", (b - a) / 1e6 / n}')"
		printf '  round %d %-14s %s ms/message\n' "$r" "$s" "${ms[$s]##* }" >&2
	done
done
# Nothing may have been refused or tempfailed by a milter.
if grep -E "milter-(reject|discard|hold)|warning: .*milter" "$PF_LOG" >"$work/errors"; then
	echo "postfix bench: milter errors in the Postfix log:" >&2
	head -5 "$work/errors" >&2
	exit 1
fi
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(median <<<"${ms[none]}")
printf 'setup            ms/message (median of %d rounds x %d messages)   added by the milter\n' "$rounds" "$n"
for s in $order; do
	m=$(median <<<"${ms[$s]}")
	printf '%-16s %8.3f   (rounds: %s)   %+.3f ms\n' "$s" "$m" "$(echo ${ms[$s]})" \
		"$(awk -v a="$m" -v b="$base" 'BEGIN {print a - b}')"
done
tagged=$(grep -c "message tagged" "$work/ours-unix-tagged.log" "$work/ours-inet-tagged.log" | awk -F: '{s += $2} END {print s}')
printf 'messages tagged by tlspolicy-milter: %s (expected %d)\n' "$tagged" $((2 * rounds * n))
[ "$tagged" = $((2 * rounds * n)) ]

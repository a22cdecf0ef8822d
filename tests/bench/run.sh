#!/usr/bin/env bash
# tests/bench/run.sh - the load benchmark of tlspolicy-milter (make bench).
#
# Every number is a ratio against baselines measured in the same run, in
# interleaved rounds (A B C A B C ...), each milter started fresh and the
# same way: in its own session (setsid), because this kernel schedules by
# autogroup and a milter left in the load generator's session runs at
# ~0.7x of itself at concurrency 64. Medians over the rounds; the lean
# null milter runs twice per round so that the A/A spread (what the
# machine's noise alone does to a ratio) is reported next to the ratios.
#
# Sections (BENCH_ONLY picks some, in this order):
#   policy      compile time, memory and lookup time for 10..1M rules,
#               for 10..10,000 exceptions and for 10..100,000
#               client_addr networks of one rule
#   throughput  10,000 rules, audit sync: batch with an HMAC key, everything
#               else at its default (forged tag headers removed), with and
#               without the audit log, and with strip_forged_headers: mta,
#               vs the protocol floor, the lean and the naive null milter,
#               at each concurrency of BENCH_CONC; packets and round trips
#               per transaction of each
#   audit       the audit record (sync: batch, HMAC key) and the decision
#               log line at c=1 and c=8, as milter CPU per transaction
#               over the same daemon with neither, paired per round with
#               an A/A control; BENCH_WAS=OLD_MILTER adds an older
#               build's rows (before/after in one run)
#   callgrind   instructions per transaction (callgrind, c=1) of each
#               milter in BENCH_CALLGRIND, and their top symbols
#               (tests/bench/callgrind.sh; skipped without valgrind)
#   strip       removal of forged tag headers: never, auto (header
#               callbacks without replies, no body), mta (the MTA removes
#               them, accept at DATA), and null milters with header
#               callbacks with and without a reply at DATA, vs the floor
#   frame       the packet guard (milter/frame.c) on and off at c=1 and
#               c=8: the daemon vs the same built without it, A B A'
#   sync        audit sync: always vs batch at concurrency 64, and
#               bench_audit's fdatasync-per-record writer
#   reload      100 reloads of a 100,000-rule policy under 64 connections
#   reloadmem   10,000 reloads of a 1,000-rule policy, good and hostile in
#               turn, under 16 connections: the heap levels off (reload 10,000
#               within 1.05x of reload 5,000); BENCH_RELOADMEM sets the count
#   conns       1,000 open connections: failures, RSS, threads
#   stalls      long-lived connections: max latency, where it was spent
#   inet        a tagged message over inet: vs unix: (the Nagle stall)
#   postfix     end to end through a private Postfix (tests/bench/postfix.sh)
#   metrics     milter.metrics_file on vs off: CPU per transaction (paired
#               rounds) and callgrind instructions per transaction
#               (tests/bench/metrics.sh)
#   tools       tlspolicy-audit's commands on one keyed log of
#               BENCH_TOOLS_RECORDS records (800,000, about 1.1 GB; quick:
#               50,000) against verify, and report --format html against
#               the text report, paired per round; peak RSS over 100,000
#               sender domains (tests/bench/audit-tools.sh)
#
# Knobs (environment): BENCH_ROUNDS (7), BENCH_SECS (10), BENCH_QUICK=1
# (3 rounds of 2 s, fewer sizes), BENCH_CONC ("1 8 64"), BENCH_ONLY,
# BENCH_DIR (audit logs: a real disk, /var/tmp), BENCH_OUT (results
# directory). Every run is bounded by count and by time.
set -u
build=${top_builddir:-$(pwd)}
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
	rounds=${BENCH_ROUNDS:-3} secs=${BENCH_SECS:-2}
	sizes=10,1000,100000 reloads=${BENCH_RELOADS:-20}
else
	rounds=${BENCH_ROUNDS:-7} secs=${BENCH_SECS:-10}
	sizes=10,1000,100000,1000000 reloads=${BENCH_RELOADS:-100}
fi
concs=${BENCH_CONC:-"1 8 64"}
only=${BENCH_ONLY:-"policy throughput audit callgrind strip frame sync reload reloadmem conns stalls inet postfix metrics tools"}
diskdir=${BENCH_DIR:-/var/tmp}
out=${BENCH_OUT:-$build/bench-results}
mtbench=$build/tests/milter/mtbench null=$build/tests/milter/nullmilter
milter=$build/tlspolicy-milter policybench=$build/tests/bench/policybench
benchaudit=$build/tests/audit/bench_audit reloader=$build/tests/bench/reloader
noguard=$build/tests/bench/tlspolicy-milter-noguard
# Load shape: sessions of 5 transactions (a new milter connection each,
# as Postfix opens one per SMTP session), 1-2 recipients, 20 headers and
# a 10 KB body (an ordinary message today), recipients drawn from the
# 10,000 domains of the policy.
shape=(-k 5 -r 2 -H 20 -b 10000 -D 10000 -n 10000000)

for b in "$mtbench" "$null" "$milter" "$policybench" "$benchaudit" "$reloader" "$noguard"; do
	[ -x "$b" ] || { echo "bench: $b is not built (make bench builds it)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/tlsp-bench.XXXXXX)
audit_dir=$(mktemp -d "$diskdir/tlsp-bench-audit.XXXXXX")
mkdir -p "$out"
results=$out/results.txt runs=$out/runs.tsv
: >"$runs"
pid= loadpid=
cleanup() {
	[ -n "$loadpid" ] && kill "$loadpid" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work" "$audit_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

say() { printf '%s\n' "$*" | tee -a "$results"; }
kv() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" <<<" $2" | head -1; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print 0}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

# ------------------------------------------------------------ the milters

# The macro lists tlspolicy-milter asks for (milter/callbacks.c), so that
# the lean null milter receives exactly the same bytes.
TLSM="{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer} {verify} {cert_fp} {cert_md5}"
LEANM=(-m "envfrom:i v {mail_addr} {auth_authen} $TLSM" -m "envrcpt:i v {rcpt_addr} $TLSM"
	-m "data:i" -m "eom:i")
# The protocol floor: the TLS macros by symbol list at HELO, MAIL and
# RCPT, no connect, HELO, header or body events, ACCEPT at DATA; a reply
# at MAIL, because the bench policy has sender rules (as ours must).
FLOORM=(-m "helo:$TLSM" -m "envfrom:$TLSM" -m "envrcpt:$TLSM")

# policy FILE RULES AUDIT_SYNC STRIP [MILTER_SETTINGS]: the mix's policy
# with daemon settings.
policy() {
	"$mtbench" -P "$2" >"$1"
	printf 'milter: {strip_forged_headers: %s%s}\naudit: {file: %s/%s.log, sync: %s}\n' \
		"$4" "${5:+, $5}" "$audit_dir" "$(basename "$1" .yaml)" "$3" >>"$1"
}
# defaults FILE [AUDIT]: the mix's 10,000 rules with every setting at its
# default; AUDIT=1 adds the audit log with sync: batch and an HMAC key.
defaults() {
	"$mtbench" -P 10000 >"$1"
	[ "${2:-0}" = 1 ] &&
		printf 'audit: {file: %s/%s.log, sync: batch, key_file: %s}\n' \
			"$audit_dir" "$(basename "$1" .yaml)" "$work/audit.key" >>"$1"
}

# start NAME SOCKET: each milter the same way, fresh, in its own session.
# setsid execs the milter (this script's jobs lead no process group), so
# $! is the milter itself.
start() {
	local name=$1 sock=$2 path=${2#unix:} port=${2#inet:} cmd i
	case $sock in unix:*) rm -f "$path" ;; esac
	rm -f "$audit_dir"/*
	case $name in
	lean | lean2) cmd=("$null" -p "$sock" -f policy -D accept "${LEANM[@]}") ;;
	lean-hdrs) cmd=("$null" -p "$sock" -f policy-hdrs "${LEANM[@]}") ;;
	lean-hdrs-nrdata) cmd=("$null" -p "$sock" -f policy-hdrs,nr_data "${LEANM[@]}") ;;
	floor | floor2) cmd=("$null" -p "$sock" -f floor -D accept "${FLOORM[@]}") ;;
	naive) cmd=("$null" -p "$sock" -f all) ;;
	null-tag) cmd=("$null" -p "$sock" -f policy -a "X-TLS-Policy:tagged") ;;
	noguard*) cmd=("$noguard" --run-as-root -f -c "$work/ours.yaml" -p "$sock") ;;
	was-*) cmd=("$BENCH_WAS" --run-as-root -f -c "$work/aud-${name#was-}.yaml" -p "$sock") ;;
	*) cmd=("$milter" --run-as-root -f -c "$work/$name.yaml" -p "$sock") ;;
	esac
	# wrap: a command the milter runs under (the callgrind section's)
	setsid ${wrap[@]+"${wrap[@]}"} "${cmd[@]}" >"$work/$name.log" 2>&1 </dev/null &
	pid=$!
	for i in $(seq 1 1200); do
		case $sock in
		unix:*) [ -S "$path" ] && return 0 ;;
		inet:*) ss -Hltn "sport = :${port%%@*}" 2>/dev/null | grep -q . && return 0 ;;
		esac
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "bench: $name did not start:" >&2
	cat "$work/$name.log" >&2
	exit 1
}

# cpu: the milter's CPU time so far (all its threads), in clock ticks:
# "user system".
cpu() { awk '{print $14, $15}' "/proc/$pid/stat" 2>/dev/null; }
# cpu_per_tx BEFORE AFTER TX: the milter's CPU per transaction in
# microseconds, "cpu_us=T usr_us=U sys_us=S" (user + system, user, system).
cpu_per_tx() {
	awk -v a="$1" -v b="$2" -v t="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(a, x, " "); split(b, y, " "); k = (t > 0 ? 1e6 / hz / t : 0)
		u = (y[1] - x[1]) * k; s = (y[2] - x[2]) * k
		printf "cpu_us=%.1f usr_us=%.1f sys_us=%.1f", u + s, u, s }'
}

# stop: SIGTERM, then SIGKILL after a second: libmilter notices a stop
# only at its next 5-second poll timeout, and the measurement is over.
stop() {
	local i
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for i in $(seq 1 20); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# run SECTION ROUND CONC NAME [mtbench args]: one measurement, recorded.
run() {
	local sec=$1 r=$2 c=$3 name=$4 line expect=
	shift 4
	case $name in lean* | naive | null* | floor*) ;; *) expect=-e ;; esac
	start "$name" "unix:$work/m.sock"
	c0=$(cpu)
	line=$("$mtbench" -s "unix:$work/m.sock" -c "$c" -t "$secs" "${shape[@]}" \
		$expect "$@" 2>"$work/mtbench.err" | head -1)
	# the milter's CPU per transaction, in microseconds: less noisy
	# than tx/s when other work shares the machine
	line="$line $(cpu_per_tx "$c0" "$(cpu)" "$(kv tx "$line")")"
	stop
	if [ -z "$line" ] || [ "$(kv errors "$line")" != 0 ] ||
		[ "$(kv unexpected "$line")" != 0 ]; then
		echo "bench: $sec $name c=$c: ${line:-no result}" >&2
		head -5 "$work/mtbench.err" >&2
		fails=$((fails + 1))
	fi
	printf '%s\t%s\t%s\t%s\t%s\n' "$sec" "$r" "$c" "$name" "$line" >>"$runs"
	printf '  %-10s r%-2s c=%-3s %-12s %s\n' "$sec" "$r" "$c" "$name" \
		"$(cut -d' ' -f1-9 <<<"$line")"
}

# med SECTION CONC NAME KEY: the median of KEY over the rounds.
med() {
	awk -F'\t' -v s="$1" -v c="$2" -v n="$3" '$1 == s && $3 == c && $4 == n {print $5}' "$runs" |
		while read -r l; do kv "$4" "$l"; done | median
}
# paired SECTION CONC A B: per-round ratios A/B of tx/s, "min median max".
paired() {
	awk -F'\t' -v s="$1" -v c="$2" -v a="$3" -v b="$4" '
		$1 == s && $3 == c && ($4 == a || $4 == b) {
			match($5, /tps=[0-9.]+/); v = substr($5, RSTART + 4, RLENGTH - 4)
			if ($4 == a) x[$2] = v; else y[$2] = v
		}
		END { for (r in x) if (y[r] > 0) print x[r] / y[r] }' "$runs" |
		sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.2f %.2f %.2f", a[1], a[int((NR+1)/2)], a[NR]; else print "- - -"}'
}

# frame_cpu CONC NAME: per-round ratios of NAME's CPU per transaction
# to noguard's in the frame section, "min median max".
frame_cpu() {
	awk -F'\t' -v c="$1" -v a="$2" '
		$1 == "frame" && $3 == c && ($4 == a || $4 == "noguard") {
			match($5, /cpu_us=[0-9.]+/); v = substr($5, RSTART + 7, RLENGTH - 7)
			if ($4 == a) x[$2] = v; else y[$2] = v
		}
		END { for (r in x) if (y[r] > 0) print x[r] / y[r] }' "$runs" |
		sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.3f %.3f %.3f", a[1], a[int((NR+1)/2)], a[NR]; else print "- - -"}'
}

# cpu_delta SECTION CONC A B: per-round differences A - B of the milter's
# CPU per transaction (us), "min med max".
cpu_delta() {
	awk -F'\t' -v s="$1" -v c="$2" -v a="$3" -v b="$4" '
		$1 == s && $3 == c && ($4 == a || $4 == b) {
			match($5, /cpu_us=[0-9.]+/); v = substr($5, RSTART + 7, RLENGTH - 7)
			if ($4 == a) x[$2] = v; else y[$2] = v
		}
		END { for (r in x) if (r in y) print x[r] - y[r] }' "$runs" |
		sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.1f %.1f %.1f", a[1], a[int((NR+1)/2)], a[NR]; else print "- - -"}'
}

# aud_policy NAME AUDIT LOG: the audit section's policy; AUDIT yes: an audit
# log with sync: batch and an HMAC key; LOG: log_decisions ("": default).
aud_policy() {
	{
		"$mtbench" -P 10000
		printf 'milter: {strip_forged_headers: never%s}\n' "${3:+, log_decisions: $3}"
		[ "$2" = yes ] && printf 'audit: {file: %s/%s.log, sync: batch, key_file: %s}\n' \
			"$audit_dir" "$1" "$work/audit.key"
	} >"$work/$1.yaml"
}

fails=0
: >"$results"
say "tlspolicy-milter load benchmark: $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -nrm)"
say "  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), autogroup=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "  rounds=$rounds secs=$secs load shape: ${shape[*]}; audit logs in $diskdir"

policy "$work/ours.yaml" 10000 batch never
policy "$work/ours-always.yaml" 10000 always never
policy "$work/ours-100k.yaml" 100000 batch never
policy "$work/ours-none.yaml" 10000 none never
policy "$work/ours-quiet.yaml" 10000 batch never "log_decisions: none"
{ "$mtbench" -P 10000; echo 'milter: {strip_forged_headers: never}'; } >"$work/ours-noaudit.yaml"
head -c 32 /dev/urandom >"$work/audit.key" && chmod 600 "$work/audit.key"
defaults "$work/ours-def.yaml" 1
defaults "$work/ours-def-noaudit.yaml"
defaults "$work/ours-mta.yaml" 1
echo 'milter: {strip_forged_headers: mta}' >>"$work/ours-mta.yaml"
defaults "$work/ours-never.yaml" 1
echo 'milter: {strip_forged_headers: never}' >>"$work/ours-never.yaml"

for section in $only; do
	case $section in
	policy)
		say ""
		say "== policy: compile, memory, lookup (tlsp_evaluate per recipient)"
		"$policybench" -s "$sizes" | tee -a "$results"
		# issue 23: exceptions compile and lookup (CPU time, interleaved)
		say "== policy: 10..10,000 exceptions: compile, tlsp_evaluate waived / not"
		"$policybench" -e 10,1000,10000 | tee -a "$results"
		say ""
		say "== policy: client_addr networks of one sender rule (compile and"
		say "   tlsp_evaluate per recipient, CPU time; hit: client inside, miss: none)"
		"$policybench" -c -s 10,1000,10000,100000 | tee -a "$results"
		;;
	throughput)
		# floor2: the floor again, the A/A control
		tp_milters="floor lean ours-def ours-def-noaudit ours-mta naive floor2"
		for r in $(seq 1 "$rounds"); do
			for c in $concs; do
				for m in $tp_milters; do
					run throughput "$r" "$c" "$m"
				done
			done
		done
		say ""
		say "== throughput: 10,000 rules, medians of $rounds x ${secs}s, unix socket"
		say "   floor: the protocol floor (null milter: TLS macros at HELO, MAIL, RCPT; replies"
		say "   at MAIL, RCPT, DATA; ACCEPT at DATA); lean: a null milter with our negotiation;"
		say "   ours-def: every setting at its default (forged tag headers removed: header"
		say "   callbacks) + audit log sync: batch with an HMAC key; ours-def-noaudit: the same"
		say "   without the audit log; ours-mta: ours-def with strip_forged_headers: mta"
		say "   tx/s, latency (us), the milter's CPU per transaction (us, all threads), and per"
		say "   transaction: round trips, packets MTA->milter, milter->MTA, MTA send() calls;"
		say "   ratios of tx/s: of the medians, and (min med max) of the per-round pairs"
		say "conc milter              tx/s    p50    p99  cpu/tx   rt  p>m  p<m  wr | vs floor (paired)        vs naive | A/A"
		for c in $concs; do
			l=$(med throughput "$c" floor tps) n=$(med throughput "$c" naive tps)
			for m in $tp_milters; do
				t=$(med throughput "$c" $m tps)
				say "$(printf '%-4s %-16s %7.0f %6.0f %6.0f %7.1f %4.1f %4.1f %4.1f %3.1f | %5s (%-14s)  %5s | %s' "$c" "$m" "$t" \
					"$(med throughput "$c" $m p50_us)" "$(med throughput "$c" $m p99_us)" \
					"$(med throughput "$c" $m cpu_us)" "$(med throughput "$c" $m rt_per_tx)" \
					"$(med throughput "$c" $m pkts_out_per_tx)" "$(med throughput "$c" $m pkts_in_per_tx)" \
					"$(med throughput "$c" $m writes_per_tx)" \
					"$(ratio "$t" "$l")" "$(paired throughput "$c" $m floor)" "$(ratio "$t" "$n")" \
					"$([ $m = floor2 ] && echo "floor2/floor per round: $(paired throughput "$c" floor2 floor)")")"
			done
		done
		;;
	audit)
		# The record and the decision line, as milter CPU per
		# transaction over the same daemon with neither (aud-off), paired
		# per round; aud-off2 is aud-off again, the A/A control.
		# BENCH_WAS=/path/to/an/older/tlspolicy-milter adds its rows
		# (was-off, was-full) to the same rounds: before/after in one run.
		audit_milters="lean aud-off aud-log aud-rec aud-full aud-off2"
		[ -n "${BENCH_WAS:-}" ] && audit_milters="$audit_milters was-off was-full"
		head -c 32 /dev/urandom >"$work/audit.key"
		aud_policy aud-off no none
		aud_policy aud-off2 no none
		aud_policy aud-log no ""
		aud_policy aud-rec yes none
		aud_policy aud-full yes ""
		for r in $(seq 1 "$rounds"); do
			for c in 1 8; do
				for m in $audit_milters; do
					run audit "$r" "$c" "$m"
				done
			done
		done
		say ""
		say "== audit: the audit record (sync: batch, HMAC key) and the decision log line, 10,000 rules,"
		say "   strip_forged_headers: never; medians of $rounds x ${secs}s. aud-off: no audit log and"
		say "   log_decisions: none; aud-log: the decision lines (log_decisions default); aud-rec: the"
		say "   record only; aud-full: both; aud-off2: aud-off again (A/A). CPU: the milter's user +"
		say "   system time per transaction (/proc/PID/stat, all threads); 'over aud-off': per-round"
		say "   differences (min med max)."
		say "conc milter      tx/s  cpu/tx    usr    sys | cpu over aud-off us     | tx/s vs lean (paired)"
		for c in 1 8; do
			l=$(med audit "$c" lean tps)
			for m in $audit_milters; do
				t=$(med audit "$c" $m tps)
				say "$(printf '%-4s %-9s %7.0f %7.1f %6.1f %6.1f | %-23s | %5s (%s)' "$c" $m "$t" \
					"$(med audit "$c" $m cpu_us)" "$(med audit "$c" $m usr_us)" \
					"$(med audit "$c" $m sys_us)" \
					"$([ $m = lean ] || cpu_delta audit "$c" $m "$([ "${m#was}" = "$m" ] && echo aud-off || echo was-off)")" \
					"$(ratio "$t" "$l")" "$(paired audit "$c" $m lean)")"
			done
			say "$(printf '     record + line: aud-full - aud-off median %s us (target <= 8), A/A aud-off2 - aud-off %s' \
				"$(cpu_delta audit "$c" aud-full aud-off | cut -d' ' -f2)" "$(cpu_delta audit "$c" aud-off2 aud-off)")"
		done
		;;
	callgrind)
		. "$src/tests/bench/callgrind.sh"
		;;
	strip)
		# Candidates for removing forged tag headers, c=8, all with the
		# audit log (sync: batch, HMAC key): never (no protection),
		# auto (header callbacks, SMFIP_NR_HDR, no body: today's
		# default), mta (the MTA removes them; accept at DATA); and
		# null milters with header callbacks, with a reply at DATA
		# (lean-hdrs, as ours) and without (lean-hdrs-nrdata).
		strip_milters="floor ours-never ours-def ours-mta lean-hdrs lean-hdrs-nrdata"
		for r in $(seq 1 "$rounds"); do
			for m in $strip_milters; do
				run strip "$r" 8 "$m"
			done
		done
		say ""
		say "== strip: removal of forged tag headers, c=8, medians of $rounds x ${secs}s"
		say "milter              tx/s  cpu/tx   rt  p>m  p<m | vs floor (paired)   | vs ours-never (paired)"
		for m in $strip_milters; do
			t=$(med strip 8 $m tps)
			say "$(printf '%-16s %7.0f %7.1f %4.1f %4.1f %4.1f | %5s (%-14s) | %5s (%s)' "$m" "$t" \
				"$(med strip 8 $m cpu_us)" "$(med strip 8 $m rt_per_tx)" \
				"$(med strip 8 $m pkts_out_per_tx)" "$(med strip 8 $m pkts_in_per_tx)" \
				"$(ratio "$t" "$(med strip 8 floor tps)")" "$(paired strip 8 $m floor)" \
				"$(ratio "$t" "$(med strip 8 ours-never tps)")" "$(paired strip 8 $m ours-never)")"
		done
		;;
	frame)
		# noguard2: the baseline again, the A/A control
		for r in $(seq 1 "$rounds"); do
			for c in 1 8; do
				for m in noguard ours noguard2; do
					run frame "$r" "$c" "$m"
				done
			done
		done
		say ""
		say "== frame: the packet guard on (ours) and off (noguard: built with TLSPM_FRAME_GUARD=0),"
		say "   10,000 rules, sync: batch, medians of $rounds x ${secs}s; per-round pairs (min med max)"
		say "conc milter      tx/s  cpu/tx us | tx/s vs noguard     | cpu/tx vs noguard"
		for c in 1 8; do
			l=$(med frame "$c" noguard tps)
			for m in noguard ours noguard2; do
				t=$(med frame "$c" $m tps)
				say "$(printf '%-4s %-9s %7.0f  %9.1f | %5s (%-14s) | %s' "$c" $m "$t" \
					"$(med frame "$c" $m cpu_us)" "$(ratio "$t" "$l")" \
					"$(paired frame "$c" $m noguard)" "$(frame_cpu "$c" $m)")"
			done
		done
		;;
	sync)
		for r in $(seq 1 "$rounds"); do
			for m in ours ours-always; do
				run sync "$r" 64 "$m"
			done
		done
		naive=$("$benchaudit" -d "$diskdir" -n 3000 2>/dev/null | sed -n 's/.*naive: write + fdatasync per record *\([0-9]*\).*/\1/p')
		b=$(med sync 64 ours tps) a=$(med sync 64 ours-always tps)
		say ""
		say "== sync: audit sync: always (group commit) vs batch, c=64"
		say "$(printf 'sync: batch   %7.0f tx/s  p99 %6.0f us' "$b" "$(med sync 64 ours p99_us)")"
		say "$(printf 'sync: always  %7.0f tx/s  p99 %6.0f us  %sx of batch (paired %s)' "$a" \
			"$(med sync 64 ours-always p99_us)" "$(ratio "$a" "$b")" "$(paired sync 64 ours-always ours)")"
		say "$(printf 'write + fdatasync per record (bench_audit, same disk): %s records/s; always is %sx of it' \
			"${naive:-?}" "$(ratio "$a" "${naive:-0}")")"
		;;
	reload)
		. "$src/tests/bench/reload.sh"
		;;
	reloadmem)
		. "$src/tests/bench/reloadmem.sh"
		;;
	conns)
		. "$src/tests/bench/conns.sh"
		;;
	stalls)
		for r in $(seq 1 "$rounds"); do
			for m in lean ours; do
				run stalls "$r" 8 "$m" -k 0
			done
		done
		say ""
		say "== stalls: 8 long-lived connections (one milter connection each for the whole run)"
		for m in lean ours; do
			say "$(printf '%-5s %7.0f tx/s  p99 %5.0f us  p99.9 %6.0f us  max (median, worst) %7.0f %7.0f us  >100ms: %s' \
				$m "$(med stalls 8 $m tps)" "$(med stalls 8 $m p99_us)" "$(med stalls 8 $m p999_us)" \
				"$(med stalls 8 $m max_us)" \
				"$(awk -F'\t' -v n=$m '$1 == "stalls" && $4 == n {print $5}' "$runs" | while read -r l; do kv max_us "$l"; done | sort -g | tail -1)" \
				"$(awk -F'\t' -v n=$m '$1 == "stalls" && $4 == n {print $5}' "$runs" | while read -r l; do kv over_100ms "$l"; done | paste -sd+ | bc)")"
		done
		;;
	inet)
		. "$src/tests/bench/inet.sh"
		;;
	metrics)
		. "$src/tests/bench/metrics.sh"
		;;
	postfix)
		if command -v postfix >/dev/null && command -v smtp-source >/dev/null && [ "$(id -u)" = 0 ]; then
			say ""
			say "== postfix: end to end through a private Postfix on loopback"
			top_builddir=$build top_srcdir=$src BENCH_QUICK=$quick \
				"$src/tests/bench/postfix.sh" 2>&1 | tee -a "$results"
		else
			say "== postfix: skipped (needs root, postfix and smtp-source)"
		fi
		;;
	tools)
		n_tools=${BENCH_TOOLS_RECORDS:-800000}
		[ "$quick" = 1 ] && n_tools=${BENCH_TOOLS_RECORDS:-50000}
		say ""
		say "== tools: tlspolicy-audit's commands, $n_tools records, $rounds rounds (tests/bench/audit-tools.sh)"
		(cd "$build" && BENCH_DIR=$diskdir SENDERS=$([ "$quick" = 1 ] && echo 10000 || echo 100000) \
			bash "$src/tests/bench/audit-tools.sh" "$n_tools" "$rounds") 2>&1 | tee -a "$results"
		if [ "${PIPESTATUS[0]}" != 0 ]; then
			say "tools: FAILED"
			fails=$((fails + 1))
		fi
		;;
	*) echo "bench: unknown section $section" >&2; exit 64 ;;
	esac
done
say ""
say "results in $results, every run in $runs; $fails failed runs"
[ "$fails" = 0 ]

#!/bin/bash
# tests/bench/syscalls.sh - the system calls of each milter per transaction
# (strace -c -f over 2,000 transactions at concurrency 8), beside the load
# generator's packet counts: where a milter's time goes when it reads every
# header. Not part of make bench (strace slows the milter down; only the
# counts mean something). Run from a build directory, as root or as the
# owner of the milters, under the benchmark lock:
#   flock /tmp/tlsp-heavy.lock ../../tests/bench/syscalls.sh
# Milters: floor (the protocol floor), lean-hdrs (a null milter with header
# callbacks), ours-def (defaults + audit log with an HMAC key), ours-mta
# (the same with strip_forged_headers: mta).
set -u
b=${top_builddir:-.}
mtbench=$b/tests/milter/mtbench null=$b/tests/milter/nullmilter milter=$b/tlspolicy-milter
for x in "$mtbench" "$null" "$milter"; do
	[ -x "$x" ] || { echo "syscalls: $x is not built" >&2; exit 1; }
done
command -v strace >/dev/null || { echo "syscalls: no strace" >&2; exit 77; }
w=$(mktemp -d /tmp/tlsp-syscalls.XXXXXX) || exit 1
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$w"' EXIT
tlsm="{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer} {verify} {cert_fp} {cert_md5}"
head -c 32 /dev/urandom >"$w/key" && chmod 600 "$w/key"
for p in def mta; do
	"$mtbench" -P 10000 >"$w/$p.yaml"
	[ $p = mta ] && echo 'milter: {strip_forged_headers: mta}' >>"$w/$p.yaml"
	printf 'audit: {file: %s/%s.log, sync: batch, key_file: %s/key}\n' "$w" $p "$w" >>"$w/$p.yaml"
done
sock=$w/m.sock
printf '%-10s %5s | %-38s | %s\n' milter tx "system calls per transaction" "per transaction (mtbench)"
for m in floor lean-hdrs ours-def ours-mta; do
	rm -f "$sock"
	case $m in
	floor) cmd=("$null" -p "unix:$sock" -f floor -D accept -m "helo:$tlsm" -m "envfrom:$tlsm" -m "envrcpt:$tlsm") ;;
	lean-hdrs) cmd=("$null" -p "unix:$sock" -f policy-hdrs -m "envfrom:i v {mail_addr} {auth_authen} $tlsm"
		-m "envrcpt:i v {rcpt_addr} $tlsm" -m "data:i" -m "eom:i") ;;
	*) cmd=("$milter" --run-as-root -f -c "$w/${m#ours-}.yaml" -p "unix:$sock") ;;
	esac
	setsid strace -f -c -o "$w/$m.strace" "${cmd[@]}" >"$w/$m.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
	line=$("$mtbench" -s "unix:$sock" -c 8 -n 250 -t 120 -k 5 -r 2 -H 20 -b 10000 -D 10000 | head -1)
	# stop the milter, not strace, so that strace writes its summary
	child=$(pgrep -P "$pid" | head -1)
	[ -n "$child" ] && kill "$child"
	for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" ${child:+"$child"} 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	tx=$(sed -n 's/^tx=\([0-9]*\).*/\1/p' <<<"$line")
	calls=$(awk -v tx="${tx:-0}" '$NF ~ /^(read|poll|writev|total)$/ {c[$NF] = $4}
		END {if (tx > 0) printf "total %5.1f read %4.1f poll %4.1f writev %3.1f",
			c["total"] / tx, c["read"] / tx, c["poll"] / tx, c["writev"] / tx}' "$w/$m.strace")
	printf '%-10s %5s | %-38s | %s\n' "$m" "${tx:-?}" "$calls" \
		"$(grep -o 'rt_per_tx=[^ ]* pkts_out_per_tx=[^ ]* pkts_in_per_tx=[^ ]*' <<<"$line")"
done

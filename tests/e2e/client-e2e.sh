#!/bin/bash
# tests/e2e/client-e2e.sh - client_addr, client_name and pair rules end to
# end, with a real Postfix and a real Sendmail.
#
# Clients connect from 127.0.0.x (swaks --local-interface). Host names
# come from a hosts file of the test's own, which each MTA sees as its
# /etc/hosts in a private mount namespace (lib.sh PF_HOSTS, sendmail-lib's
# ns-run), with "hosts: files" and "multi off": no DNS, and the real
# /etc/hosts is never touched. In that file
#   127.0.0.5 has a name that resolves back to it (verified),
#   127.0.0.6 and 127.0.0.7 share a name that resolves to 127.0.0.6 only,
#     so 127.0.0.7's PTR name is forged as far as the MTA can tell,
#   127.0.0.9 has no name (until the test adds one, in place).
# The policy wants partner.example mail from a verified name under
# .partner.test.example, a pair lets it reach finance.example.com from
# 127.0.0.7 whatever its name, and netpartner.example mail must come from
# 127.0.0.5 or .6. Asserts each SMTP reply, and the audit records
# (failures with observed null, the pair as the only rule).
#
# One line per check, then "client-e2e: N passed, M failed". Exit 0 when
# every check passes, 1 when one fails, 77 when it cannot run here (not
# root, or a tool missing). Run it under flock /tmp/tlsp-heavy.lock.
# E2E_KEEP=1 keeps the work directory (kept anyway after a failure).

set -u

here=$(cd "$(dirname "$0")" && pwd)
skip() {
	echo "client-e2e: skipped ($1)"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root"
for tool in postfix swaks unshare openssl python3 m4 perl ss flock timeout; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done
id postfix >/dev/null 2>&1 || skip "no postfix user"

bin=${TLSPOLICY_MILTER:-${top_builddir:-.}/tlspolicy-milter}
[ -x "$bin" ] || {
	echo "FAIL daemon binary $bin"
	echo "client-e2e: 0 passed, 1 failed"
	exit 1
}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
# shellcheck source-path=SCRIPTDIR source=sendmail-lib.sh
. "$here/sendmail-lib.sh"

passed=0 failed=0 milter_pid="" sm_up="" cpid=""
work=$(mktemp -d /tmp/tlspolicy-client-e2e.XXXXXX) || exit 1
chmod 755 "$work"
install -d -o postfix -g postfix -m 0750 "$work/milter" "$work/audit"
sock=$work/milter/m.sock audit=$work/audit/audit.log policy=$work/policy.yaml

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	trap - EXIT INT TERM
	pf_stop
	[ -n "$sm_up" ] && sm_stop
	for p in "$milter_pid" "$cpid"; do
		[ -n "$p" ] || continue
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	echo "client-e2e: $SECONDS s"
	echo "client-e2e: $passed passed, $failed failed"
	if [ "$failed" -eq 0 ] && [ "${E2E_KEEP-}" != 1 ]; then
		rm -rf "$work"
	else
		echo "client-e2e: work directory kept: $work"
	fi
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && exit 0
	exit 1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ok, not_ok, check_eq: common.sh (through lib.sh)

# The names; HOSTS_LATE adds one for 127.0.0.9.
NAMES='127.0.0.5 mx5.partner.test.example
127.0.0.6 fwd.partner.test.example
127.0.0.7 fwd.partner.test.example'
# write_hosts FILE [EXTRA]: the hosts file, rewritten in place (the MTA
# has it bind-mounted: the inode must stay).
write_hosts() {
	printf '127.0.0.1 localhost mx.test.example\n%s\n%s' "$NAMES" "${2-}" >"$1"
}

cat >"$policy" <<EOF
version: 1
milter: {authserv_id: mx.test.example, strip_forged_headers: never}
audit: {file: $audit, sync: always, addresses: full}
senders:
  partner.example:
    client_name: [.partner.test.example]
  netpartner.example:
    client_addr: [127.0.0.5, 127.0.0.6/32]
pairs:
  partner.example:
    finance.example.com:
      client_addr: [127.0.0.7]
EOF

# count EXPR: audit records r for which the Python expression holds;
# v(r, addr) is a recipient's verdict, sv(r) the sender verdict, f(v) the
# failures of a verdict's rules as (rule, requirement, status, observed).
count() {
	python3 - "$audit" "$1" <<'EOF'
import json, sys

def bare(a):
    a = a or ""
    return a[1:-1] if a.startswith("<") and a.endswith(">") else a

def v(r, addr):
    for x in r.get("recipients", []):
        if bare(x.get("addr")) == addr:
            return x.get("verdict") or {}
    return {}

def sv(r):
    return r.get("sender_verdict") or {}

def rules(v):
    return [x.get("rule") for x in v.get("rules", [])]

def f(v):
    return [(x.get("rule"), y.get("requirement"), y.get("status"),
             y.get("observed")) for x in v.get("rules", [])
            for y in x.get("failures", [])]

n = 0
with open(sys.argv[1], encoding="utf-8") as fh:
    for line in fh:
        try:
            r = json.loads(line)
            n += bool(eval(sys.argv[2]))
        except Exception:
            pass
print(n)
EOF
}

# record LABEL EXPR: exactly one audit record matches.
record() {
	local n
	n=$(count "$2")
	if [ "$n" = 1 ]; then
		ok "$1: audit record"
	else
		not_ok "$1: audit record" "$n records match $2 (see $audit)"
	fi
}

# The MTA-neutral session: send MTA LABEL FROM-IP SENDER RCPT...; sets
# MAIL (code) and RC_addr per recipient through rcpt_code.
send() {
	local mta=$1 ip=$2 from=$3 to
	shift 3
	local -a args=(--client "$ip" --from "$from")
	for to in "$@"; do args+=(--to "$to"); done
	if [ "$mta" = postfix ]; then
		pf_send --tls TLSv1.3 "${args[@]}"
		MAIL=$PF_MAIL_CODE
	else
		sm_send --tls TLSv1.3 "${args[@]}"
		MAIL=$SM_MAIL_CODE
	fi
}
rcpt_code() {
	if [ "$1" = postfix ]; then pf_rcpt_code "$2"; else sm_rcpt_code "$2"; fi
}

# The cases, the same on both MTAs; $1 is the MTA, $2 its hosts file.
cases() {
	local m=$1 hosts=$2 t=$1
	write_hosts "$hosts"

	send "$m" 127.0.0.5 "s1@partner.example" "r1-$t@example.com"
	check_eq "$m: verified name: MAIL" "$MAIL" 250
	check_eq "$m: verified name: RCPT" "$(rcpt_code "$m" "r1-$t@example.com")" 250

	send "$m" 127.0.0.7 "s2@partner.example" "r2-$t@example.com"
	check_eq "$m: forged PTR name: MAIL waits (a pair names the sender)" "$MAIL" 250
	check_eq "$m: forged PTR name: RCPT refused" "$(rcpt_code "$m" "r2-$t@example.com")" 550
	record "$m: forged PTR name" "v(r, 'r2-$t@example.com').get('action') == 'reject' and \
f(v(r, 'r2-$t@example.com')) == [('sender:partner.example', 'client_name', 'fail', None)] \
and r['client']['addr'] == '127.0.0.7' and r['client']['name'] == '[127.0.0.7]' \
and '{client_resolve}' in r['tls']['observed']"

	send "$m" 127.0.0.9 "s3@partner.example" "r3-$t@example.com"
	check_eq "$m: no PTR name: RCPT refused" "$(rcpt_code "$m" "r3-$t@example.com")" 550
	record "$m: no PTR name" "f(v(r, 'r3-$t@example.com')) == \
[('sender:partner.example', 'client_name', 'fail', None)]"

	send "$m" 127.0.0.7 "s4@partner.example" "r4-$t@finance.example.com" "r5-$t@example.com"
	check_eq "$m: pair: its recipient accepted" "$(rcpt_code "$m" "r4-$t@finance.example.com")" 250
	check_eq "$m: pair: the other recipient refused" "$(rcpt_code "$m" "r5-$t@example.com")" 550
	record "$m: pair replaces the sender rule" "rules(v(r, 'r4-$t@finance.example.com')) == \
['pair:partner.example>finance.example.com'] and v(r, 'r4-$t@finance.example.com').get('action') == 'accept'"

	send "$m" 127.0.0.9 "s6-$t@netpartner.example" "r6-$t@example.com"
	check_eq "$m: client_addr outside: MAIL refused" "$MAIL" 550
	record "$m: client_addr outside" "r.get('type') == 'mail' and r.get('sender') in \
('s6-$t@netpartner.example', '<s6-$t@netpartner.example>') and \
f(sv(r)) == [('sender:netpartner.example', 'client_addr', 'fail', None)]"

	send "$m" 127.0.0.6 "s7@netpartner.example" "r7-$t@example.com"
	check_eq "$m: client_addr inside: MAIL" "$MAIL" 250
	check_eq "$m: client_addr inside: RCPT" "$(rcpt_code "$m" "r7-$t@example.com")" 250

	# a name for 127.0.0.9 in the hosts file: now it verifies
	write_hosts "$hosts" "127.0.0.9 late.partner.test.example"
	send "$m" 127.0.0.9 "s8@partner.example" "r8-$t@example.com"
	check_eq "$m: hosts entry added: RCPT" "$(rcpt_code "$m" "r8-$t@example.com")" 250
	write_hosts "$hosts"
}

# ------------------------------------------------------------------ daemon
out=$("$bin" -c "$policy" -n --mta postfix 2>&1)
check_eq "policy check (postfix): no warning" \
	"$(printf '%s\n' "$out" | grep -c warning)" 0
out=$("$bin" -c "$policy" -n --mta sendmail 2>&1)
check_eq "policy check (sendmail): the {client_resolve} warning" \
	"$(printf '%s\n' "$out" | grep -c "on Sendmail, 'client_name' is matched only when {client_resolve} is OK")" 1
"$bin" -f -c "$policy" -u postfix -p "unix:$sock" 2>"$work/milter.log" &
milter_pid=$!
for _ in $(seq 1 100); do # ready: "started", after the socket
	[ -S "$sock" ] && grep -q 'info: started ' "$work/milter.log" && break
	sleep 0.1
done
[ -S "$sock" ] || {
	not_ok "daemon listens" "$(tail -n 5 "$work/milter.log")"
	exit 1
}

# ----------------------------------------------------------------- Postfix
PF_HOSTS=$work/hosts
write_hosts "$PF_HOSTS"
if pf_start "$work/pf" "unix:$sock"; then
	ok "postfix starts (hosts file $PF_HOSTS)"
	cases postfix "$PF_HOSTS"
else
	not_ok "postfix starts"
fi
pf_stop

# ------------------------------------------------ Postfix, smtpd chrooted
# Debian runs smtpd chrooted in /var/spool/postfix, where it reads the
# init script's copy of /etc/hosts. Here the chroot is $work/pfc/spool:
# its etc/hosts names 127.0.0.5, the namespace's /etc/hosts does not, and
# then the other way round. A chrooted smtpd reaches the milter over
# inet: a second daemon, with its own audit log.
sed "s|$audit|$work/audit/chroot.log|" "$policy" >"$work/policy-chroot.yaml"
cport=$(_pf_free_port)
"$bin" -f -c "$work/policy-chroot.yaml" -u postfix -p "inet:$cport@127.0.0.1" \
	2>"$work/milter-chroot.log" &
cpid=$!
for _ in $(seq 1 100); do
	timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$cport" 2>/dev/null && break
	sleep 0.1
done
PF_CHROOT_SMTPD=1
ns_hosts=$work/hosts-ns
write_hosts "$ns_hosts" # pf_start copies it into the chroot
if PF_HOSTS=$ns_hosts pf_start "$work/pfc" "inet:$cport@127.0.0.1"; then
	# from now on only the chroot's copy names 127.0.0.5
	printf '127.0.0.1 localhost mx.test.example\n' >"$ns_hosts"
	check_eq "chroot: master.cf runs smtpd chrooted" \
		"$(awk '$NF == "smtpd" { print $5 }' "$PF_ETC/master.cf")" y
	chroot_hosts=$PF_DIR/spool/etc/hosts
	send postfix 127.0.0.5 "c1@partner.example" "c1@example.com"
	check_eq "chroot: name only in the chroot's copy: verified" \
		"$(rcpt_code postfix c1@example.com)" 250
	printf '127.0.0.1 localhost mx.test.example\n' >"$chroot_hosts"
	write_hosts "$ns_hosts"
	send postfix 127.0.0.5 "c2@partner.example" "c2@example.com"
	check_eq "chroot: name only outside the chroot: not verified" \
		"$(rcpt_code postfix c2@example.com)" 550
else
	not_ok "chroot: postfix starts with smtpd chrooted"
fi
pf_stop
PF_CHROOT_SMTPD=""
kill -TERM "$cpid" 2>/dev/null
wait "$cpid"
check_eq "chroot: its daemon exits 0" "$?" 0
cpid=""

# ---------------------------------------------------------------- Sendmail
if sm_extract >/dev/null 2>&1 && sm_start "$work/sm" "$sock"; then
	sm_up=1
	ok "sendmail starts"
	cases sendmail "$SM_DIR/hosts"
	sm_stop
	sm_up=""
else
	not_ok "sendmail starts" "see $work/sm"
fi

kill -TERM "$milter_pid" 2>/dev/null
wait "$milter_pid"
check_eq "daemon exits 0" "$?" 0
milter_pid=""
check_eq "audit log verifies" \
	"$("$(dirname "$bin")/tlspolicy-audit" verify "$audit" >/dev/null 2>&1; echo $?)" 0

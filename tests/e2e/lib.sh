# shellcheck shell=bash
# tests/e2e/lib.sh - helpers for end-to-end tests against a real Postfix.
#
# Sourced by the e2e test scripts, never run; works under `set -u`. It builds
# a throw-away test PKI, runs one private Postfix instance on loopback (its
# own config, queue, data and mail directories under one work dir), drives
# SMTP sessions with swaks or openssl s_client forcing each TLS version and
# client certificate, and reads back what was delivered or held. Nothing here
# touches the system Postfix instance. Needs root, postfix, swaks, openssl.
# See tests/e2e/NOTES.md for the facts behind the settings.
#
# Every wait is bounded in time and every loop in count: a broken MTA or
# milter makes a test fail, never hang.
#
# Public functions (details above each one):
#   pf_certs DIR                      make the test PKI (pf_start calls it)
#   pf_start DIR [MILTER]             start the instance on 127.0.0.1:$PF_PORT
#   pf_stop                           stop it, wait until its processes are gone
#   pf_send [OPTIONS]                 one SMTP session with swaks
#   pf_send_skip_ehlo [OPTIONS]       STARTTLS, then MAIL with no second EHLO
#   pf_rcpt_code ADDR                 RCPT reply code of the last session
#   pf_rcpt_reply ADDR                RCPT reply line of the last session
#   pf_wait_delivered ID [T] [RCPT]   wait until message ID is in the mailbox
#   pf_not_delivered ID [T] [RCPT]    true when ID was not (will not be) delivered
#   pf_in_hold_queue ID [T]           true when ID sits in the hold queue
#   pf_delivered_header ID N [RCPT]   print the values of header N of ID's copy
#   pf_wait_log REGEX [T]             wait for a maillog line matching REGEX
#   pf_new_id                         print a fresh unique message id
# Session options: --tls none|any|TLSv1|TLSv1.1|TLSv1.2|TLSv1.3,
#   --cert trusted|rogue|expired, --cert-file F --key-file F, --cipher LIST,
#   --from ADDR, --to ADDR (repeatable), --id ID, --transcript FILE.
# Session results: PF_LAST_ID, PF_LAST_LOG (transcript), PF_TLS_STARTED,
#   PF_MAIL_CODE/_REPLY, pf_rcpt_code ADDR, PF_DATA_CODE/_REPLY, PF_QUEUE_ID.
# Instance: PF_DIR PF_PORT PF_ETC PF_LOG (maillog) PF_MAILBOX (Maildir)
#   PF_CERTS; PF_REJECT_RCPT / PF_HOLD_RCPT are answered 550 / held by
#   Postfix itself.

# The PF_* result variables are read by the sourcing test, not here.
# shellcheck disable=SC2034

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Settings a test may change before calling pf_start / pf_send.
: "${PF_SMTP_TIMEOUT:=15}"   # seconds per SMTP step; >= 10 by design
: "${PF_START_TIMEOUT:=20}"  # seconds for Postfix to answer after start
: "${PF_STOP_TIMEOUT:=20}"   # seconds for its processes to go away
: "${PF_HELO:=client.test.example}"
# A hosts file for the instance: when set, Postfix runs in a private mount
# namespace where this file is /etc/hosts and resolv.conf names only
# 127.0.0.1, so client names come from it and no DNS query leaves the
# machine. The file may be rewritten in place between sessions.
: "${PF_HOSTS:=}"
# PF_CHROOT_SMTPD=1: smtpd runs chrooted in the queue directory, as
# Debian's master.cf has it, and pf_start copies what it reads there
# (etc/hosts from PF_HOSTS or /etc/hosts, resolv.conf, nsswitch.conf,
# host.conf, services, localtime) the way Debian's init script fills
# /var/spool/postfix/etc. The milter must then be inet: (a unix socket
# outside the chroot is out of smtpd's reach).
: "${PF_CHROOT_SMTPD:=}"
# Client cipher list. @SECLEVEL=0 because OpenSSL 3 clients refuse the
# server's TLS 1.0/1.1 key exchange signature otherwise ("legacy sigalg").
: "${PF_CLIENT_CIPHERS:=DEFAULT:@SECLEVEL=0}"

# Recipients that Postfix itself rejects (550) or puts on hold, so that the
# reply parsing and the queue helpers can be tested without a milter.
PF_REJECT_RCPT="harness-reject@reject.test.example"
PF_HOLD_RCPT="harness-hold@hold.test.example"

# State of the running instance (empty when none).
PF_DIR=""
PF_PORT=""
PF_ETC=""
PF_LOG=""
PF_MAILBOX=""
PF_CERTS=""
PF_LOG_MARK=0

# Results of the last pf_send / pf_send_skip_ehlo.
PF_LAST_ID=""
PF_LAST_LOG=""
PF_TLS_STARTED=""
PF_MAIL_REPLY=""
PF_MAIL_CODE=""
PF_DATA_REPLY=""
PF_DATA_CODE=""
PF_QUEUE_ID=""
declare -gA PF_RCPT_REPLY=()

# Message on stderr, prefixed so that it stands out in test output.
pf_log() {
	printf 'e2e: %s\n' "$*" >&2
}

# Seconds since the epoch with a fraction, for bounded polling.
_pf_now() {
	date +%s.%N
}

# True while NOW < START + LIMIT (all in seconds, fractions allowed).
_pf_before() {
	awk -v s="$1" -v l="$2" -v n="$(_pf_now)" 'BEGIN { exit !(n < s + l) }'
}

# ---------------------------------------------------------------- certs

# Quiet openssl: its chatter goes to a log beside the certificates so that
# a failure can still be diagnosed.
_pf_openssl() {
	openssl "$@" >>"$PF_CERTS/openssl.log" 2>&1 || {
		pf_log "openssl $1 failed, see $PF_CERTS/openssl.log"
		return 1
	}
}

# Extensions for the leaf certificates; CA:FALSE and the EKUs keep OpenSSL's
# verification of the client chain meaningful.
_pf_cert_extfile() {
	cat >"$PF_CERTS/ext.cnf" <<'EOF'
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:mx.test.example, DNS:localhost, IP:127.0.0.1, IP:::1

[client_trusted]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:client.partner.example

[client_rogue]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:rogue.partner.example

[client_expired]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:expired.partner.example
EOF
}

# _pf_cert_ca NAME CN: a self-signed CA in NAME.crt / NAME.key.
_pf_cert_ca() {
	_pf_openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
		-keyout "$PF_CERTS/$1.key" -out "$PF_CERTS/$1.crt" \
		-subj "/O=tlspolicy tests/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign"
}

# _pf_cert_csr NAME CN: key and signing request for a leaf.
_pf_cert_csr() {
	_pf_openssl req -new -newkey rsa:2048 -nodes -sha256 \
		-keyout "$PF_CERTS/$1.key" -out "$PF_CERTS/$1.csr" \
		-subj "/O=tlspolicy tests/CN=$2"
}

# _pf_cert_leaf NAME CN CA EXT: a leaf valid for ten years, signed by CA.
_pf_cert_leaf() {
	_pf_cert_csr "$1" "$2" &&
		_pf_openssl x509 -req -sha256 -days 3650 -set_serial "0x$(openssl rand -hex 8)" \
			-in "$PF_CERTS/$1.csr" -CA "$PF_CERTS/$3.crt" -CAkey "$PF_CERTS/$3.key" \
			-extfile "$PF_CERTS/ext.cnf" -extensions "$4" -out "$PF_CERTS/$1.crt"
}

# A leaf from the trusted CA whose validity ended in 2020. `openssl x509`
# cannot set past dates, `openssl ca` can, given a minimal CA database.
_pf_cert_expired() {
	local db="$PF_CERTS/ca-db"
	mkdir -p "$db/new" && : >"$db/index.txt" && openssl rand -hex 8 >"$db/serial" || return 1
	cat >"$db/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
database = $db/index.txt
new_certs_dir = $db/new
serial = $db/serial
default_md = sha256
policy = any_name
unique_subject = no
[any_name]
organizationName = optional
commonName = supplied
EOF
	_pf_cert_csr client-expired expired.partner.example &&
		_pf_openssl ca -batch -notext -config "$db/ca.cnf" \
			-cert "$PF_CERTS/ca.crt" -keyfile "$PF_CERTS/ca.key" \
			-startdate 20200101000000Z -enddate 20200201000000Z \
			-extfile "$PF_CERTS/ext.cnf" -extensions client_expired \
			-in "$PF_CERTS/client-expired.csr" -out "$PF_CERTS/client-expired.crt"
}

# pf_certs DIR: the test PKI, made once per DIR.
#   ca.crt             trusted test CA (smtpd_tls_CAfile)
#   server.crt/.key    mx.test.example, for Postfix's STARTTLS
#   client.crt/.key    client.partner.example, issued by the test CA
#   rogue.crt/.key     rogue.partner.example, issued by an untrusted CA
#   client-expired.crt/.key  expired.partner.example, test CA, expired 2020
# Sets PF_CERTS to DIR.
pf_certs() {
	PF_CERTS=$1
	[ -s "$PF_CERTS/client-expired.crt" ] && return 0
	mkdir -p "$PF_CERTS" && _pf_cert_extfile || return 1
	_pf_cert_ca ca "tlspolicy Test CA" &&
		_pf_cert_ca rogue-ca "tlspolicy Rogue CA" &&
		_pf_cert_leaf server mx.test.example ca server &&
		_pf_cert_leaf client client.partner.example ca client_trusted &&
		_pf_cert_leaf rogue rogue.partner.example rogue-ca client_rogue &&
		_pf_cert_expired
}

# -------------------------------------------------------------- postfix

# A TCP port on 127.0.0.1 with no listener. A small race with other
# programs remains; pf_start notices it when Postfix does not answer.
_pf_free_port() {
	local _ port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 30000))
		# A refused connect means no listener, on any address that covers
		# 127.0.0.1 too.
		if ! timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# main.cf of the private instance. Why each group is there:
# - directories: all under PF_DIR so that suites never share state;
# - delivery: every domain is a virtual mailbox domain and every address
#   goes to one Maildir (PF_MAILBOX), so that tests can read what arrived;
# - TLS: Postfix's stock protocol and cipher settings (spelled out) already
#   accept TLS 1.0 to 1.3 with Debian 12's OpenSSL 3; only the client needs
#   @SECLEVEL=0 (see NOTES.md). ask_ccert + CAfile make Postfix verify the
#   client's certificate and announce the result;
# - milter: defaults except the action on milter failure (tempfail), so that
#   a dead milter shows up as 4xx and never as a silent accept.
_pf_write_main_cf() {
	local milter=$1 mailuid mailgid
	mailuid=$(id -u nobody) && mailgid=$(id -g nobody) || return 1
	cat >"$PF_ETC/main.cf" <<EOF
# Generated by tests/e2e/lib.sh; do not edit.
compatibility_level = 3.6
config_directory = $PF_ETC
queue_directory = $PF_DIR/spool
data_directory = $PF_DIR/data
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
syslog_name = postfix-e2e

myhostname = mx.test.example
mydomain = test.example
myorigin = \$myhostname
mydestination =
relay_domains =
relayhost =
inet_interfaces = loopback-only
inet_protocols = all
mynetworks_style = host
mynetworks = 127.0.0.0/8 [::1]/128
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
smtpd_banner = \$myhostname ESMTP
smtpd_error_sleep_time = 0
default_process_limit = 20
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
	check_recipient_access inline:{
		{ $PF_REJECT_RCPT = 550 5.1.1 harness test reject },
		{ $PF_HOLD_RCPT = HOLD harness test hold } }
	permit_mynetworks, reject

virtual_mailbox_domains = static:all
virtual_mailbox_base = $PF_DIR/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:$mailuid
virtual_gid_maps = static:$mailgid
virtual_minimum_uid = $mailuid

smtpd_tls_security_level = may
smtpd_tls_cert_file = $PF_CERTS/server.crt
smtpd_tls_key_file = $PF_CERTS/server.key
smtpd_tls_CAfile = $PF_CERTS/ca.crt
smtpd_tls_ask_ccert = yes
smtpd_tls_protocols = >=TLSv1
smtpd_tls_ciphers = medium
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1

smtpd_milters = $milter
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
EOF
}

# master.cf of the private instance: only the services a loopback SMTP
# server with virtual delivery needs, none chrooted (the chroot would need a
# copy of /etc files and the test paths inside the spool).
_pf_write_master_cf() {
	cat >"$PF_ETC/master.cf" <<EOF
# Generated by tests/e2e/lib.sh; do not edit.
127.0.0.1:$PF_PORT inet n -       $([ -n "$PF_CHROOT_SMTPD" ] && echo y || echo n)       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# Wait until the SMTP listener answers with a 220 greeting.
_pf_wait_greeting() {
	local start line
	start=$(_pf_now)
	while _pf_before "$start" "$PF_START_TIMEOUT"; do
		# A smtpd that dies at once (bad milter spec, bad cert) never greets.
		tail -c "+$((PF_LOG_MARK + 1))" "$PF_LOG" 2>/dev/null | grep -q 'fatal:' && return 1
		# shellcheck disable=SC2016 # $1 is for the inner shell
		line=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
			IFS= read -r -t 4 l <&3 && printf "QUIT\r\n" >&3 && echo "$l"' _ "$PF_PORT" 2>/dev/null)
		case $line in 220*) return 0 ;; esac
		sleep 0.2
	done
	return 1
}

# The master's pid, or nothing when no master runs for this instance.
_pf_master_pid() {
	local pid
	pid=$(tr -dc 0-9 2>/dev/null <"$PF_DIR/spool/pid/master.pid") || return 1
	# A stale pid file may name a pid reused by some other program.
	[ -n "$pid" ] && _pf_any_alive "$pid" &&
		[ "$(ps -o comm= -p "$pid")" = master ] && echo "$pid"
}

# pf_start DIR [MILTER]: start a private Postfix in DIR (created if need be).
#   DIR/etc (config), DIR/spool (queue), DIR/data, DIR/mail/box (Maildir of
#   every delivered message), DIR/maillog (the log), DIR/certs (test PKI).
#   MILTER is the milter's socket, in Postfix's spelling (unix:/path,
#   inet:127.0.0.1:PORT) or libmilter's (local:/path, inet:PORT@127.0.0.1,
#   inet6:PORT@::1); empty means no milter. smtpd runs as the postfix user:
#   a unix socket must be writable by it.
# Sets PF_DIR PF_PORT PF_ETC PF_LOG PF_MAILBOX PF_CERTS. Needs root. DIR and
# its parents must be searchable by the postfix user (mode 755).
pf_start() {
	local dir=$1 milter=${2-}
	[ "$(id -u)" = 0 ] || { pf_log "pf_start needs root"; return 1; }
	mkdir -p "$dir" && chmod 755 "$dir" && PF_DIR=$(cd "$dir" && pwd) || return 1
	PF_ETC=$PF_DIR/etc
	PF_LOG=$PF_DIR/maillog
	PF_MAILBOX=$PF_DIR/mail/box
	pf_certs "$PF_DIR/certs" || return 1
	PF_PORT=$(_pf_free_port) || { pf_log "no free port"; return 1; }
	mkdir -p "$PF_ETC" "$PF_DIR/spool" "$PF_DIR/data" "$PF_DIR/mail" || return 1
	# Postfix wants the queue directory owned by root and the data directory
	# by its mail_owner; virtual(8) writes the Maildir as nobody.
	chown root:root "$PF_DIR/spool" && chown postfix: "$PF_DIR/data" &&
		chown nobody: "$PF_DIR/mail" || return 1
	_pf_write_main_cf "$(_pf_milter_spec "$milter")" && _pf_write_master_cf || return 1
	[ -z "$PF_CHROOT_SMTPD" ] || _pf_chroot_etc || return 1
	# An instance left over in DIR by a killed run would block the start.
	pf_stop
	PF_LOG_MARK=$(stat -c %s "$PF_LOG" 2>/dev/null || echo 0)
	_pf_postfix check || return 1
	_pf_postfix_start || { pf_stop; return 1; }
	_pf_wait_greeting || {
		pf_log "Postfix does not answer on 127.0.0.1:$PF_PORT; log: $PF_LOG"
		grep -E 'fatal|warning' "$PF_LOG" | tail -n 5 >&2
		pf_stop
		return 1
	}
}

# Postfix spells a milter socket inet:HOST:PORT; libmilter (the milter's
# own -p option) spells it inet:PORT@HOST. Accept both, and local: for unix:.
_pf_milter_spec() {
	local spec=$1
	case $spec in
	inet:*@* | inet6:*@*)
		local port=${spec#*:}
		port=${port%%@*}
		local host=${spec#*@}
		case $host in *:*) host="[${host#[}" host="${host%]}]" ;; esac
		echo "inet:$host:$port" ;;
	local:*) echo "unix:${spec#local:}" ;;
	*) echo "$spec" ;;
	esac
}

# Run the postfix command on the private instance; output to DIR/postfix.out.
_pf_postfix() {
	postfix -c "$PF_ETC" "$@" >>"$PF_DIR/postfix.out" 2>&1 || {
		# postfix(1) logs to the maillog once maillog_file is set.
		pf_log "postfix $* failed:"
		tail -n 20 "$PF_DIR/postfix.out" "$PF_LOG" >&2
		return 1
	}
}

# The chroot's copy of the files smtpd reads after chroot (see
# PF_CHROOT_SMTPD). A later change to the hosts file goes to
# $PF_DIR/spool/etc/hosts, the copy.
_pf_chroot_etc() {
	local f
	mkdir -p "$PF_DIR/spool/etc" || return 1
	cp "${PF_HOSTS:-/etc/hosts}" "$PF_DIR/spool/etc/hosts" || return 1
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
		>"$PF_DIR/spool/etc/resolv.conf" &&
		sed 's/^hosts:.*/hosts: files/' /etc/nsswitch.conf \
			>"$PF_DIR/spool/etc/nsswitch.conf" &&
		printf 'multi off\n' >"$PF_DIR/spool/etc/host.conf" || return 1
	for f in services localtime; do
		[ -e "/etc/$f" ] && cp -L "/etc/$f" "$PF_DIR/spool/etc/$f"
	done
	return 0
}

# postfix start, in a mount namespace of its own when PF_HOSTS is set: the
# master and every daemon it forks keep that namespace's /etc/hosts.
_pf_postfix_start() {
	[ -n "$PF_HOSTS" ] || { _pf_postfix start; return; }
	# Host names from the file only: an address it does not name has no
	# name (Postfix: {client_resolve} FAIL), not a DNS timeout (TEMP).
	# "multi off": a name listed twice resolves to its first address
	# only, so the second line's address has a PTR name that does not
	# resolve back to it (forged, as far as the MTA can tell).
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
		>"$PF_DIR/resolv.conf" &&
		printf 'multi off\n' >"$PF_DIR/host.conf" &&
		sed 's/^hosts:.*/hosts: files/' /etc/nsswitch.conf \
			>"$PF_DIR/nsswitch.conf" || return 1
	# shellcheck disable=SC2016 # for the inner shell
	unshare -m --propagation private sh -c 'mount --bind "$1" /etc/hosts &&
		mount --bind "$2" /etc/resolv.conf &&
		mount --bind "$3" /etc/nsswitch.conf &&
		mount --bind "$4" /etc/host.conf &&
		exec postfix -c "$5" start' _ "$PF_HOSTS" "$PF_DIR/resolv.conf" \
		"$PF_DIR/nsswitch.conf" "$PF_DIR/host.conf" "$PF_ETC" \
		>>"$PF_DIR/postfix.out" 2>&1 || {
		pf_log "postfix start (hosts $PF_HOSTS) failed:"
		tail -n 20 "$PF_DIR/postfix.out" "$PF_LOG" >&2
		return 1
	}
}

# Children of PID (Postfix daemons of this instance).
_pf_children() {
	ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}

# True while any of the given pids lives. Zombies count as gone: daemons
# that outlive the master are reparented to pid 1, which reaps them late.
_pf_any_alive() {
	local pid
	for pid in "$@"; do
		case $(ps -o stat= -p "$pid" 2>/dev/null) in
		"" | Z*) ;;
		*) return 0 ;;
		esac
	done
	return 1
}

# pf_stop: stop the instance started by pf_start and wait (bounded) until
# the master and its daemons are gone; as a last resort kill exactly those
# pids. Safe to call twice, or when pf_start failed halfway.
pf_stop() {
	local master pids start
	[ -n "$PF_DIR" ] && [ -d "$PF_DIR/spool" ] || return 0
	master=$(_pf_master_pid) || return 0
	# shellcheck disable=SC2207
	pids=("$master" $(_pf_children "$master"))
	postfix -c "$PF_ETC" stop >>"$PF_DIR/postfix.out" 2>&1 || kill -TERM "$master" 2>/dev/null
	start=$(_pf_now)
	while _pf_any_alive "${pids[@]}" && _pf_before "$start" "$PF_STOP_TIMEOUT"; do
		sleep 0.1
	done
	if _pf_any_alive "${pids[@]}"; then
		pf_log "Postfix did not stop in ${PF_STOP_TIMEOUT}s; killing ${pids[*]}"
		kill -KILL "${pids[@]}" 2>/dev/null
		return 1
	fi
}

# ------------------------------------------------------------- sessions

# pf_new_id: a message id no other message of any run has.
pf_new_id() {
	printf 'e2e-%s-%s-%s\n' "$(date +%s%N)" "$$" "$RANDOM"
}

# Defaults of the options shared by pf_send and pf_send_skip_ehlo.
_pf_opts_reset() {
	_pf_tls=none _pf_cert="" _pf_key="" _pf_from="sender@example.com"
	_pf_to=() _pf_id="" _pf_transcript="" _pf_ciphers=$PF_CLIENT_CIPHERS
	_pf_client=""
}

# Parse the options shared by pf_send and pf_send_skip_ehlo:
#   --tls none|any|TLSv1|TLSv1.1|TLSv1.2|TLSv1.3   (default none = plaintext)
#   --cert trusted|rogue|expired    client certificate from the test PKI
#   --cert-file CRT --key-file KEY  any other client certificate
#   --cipher LIST                   OpenSSL cipher list of the client, for
#                                   TLS <= 1.2 (e.g. AES128-SHA: no FS)
#   --from ADDR                     envelope sender (default sender@example.com)
#   --to ADDR                       envelope recipient, repeat for more
#   --client ADDR                   connect from this local address
#                                   (127.0.0.x; pf_send only)
#   --id ID                         unique id (default: pf_new_id)
#   --transcript FILE               where the transcript goes
_pf_opts_parse() {
	_pf_opts_reset
	while [ $# -gt 0 ]; do
		[ $# -ge 2 ] || { pf_log "option $1 needs a value"; return 1; }
		case $1 in
		--tls) _pf_tls=$2 ;;
		--cert) _pf_cert=$PF_CERTS/$(_pf_cert_file "$2") || return 1
			_pf_key=${_pf_cert%.crt}.key ;;
		--cert-file) _pf_cert=$2 ;;
		--key-file) _pf_key=$2 ;;
		--cipher) _pf_ciphers=$2:@SECLEVEL=0 ;;
		--from) _pf_from=$2 ;;
		--to) _pf_to+=("$2") ;;
		--id) _pf_id=$2 ;;
		--client) _pf_client=$2 ;;
		--transcript) _pf_transcript=$2 ;;
		*) pf_log "unknown option $1"; return 1 ;;
		esac
		shift 2
	done
	[ ${#_pf_to[@]} -gt 0 ] || _pf_to=("rcpt@example.com")
	[ -n "$_pf_id" ] || _pf_id=$(pf_new_id)
	[ -n "$_pf_transcript" ] || _pf_transcript=$PF_DIR/transcripts/$_pf_id.txt
	mkdir -p "$(dirname "$_pf_transcript")"
}

# Certificate file of a named test identity.
_pf_cert_file() {
	case $1 in
	trusted) echo client.crt ;;
	rogue) echo rogue.crt ;;
	expired) echo client-expired.crt ;;
	*) pf_log "unknown certificate name $1"; return 1 ;;
	esac
}

# swaks and s_client spell the versions differently from Postfix.
_pf_swaks_proto() {
	case $1 in
	TLSv1) echo tlsv1 ;;
	TLSv1.1) echo tlsv1_1 ;;
	TLSv1.2) echo tlsv1_2 ;;
	TLSv1.3) echo tlsv1_3 ;;
	*) pf_log "unknown TLS version $1"; return 1 ;;
	esac
}

_pf_sclient_proto() {
	case $1 in
	TLSv1) echo -tls1 ;;
	TLSv1.1) echo -tls1_1 ;;
	TLSv1.2) echo -tls1_2 ;;
	TLSv1.3) echo -tls1_3 ;;
	any) ;;
	*) pf_log "unknown TLS version $1"; return 1 ;;
	esac
}

# Reset the results of the last session.
_pf_results_reset() {
	PF_LAST_ID=$_pf_id PF_LAST_LOG=$_pf_transcript PF_TLS_STARTED=""
	PF_MAIL_REPLY="" PF_MAIL_CODE="" PF_DATA_REPLY="" PF_DATA_CODE=""
	PF_QUEUE_ID=""
	PF_RCPT_REPLY=()
}

# Read a normalised transcript ("C: line" from the client, "S: line" from
# the server) into PF_MAIL_*, PF_RCPT_REPLY[addr], PF_DATA_*, PF_QUEUE_ID.
# Only the first line of each reply is kept: its code is the reply's code.
_pf_results_parse() {
	local what addr reply
	while IFS=$'\t' read -r what addr reply; do
		case $what in
		MAIL) PF_MAIL_REPLY=$reply ;;
		RCPT) PF_RCPT_REPLY[$addr]=$reply ;;
		EOD) PF_DATA_REPLY=$reply ;;
		esac
	done < <(awk '
		/^C: MAIL FROM:/ { pend = "MAIL"; arg = "-"; next }
		/^C: RCPT TO:/ {
			pend = "RCPT"; arg = $0
			sub(/^C: RCPT TO:[ ]*</, "", arg); sub(/>.*$/, "", arg); next
		}
		/^C: DATA$/ { pend = "DATA"; arg = "-"; next }
		/^C: \.$/ { pend = "EOD"; arg = "-"; next }
		/^S: [0-9][0-9][0-9]/ && pend != "" {
			printf "%s\t%s\t%s\n", pend, arg, substr($0, 4); pend = ""
		}' "$PF_LAST_LOG")
	PF_MAIL_CODE=${PF_MAIL_REPLY:0:3}
	PF_DATA_CODE=${PF_DATA_REPLY:0:3}
	case $PF_DATA_REPLY in
	*"queued as "*) PF_QUEUE_ID=${PF_DATA_REPLY##*queued as } ;;
	esac
}

# pf_rcpt_reply ADDR / pf_rcpt_code ADDR: the last session's reply to
# RCPT TO:<ADDR> (first line), or its three-digit code; empty if not sent.
pf_rcpt_reply() {
	printf '%s\n' "${PF_RCPT_REPLY[$1]-}"
}

pf_rcpt_code() {
	local r=${PF_RCPT_REPLY[$1]-}
	printf '%s\n' "${r:0:3}"
}

# pf_send [OPTIONS]: one SMTP session with swaks (options: _pf_opts_parse).
# The message carries the id in its Subject, its Message-Id and its body.
# Results: PF_LAST_ID, PF_LAST_LOG (the transcript, "C:"/"S:" lines, then
# swaks' raw output), PF_TLS_STARTED (e.g. "TLSv1.2:ECDHE-...:256"),
# PF_MAIL_CODE/REPLY, pf_rcpt_code ADDR, PF_DATA_CODE/REPLY, PF_QUEUE_ID.
# Returns 0 when the session got a greeting (and TLS, if asked for), 1 if
# not; the SMTP outcome is for the caller to judge from the codes.
pf_send() {
	local args raw rc to proto
	_pf_opts_parse "$@" || return 1
	_pf_results_reset
	to=$(IFS=,; echo "${_pf_to[*]}")
	args=(--server 127.0.0.1 --port "$PF_PORT" --ehlo "$PF_HELO"
		--from "$_pf_from" --to "$to" --timeout "${PF_SMTP_TIMEOUT}s"
		--header "Subject: tlspolicy e2e $_pf_id"
		--header "Message-Id: <$_pf_id@e2e.test.example>"
		--body "tlspolicy e2e message $_pf_id")
	if [ "$_pf_tls" != none ]; then
		args+=(--tls --tls-cipher "$_pf_ciphers")
		if [ "$_pf_tls" != any ]; then
			proto=$(_pf_swaks_proto "$_pf_tls") || return 1
			args+=(--tls-protocol "$proto")
		fi
	fi
	[ -z "$_pf_cert" ] || args+=(--tls-cert "$_pf_cert" --tls-key "$_pf_key")
	[ -z "$_pf_client" ] || args+=(--local-interface "$_pf_client")
	raw=$_pf_transcript.swaks
	# swaks bounds each step itself; timeout(1) bounds the whole session.
	timeout $((PF_SMTP_TIMEOUT * 6)) swaks "${args[@]}" >"$raw" 2>&1
	rc=$?
	_pf_swaks_normalise "$raw" >"$_pf_transcript"
	{ echo "# swaks exit $rc; raw output:"; cat "$raw"; } >>"$_pf_transcript"
	rm -f "$raw"
	_pf_results_parse
	PF_TLS_STARTED=$(sed -n 's/^=== TLS started with cipher //p' "$_pf_transcript" | head -n 1)
	grep -q '^S: 220' "$_pf_transcript" || return 1
	[ "$_pf_tls" = none ] || [ -n "$PF_TLS_STARTED" ]
}

# swaks marks lines "<-"/"<~" (server, plain/TLS), "<**"/"<~*" (server
# error), " ->"/" ~>" (client). Keep only the dialogue, as "S:"/"C:".
_pf_swaks_normalise() {
	sed -n -e 's/^<[-~*][ *] \(.*\)$/S: \1/p' -e 's/^ [-~]> \(.*\)$/C: \1/p' "$1" | tr -d '\r'
}

# ------------------------------------------------- session without EHLO

# File descriptors of the pipes to and from s_client. FIFOs, not coproc:
# bash unsets a coproc's variables when it exits, which under `set -u`
# would end the test script instead of failing one session.
_pf_sc_w=""
_pf_sc_r=""
_pf_sc_pid=""

# Write lines to s_client. The subshell takes the SIGPIPE if s_client is
# gone, so that only this session fails.
_pf_sc_write() {
	(printf '%s\n' "$@" >&"$_pf_sc_w") 2>/dev/null
}

# Send one command line and read the whole reply (up to the "NNN " line);
# both logged to the transcript. Fails on timeout or end of file.
_pf_sc_cmd() {
	local line _
	printf '%s\n' "C: $1" >>"$_pf_transcript"
	_pf_sc_write "$1" || return 1
	for _ in $(seq 1 50); do
		IFS= read -r -t "$PF_SMTP_TIMEOUT" line <&"$_pf_sc_r" || return 1
		line=${line%$'\r'}
		printf '%s\n' "S: $line" >>"$_pf_transcript"
		[[ $line =~ ^[0-9]{3}\  ]] && return 0
	done
	return 1
}

# Send lines without waiting for a reply (the message content).
_pf_sc_lines() {
	printf 'C: %s\n' "$@" >>"$_pf_transcript"
	_pf_sc_write "$@"
}

# The SMTP dialogue after STARTTLS: MAIL at once, no EHLO.
_pf_sc_dialogue() {
	local rcpt
	_pf_sc_cmd "MAIL FROM:<$_pf_from>" || return 1
	for rcpt in "${_pf_to[@]}"; do
		_pf_sc_cmd "RCPT TO:<$rcpt>" || return 1
	done
	_pf_sc_cmd "DATA" || return 1
	case $(tail -n 1 "$_pf_transcript") in "S: 354"*) ;; *) return 0 ;; esac
	_pf_sc_lines "From: <$_pf_from>" "To: <${_pf_to[0]}>" \
		"Subject: tlspolicy e2e $_pf_id" \
		"Message-Id: <$_pf_id@e2e.test.example>" \
		"Date: $(date -R)" "" "tlspolicy e2e message $_pf_id" || return 1
	_pf_sc_cmd "." || return 1
	_pf_sc_cmd "QUIT"
}

# Start s_client in the background, talking through two FIFOs in DIR.
# Our opens pair with its redirections in the same order: no deadlock.
_pf_sc_start() {
	local dir=$1
	shift
	mkfifo "$dir/in" "$dir/out" || return 1
	timeout $((PF_SMTP_TIMEOUT * 6)) openssl s_client "$@" \
		<"$dir/in" >"$dir/out" 2>>"$dir/stderr" &
	_pf_sc_pid=$!
	exec {_pf_sc_w}>"$dir/in" {_pf_sc_r}<"$dir/out"
}

# Close our ends (s_client sees EOF), wait a bounded time for it to end
# after the server's 221, then kill it (our own child) if it has not.
_pf_sc_finish() {
	local _
	exec {_pf_sc_w}>&-
	for _ in $(seq 1 50); do
		kill -0 "$_pf_sc_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$_pf_sc_pid" 2>/dev/null
	wait "$_pf_sc_pid" 2>/dev/null
	exec {_pf_sc_r}<&-
}

# pf_send_skip_ehlo [OPTIONS]: openssl s_client does EHLO and STARTTLS, then
# this sends MAIL FROM right away (RFC 3207 only says SHOULD for the second
# EHLO). Options as pf_send; --tls defaults to any and must not be none.
# Results as pf_send (PF_TLS_STARTED without the bits). Returns 0 when the
# dialogue ran to QUIT.
pf_send_skip_ehlo() {
	local args proto rc=0 dir
	_pf_opts_parse "$@" || return 1
	[ "$_pf_tls" != none ] || _pf_tls=any
	_pf_results_reset
	proto=$(_pf_sclient_proto "$_pf_tls") || return 1
	dir=$(mktemp -d "$PF_DIR/sclient.XXXXXX") || return 1
	args=(-connect "127.0.0.1:$PF_PORT" -starttls smtp -name "$PF_HELO"
		-quiet -crlf -cipher "$_pf_ciphers" ${proto:+"$proto"})
	[ -z "$_pf_cert" ] || args+=(-cert "$_pf_cert" -key "$_pf_key")
	# -quiet hides the handshake summary; the saved session still tells the
	# protocol and cipher.
	args+=(-sess_out "$dir/sess")
	: >"$_pf_transcript"
	_pf_sc_start "$dir" "${args[@]}" || { rm -rf "$dir"; return 1; }
	_pf_sc_dialogue || rc=1
	_pf_sc_finish
	{ echo "# openssl s_client stderr:"; cat "$dir/stderr"; } >>"$_pf_transcript"
	PF_TLS_STARTED=$(_pf_sess_summary "$dir/sess")
	rm -rf "$dir"
	_pf_results_parse
	return "$rc"
}

# "PROTOCOL:CIPHER" of a session saved by s_client -sess_out, as swaks
# prints it (without the bits); empty when there is no session.
_pf_sess_summary() {
	[ -s "$1" ] || return 0
	openssl sess_id -in "$1" -noout -text 2>/dev/null | awk '
		$1 == "Protocol" { p = $3 }
		$1 == "Cipher" { c = $3 }
		END { if (p != "") print p ":" c }'
}

# ------------------------------------------------------------ mailboxes

# The delivered file(s) whose content has ID, and, given RCPT, whose
# Delivered-To is RCPT (virtual(8) writes one copy per recipient).
_pf_delivered_files() {
	local f
	[ -d "$PF_MAILBOX/new" ] || return 0
	grep -rlF -- "$1" "$PF_MAILBOX/new/" 2>/dev/null | while read -r f; do
		[ -z "${2-}" ] || grep -qixF -- "Delivered-To: $2" "$f" || continue
		echo "$f"
	done
}

# pf_wait_delivered ID [TIMEOUT=10] [RCPT]: poll until a message with ID
# (delivered to RCPT, if given) is in the mailbox; prints its file name.
# Fails after TIMEOUT seconds.
pf_wait_delivered() {
	local id=$1 limit=${2:-10} rcpt=${3-} start f
	start=$(_pf_now)
	while :; do
		f=$(_pf_delivered_files "$id" "$rcpt" | head -n 1)
		[ -n "$f" ] && { echo "$f"; return 0; }
		_pf_before "$start" "$limit" || return 1
		sleep 0.1
	done
}

# Queue entries as "QUEUE_NAME QUEUE_ID" lines.
_pf_queue_list() {
	postqueue -c "$PF_ETC" -j 2>/dev/null |
		sed -n 's/.*"queue_name": *"\([a-z]*\)".*"queue_id": *"\([0-9A-Za-z]*\)".*/\1 \2/p'
}

# True when no message waits for delivery (hold and deferred do not wait).
_pf_queue_settled() {
	! _pf_queue_list | grep -qE '^(incoming|active|maildrop) '
}

# pf_not_delivered ID [TIMEOUT=10] [RCPT]: true when message ID (for RCPT,
# if given) is not in the mailbox once the queue has nothing in flight (it
# was rejected, held, discarded or deferred). Fails if it arrives, or if the
# queue does not settle within TIMEOUT seconds.
pf_not_delivered() {
	local id=$1 limit=${2:-10} rcpt=${3-} start
	start=$(_pf_now)
	while :; do
		[ -z "$(_pf_delivered_files "$id" "$rcpt")" ] || return 1
		if _pf_queue_settled; then
			[ -z "$(_pf_delivered_files "$id" "$rcpt")" ]
			return
		fi
		_pf_before "$start" "$limit" || return 1
		sleep 0.1
	done
}

# pf_in_hold_queue ID [TIMEOUT=5]: true when a message whose content has ID
# is in the hold queue (e.g. put there by smfi_quarantine); prints its
# queue id.
pf_in_hold_queue() {
	local id=$1 limit=${2:-5} start q qid
	start=$(_pf_now)
	while :; do
		while read -r q qid; do
			[ "$q" = hold ] || continue
			if postcat -c "$PF_ETC" -q "$qid" 2>/dev/null | grep -qF -- "$id"; then
				echo "$qid"
				return 0
			fi
		done < <(_pf_queue_list)
		_pf_before "$start" "$limit" || return 1
		sleep 0.1
	done
}

# pf_delivered_header ID NAME [RCPT]: the value(s) of header NAME (any
# case) in the delivered copy of message ID (RCPT's copy, if given), one per
# line, folded lines joined with a space. Fails when ID was not delivered or
# has no such header.
pf_delivered_header() {
	local f
	f=$(_pf_delivered_files "$1" "${3-}" | head -n 1)
	[ -n "$f" ] || return 1
	e2e_header_values "$f" "$2"
}

# pf_wait_log REGEX [TIMEOUT=5]: wait until the maillog has a line matching
# the extended REGEX; prints the first such line.
pf_wait_log() {
	local re=$1 limit=${2:-5} start
	start=$(_pf_now)
	while :; do
		grep -Em 1 -- "$re" "$PF_LOG" 2>/dev/null && return 0
		_pf_before "$start" "$limit" || return 1
		sleep 0.1
	done
}

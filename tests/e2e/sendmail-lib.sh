# shellcheck shell=bash
# tests/e2e/sendmail-lib.sh - a private, real Sendmail on loopback for e2e tests.
#
# Sourced by e2e tests (bash, set -u), never run. Debian's sendmail-bin
# conflicts with postfix, so the packages are never installed: their .debs
# are unpacked into a private root (cached in SM_CACHE) and run from there
# with our own sendmail.cf. Sendmail runs in its own UTS and mount
# namespaces: a fully qualified hostname, a resolv.conf naming only
# 127.0.0.1 (no lookup leaves the machine) and a private /dev/log that feeds
# DIR/maillog. See SENDMAIL-NOTES.md for the facts behind the settings.
# The option names and results mirror lib.sh's pf_* (the Postfix side), so
# one test can drive either MTA.
#
# Public functions (details above each one):
#   sm_certs DIR                     test PKI in DIR (sm_start calls it)
#   sm_start DIR MILTER_SOCKET       start Sendmail on 127.0.0.1:$SM_PORT
#   sm_stop                          stop it and wait until it is gone
#   sm_send [OPTIONS]                one SMTP session with swaks
#   sm_rcpt_code ADDR / sm_rcpt_reply ADDR   RCPT reply of the last session
#   sm_reply ID STAGE [RCPT]         any reply of any session, from its files
#   sm_wait_delivered ID [T=10] [RCPT]
#   sm_not_delivered ID [T=10] [RCPT]
#   sm_in_hold_queue ID [T=5]        quarantined by the milter
#   sm_delivered_header ID NAME [RCPT]
#   sm_wait_log REGEX [T=5]          wait for a line in DIR/maillog
#   sm_new_id                        a fresh unique message id
#
# Settings (read by sm_start; plain assignments, not VAR=x prefixes on the
# call, which bash would undo when the function returns):
#   SM_PORT          listening port (default: a free one; also in DIR/port)
#   SM_CERT_FP_ALG   CertFingerprintAlgorithm; sha256 by default, so that
#                    {cert_fp} is sent; empty = Sendmail's default, which
#                    sends {cert_md5} and no {cert_fp}
#   SM_MC_EXTRA      more .mc lines, e.g. "define(`confTLS_SRV_OPTIONS', `V')"
#   SM_CACHE         where the unpacked packages are kept
#
# Every wait is bounded in time and every loop in count; every server and
# client is on 127.0.0.1.

# The SM_* result variables are read by the sourcing test, not here.
# shellcheck disable=SC2034

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SM_CACHE=${SM_CACHE:-/var/tmp/tlspolicy-sendmail}
# The packages whose files we run, and the libraries sendmail-bin links
# against (only those not installed are unpacked, e.g. libwrap0).
SM_DEBS="sendmail-bin sendmail-base sendmail-cf"
SM_LIBDEBS="libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3 libwrap0"
SM_HOSTNAME=${SM_HOSTNAME:-mx.test.example}
SM_CERT_FP_ALG=${SM_CERT_FP_ALG-sha256}
: "${SM_SMTP_TIMEOUT:=15}" # seconds per SMTP step (swaks --timeout); >= 10
: "${SM_HELO:=client.test.example}"
# Client cipher list: @SECLEVEL=0, as OpenSSL 3 refuses TLS 1.0/1.1 else.
: "${SM_CLIENT_CIPHERS:=DEFAULT:@SECLEVEL=0}"

# State of the running instance (empty when none).
SM_DIR=""
SM_PORT=${SM_PORT:-}
SM_PID=""
SM_LOG_PID=""

# Results of the last sm_send.
SM_LAST_ID=""
SM_LAST_LOG=""
SM_TLS_STARTED=""
SM_SWAKS_RC=""
SM_MAIL_REPLY=""
SM_MAIL_CODE=""
SM_DATA_REPLY=""
SM_DATA_CODE=""
SM_QUEUE_ID=""

sm_log() {
	printf 'sendmail-lib: %s\n' "$*" >&2
}

# ----------------------------------------------------------- installation

# sm_extract: unpack the packages into $SM_CACHE/root once. The lock keeps
# two tests from unpacking at once; the marker is written last, so a
# half-done unpack is never used.
sm_extract() {
	[ -e "$SM_CACHE/.complete" ] && return 0
	mkdir -p "$SM_CACHE" || return 1
	(
		flock -w 300 9 || { sm_log "cache lock timeout"; exit 1; }
		[ -e "$SM_CACHE/.complete" ] && exit 0
		sm_extract_locked
	) 9>"$SM_CACHE/.lock"
}

sm_extract_locked() {
	local root=$SM_CACHE/root dl=$SM_CACHE/debs deb pkg missing=""
	rm -rf "$root" "$dl" && mkdir -p "$root" "$dl" || return 1
	for pkg in $SM_LIBDEBS; do
		dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
	done
	# apt-get download needs package lists: update once if it fails.
	# shellcheck disable=SC2086 # the package lists are meant to split
	if ! (cd "$dl" && timeout 300 apt-get download $SM_DEBS $missing) >"$dl/apt.log" 2>&1; then
		timeout 300 apt-get update >>"$dl/apt.log" 2>&1
		# shellcheck disable=SC2086
		(cd "$dl" && timeout 300 apt-get download $SM_DEBS $missing) >>"$dl/apt.log" 2>&1 ||
			{ sm_log "apt-get download failed, see $dl/apt.log"; return 1; }
	fi
	for deb in "$dl"/*.deb; do
		dpkg -x "$deb" "$root" || return 1
	done
	# The binary is setgid mail: run by root, ld.so would then ignore
	# LD_LIBRARY_PATH, which is how it finds the unpacked libraries.
	chmod g-s "$root/usr/libexec/sendmail/sendmail" || return 1
	if LD_LIBRARY_PATH=$(sm_libpath) ldd "$(sm_binary)" | grep -q 'not found'; then
		sm_log "sendmail still misses libraries:"
		LD_LIBRARY_PATH=$(sm_libpath) ldd "$(sm_binary)" | grep 'not found' >&2
		return 1
	fi
	touch "$SM_CACHE/.complete"
}

# Library directories of the unpacked root, whatever the architecture.
sm_libpath() {
	local d path=""
	for d in "$SM_CACHE"/root/usr/lib/*-linux-gnu "$SM_CACHE"/root/lib/*-linux-gnu; do
		[ -d "$d" ] && path=$path${path:+:}$d
	done
	printf '%s' "$path"
}

sm_binary() {
	printf '%s' "$SM_CACHE/root/usr/libexec/sendmail/sendmail"
}

# ----------------------------------------------------------- certificates

# sm_mkca DIR NAME SUBJECT: a self-signed CA in NAME.crt / NAME.key.
sm_mkca() {
	local dir=$1 name=$2 subj=$3
	openssl req -x509 -new -newkey rsa:2048 -nodes -subj "$subj" -days 30 -sha256 \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$dir/$name.key" -out "$dir/$name.crt" 2>>"$dir/openssl.log" &&
		chmod 600 "$dir/$name.key"
}

# sm_mkcsr DIR NAME SUBJECT USAGE: key, request and extension file for a
# leaf. SUBJECT may hold \xHH escapes (UTF-8 bytes).
sm_mkcsr() {
	local dir=$1 name=$2 subj=$3 usage=$4
	printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=%s\nsubjectAltName=DNS:%s\n' \
		"$usage" "${subj##*CN=}" >"$dir/$name.ext"
	openssl req -new -newkey rsa:2048 -nodes -utf8 -subj "$(printf '%b' "$subj")" \
		-keyout "$dir/$name.key" -out "$dir/$name.csr" 2>>"$dir/openssl.log" &&
		chmod 600 "$dir/$name.key"
}

# sm_mkcert DIR NAME SUBJECT CA USAGE: a leaf valid for 30 days, signed by
# CA (made before in DIR), with extendedKeyUsage USAGE.
sm_mkcert() {
	local dir=$1 name=$2 ca=$4
	sm_mkcsr "$dir" "$name" "$3" "$5" &&
		openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
			-extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>>"$dir/openssl.log"
}

# sm_mkexpired DIR NAME SUBJECT CA: a client leaf whose validity ended in
# 2020. openssl x509 cannot date a certificate in the past; openssl ca can,
# given a minimal database.
sm_mkexpired() {
	local dir=$1 name=$2 ca=$4 db=$1/ca-db
	mkdir -p "$db/new" && : >"$db/index.txt" && openssl rand -hex 8 >"$db/serial" || return 1
	printf '%s\n' '[ca]' 'default_ca = test' '[test]' "database = $db/index.txt" \
		"new_certs_dir = $db/new" "serial = $db/serial" 'default_md = sha256' \
		'policy = any' 'unique_subject = no' '[any]' 'countryName = optional' \
		'organizationName = optional' 'commonName = supplied' >"$db/ca.cnf"
	sm_mkcsr "$dir" "$name" "$3" clientAuth &&
		openssl ca -batch -notext -config "$db/ca.cnf" -cert "$dir/$ca.crt" \
			-keyfile "$dir/$ca.key" -startdate 20200101000000Z -enddate 20200201000000Z \
			-extfile "$dir/$name.ext" -in "$dir/$name.csr" -out "$dir/$name.crt" \
			>>"$dir/openssl.log" 2>&1
}

# sm_certs DIR: the test PKI, made once per DIR.
#   ca.crt, cadir/        trusted test CA (CACertFile, hashed CACertPath)
#   server.crt/.key       mx.test.example, Sendmail's STARTTLS cert
#   client.crt/.key       trusted: /C=DE/O=Partner Bank AG/CN=client.partner.example
#                         (a space in O, so xtext shows "+20")
#   untrusted.crt/.key    the same subject, issued by rogue-ca, which
#                         Sendmail does not trust (a spoofed DN)
#   expired.crt/.key      CN=expired.partner.example, test CA, ended 2020
#   odd.crt/.key          trusted; UTF-8, "/", "+", "&", "=" in O, to see
#                         how Sendmail escapes them
sm_certs() {
	local dir=$1
	[ -s "$dir/cadir/ca.pem" ] && return 0 # made last
	mkdir -p "$dir/cadir" || return 1
	if ! {
		sm_mkca "$dir" ca "/C=DE/O=TLS Policy Test/CN=TLS Policy Test CA" &&
			sm_mkca "$dir" rogue-ca "/C=DE/O=Rogue Test/CN=Rogue Test CA" &&
			sm_mkcert "$dir" server "/C=DE/O=MX Test/CN=$SM_HOSTNAME" ca serverAuth &&
			sm_mkcert "$dir" client "/C=DE/O=Partner Bank AG/CN=client.partner.example" ca clientAuth &&
			sm_mkcert "$dir" untrusted "/C=DE/O=Partner Bank AG/CN=client.partner.example" rogue-ca clientAuth &&
			sm_mkexpired "$dir" expired "/C=DE/O=Partner Bank AG/CN=expired.partner.example" ca &&
			sm_mkcert "$dir" odd "/C=DE/O=M\xc3\xbcller \\/ S\xc3\xb6hne \\+ Co=KG & Partner/CN=odd.partner.example" ca clientAuth
	}; then
		sm_log "certificate generation failed, see $dir/openssl.log"
		return 1
	fi
	rm -f "$dir"/*.csr "$dir"/*.ext
	cp "$dir/ca.crt" "$dir/cadir/ca.pem.tmp" && mv "$dir/cadir/ca.pem.tmp" "$dir/cadir/ca.pem" &&
		openssl rehash "$dir/cadir" >>"$dir/openssl.log" 2>&1
}

# sm_cert_file NAME: the certificate of a named test identity (the key is
# beside it, .key).
sm_cert_file() {
	case $1 in
	trusted) printf '%s' "$SM_DIR/certs/client.crt" ;;
	untrusted | rogue) printf '%s' "$SM_DIR/certs/untrusted.crt" ;;
	expired) printf '%s' "$SM_DIR/certs/expired.crt" ;;
	odd) printf '%s' "$SM_DIR/certs/odd.crt" ;;
	*) sm_log "unknown certificate name $1"; return 1 ;;
	esac
}

# ----------------------------------------------------------- configuration

# sm_free_port: a TCP port on 127.0.0.1 nobody listens on (bounded tries;
# sm_start notices the small remaining race when Sendmail does not listen).
sm_free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
			printf '%s' "$p"
			return 0
		fi
	done
	return 1
}

# sm_write_mc DIR SOCKET PORT: the .mc. Paths are m4-quoted so that no part
# of a directory name is taken for an m4 macro. Rules need TABs.
sm_write_mc() {
	local d=$1 sock=$2 port=$3 tab tls_macros
	tab=$(printf '\t')
	tls_macros='{tls_version}, {cipher}, {cipher_bits}, {cert_subject}, {cert_issuer}, {verify}, {cert_fp}, {cert_md5}'
	cat >"$d/sendmail.mc" <<EOF
divert(-1)
# tlspolicy end-to-end Sendmail: loopback only, every file under $d
divert(0)dnl
VERSIONID(\`tlspolicy e2e')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$SM_HOSTNAME')dnl
define(\`QUEUE_DIR', \`$d/mqueue')dnl
define(\`confPID_FILE', \`$d/sendmail.pid')dnl
define(\`STATUS_FILE', \`$d/sendmail.st')dnl
define(\`ALIAS_FILE', \`$d/aliases')dnl
define(\`confCW_FILE', \`-o $d/local-host-names')dnl
define(\`confCT_FILE', \`-o $d/trusted-users')dnl
define(\`HELP_FILE', \`$d/helpfile')dnl
define(\`confDEAD_LETTER_DROP', \`$d/dead.letter')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
dnl no DNS: host names from our hosts file only, addresses not canonified
define(\`confSERVICE_SWITCH_FILE', \`$d/service.switch')dnl
define(\`confHOSTS_FILE', \`$d/hosts')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confTO_IDENT', \`0s')dnl
dnl a busy CI machine must not make Sendmail queue or refuse
define(\`confQUEUE_LA', \`200')dnl
define(\`confREFUSE_LA', \`400')dnl
define(\`confDELAY_LA', \`0')dnl
define(\`confMIN_FREE_BLOCKS', \`0')dnl
define(\`confLOG_LEVEL', \`14')dnl
dnl the work directory usually lives under /tmp (sticky)
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`confPRIVACY_FLAGS', \`goaway')dnl
dnl STARTTLS; SECLEVEL=0 so that TLSv1 and TLSv1.1 can still be tested.
dnl Client certificates are asked for by default (no confTLS_SRV_OPTIONS V).
define(\`confCACERT_PATH', \`$d/certs/cadir')dnl
define(\`confCACERT', \`$d/certs/ca.crt')dnl
define(\`confSERVER_CERT', \`$d/certs/server.crt')dnl
define(\`confSERVER_KEY', \`$d/certs/server.key')dnl
define(\`confCIPHER_LIST', \`DEFAULT:@SECLEVEL=0')dnl
ifelse(\`$SM_CERT_FP_ALG', \`', \`dnl', \`define(\`confCERT_FINGERPRINT_ALGORITHM', \`$SM_CERT_FP_ALG')dnl')
dnl the milter (F=T: tempfail when it is unavailable), and every macro
dnl tlspolicy reads; {verify} is not in Sendmail's default lists. The TLS
dnl macros are asked for at MAIL and RCPT too: a client may skip the EHLO
dnl after STARTTLS.
INPUT_MAIL_FILTER(\`tlspolicy', \`S=unix:$sock, F=T, T=S:10s;R:30s;E:2m')dnl
define(\`confMILTER_LOG_LEVEL', \`14')dnl
define(\`confMILTER_MACROS_CONNECT', \`j, _, v, {daemon_name}, {client_addr}, {client_name}, {if_name}, {if_addr}')dnl
define(\`confMILTER_MACROS_HELO', \`$tls_macros, {alg_bits}')dnl
define(\`confMILTER_MACROS_ENVFROM', \`i, {mail_addr}, {mail_host}, {mail_mailer}, {auth_type}, {auth_authen}, {auth_ssf}, {auth_author}, $tls_macros, {client_name}, {client_resolve}')dnl
define(\`confMILTER_MACROS_ENVRCPT', \`i, {rcpt_addr}, {rcpt_host}, {rcpt_mailer}, {auth_authen}, $tls_macros, {client_name}, {client_resolve}')dnl
define(\`confMILTER_MACROS_EOM', \`i, {msg_id}')dnl
dnl the caller's additions (SM_MC_EXTRA)
${SM_MC_EXTRA:-}
DAEMON_OPTIONS(\`Port=$port, Addr=127.0.0.1, Name=MTA')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`accept_unqualified_senders')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
LOCAL_RULE_0
# every address with a domain goes to the test mailbox
R\$+ < @ \$+ > \$*${tab}\$#e2efile \$@ localhost \$: \$1 < @ \$2 > \$3
MAILER_DEFINITIONS
# one call per recipient; S: stay root (the mailbox is private to the test)
Me2efile, P=\`$d/deliver', F=lsDFMnS, T=DNS/RFC822/X-Unix, A=deliver \$u
EOF
}

# sm_write_support DIR: the small files the .cf names, and the mailer.
sm_write_support() {
	local d=$1
	mkdir -p "$d/mqueue" "$d/mail" "$d/tx" || return 1
	chmod 700 "$d/mqueue"
	printf 'hosts files\naliases files\n' >"$d/service.switch"
	printf '127.0.0.1 localhost %s\n' "$SM_HOSTNAME" >"$d/hosts"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$d/resolv.conf"
	# Host names from our hosts file only; "multi off": a name listed
	# twice resolves to its first address only, so a test can give an
	# address a PTR name that does not resolve back to it.
	sed 's/^hosts:.*/hosts: files/' /etc/nsswitch.conf >"$d/nsswitch.conf"
	printf 'multi off\n' >"$d/host.conf"
	printf 'postmaster: root\n' >"$d/aliases"
	: >"$d/local-host-names"
	: >"$d/trusted-users"
	: >"$d/helpfile"
	: >"$d/sendmail.st"
	# One file per recipient, written then renamed: a reader never sees
	# half a message.
	cat >"$d/deliver" <<EOF
#!/bin/sh
f="$d/mail/\$(/bin/date +%s.%N).\$\$"
{ printf 'X-E2E-Rcpt: %s\n' "\$1"; /bin/cat; } >"\$f.tmp" && /bin/mv "\$f.tmp" "\$f.eml"
EOF
	chmod 755 "$d/deliver"
}

# sm_build_cf DIR: sendmail.mc -> sendmail.cf with the unpacked cf/ tree.
sm_build_cf() {
	local d=$1 cfdir=$SM_CACHE/root/usr/share/sendmail/cf
	m4 -D_CF_DIR_="$cfdir/" "$cfdir/m4/cf.m4" "$d/sendmail.mc" >"$d/sendmail.cf" 2>"$d/m4.err" ||
		{ sm_log "m4 failed:"; cat "$d/m4.err" >&2; return 1; }
	# The open-relay warning is expected: relaying from loopback is the point.
	grep -v -e 'promiscuous_relay' -e 'relay.  Do NOT use it' "$d/m4.err" >"$d/m4.warn"
	if [ -s "$d/m4.warn" ]; then
		sm_log "m4 warnings:"
		cat "$d/m4.warn" >&2
	fi
	return 0
}

# sm_write_nsrun DIR: the script sm_start runs in new UTS and mount
# namespaces; it ends by exec'ing Sendmail (same pid, which sm_stop waits
# on). It sets
#  - a qualified hostname: Sendmail waits for one at start;
#  - our hosts file (and nsswitch.conf, host.conf: names from that file
#    only), and a resolv.conf naming only 127.0.0.1: no lookup leaves
#    the machine (the system resolver is not on loopback);
#  - a private /dev (the usual nodes, bound from the real one) whose "log"
#    links to DIR/log.sock: there is no syslog daemon here, and this is how
#    Sendmail's log reaches DIR/maillog (sm_syslog_start).
sm_write_nsrun() {
	local d=$1
	cat >"$d/ns-run" <<'EOF'
#!/bin/sh
set -e
host=$1 d=$2
shift 2
hostname "$host"
mount --bind "$d/resolv.conf" /etc/resolv.conf
mount --bind "$d/hosts" /etc/hosts
mount --bind "$d/nsswitch.conf" /etc/nsswitch.conf
mount --bind "$d/host.conf" /etc/host.conf
mkdir -p "$d/ns-dev"
mount -t tmpfs -o mode=755 tmpfs "$d/ns-dev"
for n in null zero full random urandom tty; do
	touch "$d/ns-dev/$n"
	mount --bind "/dev/$n" "$d/ns-dev/$n"
done
ln -s /proc/self/fd "$d/ns-dev/fd"
ln -s "$d/log.sock" "$d/ns-dev/log"
mount --move "$d/ns-dev" /dev
exec "$@"
EOF
	chmod 755 "$d/ns-run"
}

# sm_syslog_start DIR: a datagram listener on DIR/log.sock appending each
# syslog message to DIR/maillog. It ends when sm_stop stops it, when the
# test's shell is gone, or after SM_LOG_MAX seconds (default 3600).
sm_syslog_start() {
	local d=$1
	rm -f "$d/log.sock"
	perl -MIO::Socket::UNIX -MSocket -e '
		my ($path, $out, $watch, $max) = @ARGV;
		my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path)
			or die "sendmail-lib: $path: $!\n";
		chmod 0666, $path;
		open(my $o, ">>", $out) or die "sendmail-lib: $out: $!\n";
		$o->autoflush(1);
		my $end = time + $max;
		while (time < $end && kill(0, $watch)) {
			my $rin = "";
			vec($rin, fileno($s), 1) = 1;
			next unless select(my $r = $rin, undef, undef, 1);
			my $buf;
			$s->recv($buf, 65536);
			$buf =~ s/^<\d+>//;
			$buf =~ s/\n+$//;
			print $o "$buf\n";
		}' "$d/log.sock" "$d/maillog" "$$" "${SM_LOG_MAX:-3600}" &
	SM_LOG_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$d/log.sock" ] && return 0
		sleep 0.1
	done
	sm_log "syslog listener did not start"
	return 1
}

# ----------------------------------------------------------------- running

# sm_start DIR MILTER_SOCKET: configure and start Sendmail as a foreground
# daemon (-bD) in the background, for SM_MAX_SECONDS at most (default
# 3600); SM_PID is the pid to stop (timeout(1)'s, whose child Sendmail is),
# SM_DIR the absolute DIR. SM_PORT may be set before, otherwise a free port is chosen. Waits up
# to 20 s until Sendmail listens. Files: DIR/sendmail.{mc,cf}, DIR/maillog
# (syslog), DIR/traffic.log (-X), DIR/sendmail.out, DIR/mail/*.eml (one per
# delivered recipient), DIR/tx/ID.* (sessions), DIR/certs (sm_certs).
sm_start() {
	local d=$1 sock=$2
	[ $# -eq 2 ] || { sm_log "usage: sm_start DIR MILTER_SOCKET"; return 2; }
	[ -z "$SM_PID" ] || { sm_log "sendmail $SM_PID is still running"; return 1; }
	command -v m4 >/dev/null || { sm_log "m4 is missing"; return 1; }
	command -v swaks >/dev/null || { sm_log "swaks is missing"; return 1; }
	mkdir -p "$d" && d=$(cd "$d" && pwd) || return 1
	SM_DIR=$d
	sm_extract && sm_certs "$d/certs" || return 1
	[ -n "$SM_PORT" ] || SM_PORT=$(sm_free_port) || { sm_log "no free port"; return 1; }
	printf '%s\n' "$SM_PORT" >"$d/port"
	sm_write_support "$d" && sm_write_nsrun "$d" && sm_write_mc "$d" "$sock" "$SM_PORT" &&
		sm_build_cf "$d" && sm_syslog_start "$d" || return 1
	# timeout(1) bounds Sendmail's life even if the test is killed before
	# sm_stop; it passes sm_stop's TERM on and ends with Sendmail (unshare
	# and ns-run exec). -X: SMTP traffic log. No -d: Sendmail writes debug
	# output into the SMTP session.
	LD_LIBRARY_PATH=$(sm_libpath) timeout -k 10 "${SM_MAX_SECONDS:-3600}" \
		unshare -u -m --propagation private \
		"$d/ns-run" "$SM_HOSTNAME" "$d" \
		"$(sm_binary)" -bD -q1m -C "$d/sendmail.cf" -X "$d/traffic.log" \
		</dev/null >"$d/sendmail.out" 2>&1 &
	SM_PID=$!
	printf '%s\n' "$SM_PID" >"$d/sendmail.runpid"
	for _ in $(seq 1 100); do
		if ! kill -0 "$SM_PID" 2>/dev/null; then
			sm_log "sendmail exited at start:"
			tail -n 20 "$d/sendmail.out" "$d/maillog" >&2
			wait "$SM_PID" 2>/dev/null
			SM_PID=""
			sm_stop
			return 1
		fi
		sm_ready && return 0
		sleep 0.2
	done
	sm_log "sendmail does not listen on 127.0.0.1:$SM_PORT after 20 s"
	sm_stop
	return 1
}

# sm_ready: true once Sendmail listens. It reads the socket table rather
# than connecting, so the milter sees no extra session.
sm_ready() {
	[ -n "$(ss -Hltn "sport = :$SM_PORT" 2>/dev/null)" ]
}

# sm_reap: processes still working in our queue directory (SMTP or queue
# run children of this Sendmail) get TERM, then KILL.
sm_reap() {
	local q=$SM_DIR/mqueue p pids=""
	[ -n "$SM_DIR" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$q" ] && pids="$pids ${p#/proc/}"
	done
	[ -n "$pids" ] || return 0
	sm_log "stopping leftover sendmail processes:$pids"
	# shellcheck disable=SC2086 # one pid per word
	kill -TERM $pids 2>/dev/null
	for _ in $(seq 1 25); do
		# shellcheck disable=SC2086
		kill -0 $pids 2>/dev/null || return 0
		sleep 0.2
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	return 0
}

# sm_stop: TERM Sendmail, wait up to 10 s, then KILL; reap its children;
# stop the syslog listener. Safe to call twice, and from a trap.
sm_stop() {
	if [ -n "$SM_PID" ]; then
		kill -TERM "$SM_PID" 2>/dev/null
		for _ in $(seq 1 50); do
			kill -0 "$SM_PID" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$SM_PID" 2>/dev/null; then
			sm_log "sendmail $SM_PID ignored TERM, killing it"
			kill -KILL "$SM_PID" 2>/dev/null
		fi
		wait "$SM_PID" 2>/dev/null
		SM_PID=""
	fi
	sm_reap
	if [ -n "$SM_LOG_PID" ]; then
		kill -TERM "$SM_LOG_PID" 2>/dev/null
		wait "$SM_LOG_PID" 2>/dev/null
		SM_LOG_PID=""
	fi
	return 0
}

# sm_wait_log REGEX [TIMEOUT=5]: wait until DIR/maillog has a line matching
# the extended REGEX; prints the first such line.
sm_wait_log() {
	local re=$1 end=$((SECONDS + ${2:-5}))
	while :; do
		grep -Em 1 -- "$re" "$SM_DIR/maillog" 2>/dev/null && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ------------------------------------------------------------------ client

# sm_new_id: a message id no other message of any run has.
sm_new_id() {
	printf 'e2e-%s-%s-%s\n' "$(date +%s%N)" "$$" "$RANDOM"
}

# sm_send [OPTIONS]: one SMTP session with swaks to the running Sendmail.
#   --tls none|any|TLSv1|TLSv1.1|TLSv1.2|TLSv1.3   (default none; 1.0..1.3
#                                   are accepted too)
#   --cert trusted|untrusted|rogue|expired|odd   client certificate
#   --cert-file CRT --key-file KEY  any other client certificate
#   --cipher LIST                   client cipher list (TLS <= 1.2)
#   --from ADDR                     envelope sender (default sender@example.com)
#   --to ADDR                       envelope recipient, repeat for more
#   --id ID                         unique id (default: sm_new_id)
#   --header 'Name: value'          one more header, repeatable
#   --helo NAME                     (default $SM_HELO)
#   --client ADDR                   connect from this local address (127.0.0.x)
#   --quit-after STAGE              swaks' --quit-after (e.g. rcpt)
#   --swaks ARG                     one more swaks argument, repeatable
# The message carries the id in its Subject, Message-Id, X-Test-Id and body.
# Results: SM_LAST_ID, SM_LAST_LOG (swaks' transcript, DIR/tx/ID.txt),
# SM_TLS_STARTED (e.g. "TLSv1.2:ECDHE-RSA-AES256-GCM-SHA384:256"),
# SM_MAIL_CODE/REPLY, sm_rcpt_code ADDR, SM_DATA_CODE/REPLY (the reply to
# the end of the message), SM_QUEUE_ID, SM_SWAKS_RC; DIR/tx/ID.replies
# keeps them for sm_reply. Returns 0 when the session got a greeting (and
# TLS, if asked for), 1 if not: the SMTP outcome is for the caller to judge.
sm_send() {
	local tls=none cert="" key="" cipher=$SM_CLIENT_CIPHERS from=sender@example.com
	local id="" helo=$SM_HELO proto="" to_list
	local -a to=() args=() extra=()
	while [ $# -gt 0 ]; do
		[ $# -ge 2 ] || { sm_log "sm_send: option $1 needs a value"; return 2; }
		case $1 in
		--tls) tls=$2 ;;
		--cert) cert=$(sm_cert_file "$2") || return 2
			key=${cert%.crt}.key ;;
		--cert-file) cert=$2 ;;
		--key-file) key=$2 ;;
		--cipher) cipher=$2:@SECLEVEL=0 ;;
		--from) from=$2 ;;
		--to) to+=("$2") ;;
		--id) id=$2 ;;
		--header) extra+=(--add-header "$2") ;;
		--helo) helo=$2 ;;
		--client) extra+=(--local-interface "$2") ;;
		--quit-after) extra+=(--quit-after "$2") ;;
		--swaks) extra+=("$2") ;;
		*) sm_log "sm_send: unknown option $1"; return 2 ;;
		esac
		shift 2
	done
	[ ${#to[@]} -gt 0 ] || to=(rcpt@example.com)
	[ -n "$id" ] || id=$(sm_new_id)
	case $tls in
	none | any) ;;
	TLSv1 | 1.0) proto=tlsv1 ;;
	TLSv1.1 | 1.1) proto=tlsv1_1 ;;
	TLSv1.2 | 1.2) proto=tlsv1_2 ;;
	TLSv1.3 | 1.3) proto=tlsv1_3 ;;
	*) sm_log "sm_send: unknown TLS version $tls"; return 2 ;;
	esac
	to_list=$(IFS=,; printf '%s' "${to[*]}")
	args=(--server 127.0.0.1 --port "$SM_PORT" --ehlo "$helo" --from "$from"
		--to "$to_list" --timeout "${SM_SMTP_TIMEOUT}s"
		--header "Subject: tlspolicy e2e $id" --header "Message-Id: <$id@e2e.test.example>"
		--header "X-Test-Id: $id" --body "tlspolicy e2e message $id")
	[ "$tls" = none ] || args+=(--tls --tls-cipher "$cipher")
	[ -z "$proto" ] || args+=(--tls-protocol "$proto")
	[ -z "$cert" ] || args+=(--tls-cert "$cert" --tls-key "$key")
	SM_LAST_ID=$id
	SM_LAST_LOG=$SM_DIR/tx/$id.txt
	# swaks bounds each step; timeout(1) bounds the whole session.
	SM_SWAKS_RC=0
	timeout $((SM_SMTP_TIMEOUT * 6)) swaks "${args[@]}" "${extra[@]}" >"$SM_LAST_LOG" 2>&1 ||
		SM_SWAKS_RC=$?
	sm_parse_replies <"$SM_LAST_LOG" >"$SM_DIR/tx/$id.replies"
	SM_TLS_STARTED=$(sed -n 's/^=== TLS started with cipher //p' "$SM_LAST_LOG" | head -n 1)
	SM_MAIL_REPLY=$(sm_reply "$id" MAIL)
	SM_DATA_REPLY=$(sm_reply "$id" EOM)
	SM_MAIL_CODE=${SM_MAIL_REPLY:0:3}
	SM_DATA_CODE=${SM_DATA_REPLY:0:3}
	SM_QUEUE_ID=""
	case $SM_DATA_REPLY in
	"250 "*" Message accepted"*) SM_QUEUE_ID=$(printf '%s' "$SM_DATA_REPLY" | awk '{ print $3 }') ;;
	esac
	grep -q '^<- *220' "$SM_LAST_LOG" || return 1
	[ "$tls" = none ] || [ -n "$SM_TLS_STARTED" ]
}

# sm_parse_replies: swaks output on stdin -> one line per reply: "CMD CODE
# TEXT" (CMD: EHLO, STARTTLS, MAIL, DATA, QUIT...), "RCPT ADDR CODE TEXT",
# "EOM CODE TEXT" for the end of the message. A multi-line reply keeps its
# last line. swaks marks client lines "->"/"~>" (plain/TLS), server lines
# "<-"/"<~" and error replies "<**"/"<~*".
sm_parse_replies() {
	awk '
	function reply(line) { sub(/^ *<[-~*]+ +/, "", line); sub(/\r$/, "", line); return line }
	/^ *[-~]> / {
		line = $0
		sub(/^ *[-~]> /, "", line)
		if (inbody) { if (line == ".") { inbody = 0; stage = "EOM" }; next }
		split(line, w, /[ :]/)
		stage = toupper(w[1])
		if (stage == "RCPT") { r = line; sub(/.*[Tt][Oo]:</, "", r); sub(/>.*/, "", r) }
		next
	}
	/^ *<[-~*]+ +[0-9][0-9][0-9]( |$)/ {
		rep = reply($0)
		if (stage == "RCPT") print "RCPT", r, rep
		else if (stage != "") print stage, rep
		if (stage == "DATA" && rep ~ /^354/) inbody = 1
		stage = ""
	}'
}

# sm_reply ID STAGE [RCPT]: the reply ("CODE TEXT") to STAGE (MAIL, RCPT of
# that recipient, DATA, EOM, STARTTLS, EHLO...) in session ID; one line per
# reply (EHLO: before and after STARTTLS); empty if not reached.
sm_reply() {
	local id=$1 stage=$2 rcpt=${3:-}
	[ -e "$SM_DIR/tx/$id.replies" ] || return 0
	if [ "$stage" = RCPT ]; then
		awk -v r="$rcpt" '$1 == "RCPT" && $2 == r { sub(/^RCPT [^ ]+ /, ""); print }' \
			"$SM_DIR/tx/$id.replies"
	else
		awk -v s="$stage" '$1 == s { sub(/^[^ ]+ /, ""); print }' "$SM_DIR/tx/$id.replies"
	fi
}

# sm_rcpt_reply ADDR / sm_rcpt_code ADDR: the last session's reply to
# RCPT TO:<ADDR>, or its three-digit code; empty if not sent.
sm_rcpt_reply() {
	sm_reply "$SM_LAST_ID" RCPT "$1"
}

sm_rcpt_code() {
	local r
	r=$(sm_rcpt_reply "$1")
	printf '%s\n' "${r:0:3}"
}

# ------------------------------------------------------------ delivered mail

# sm_delivered_files ID [RCPT]: the delivered copies of message ID (one per
# recipient), or only RCPT's.
sm_delivered_files() {
	local id=$1 rcpt=${2:-} f
	for f in "$SM_DIR"/mail/*.eml; do
		[ -e "$f" ] || continue
		grep -qiF -- "X-Test-Id: $id" "$f" || continue
		[ -z "$rcpt" ] || grep -qixF -- "X-E2E-Rcpt: $rcpt" "$f" || continue
		printf '%s\n' "$f"
	done
}

# sm_queue_files PREFIX ID: queue files (qf: waiting, hf: quarantined)
# that hold message ID.
sm_queue_files() {
	local f
	for f in "$SM_DIR/mqueue/$1"*; do
		[ -e "$f" ] || continue
		grep -qF -- "$2" "$f" && printf '%s\n' "$f"
	done
	return 0
}

# sm_wait_delivered ID [TIMEOUT=10] [RCPT]: poll until a copy of ID (RCPT's,
# if given) is delivered; prints its file name. Fails after TIMEOUT s.
sm_wait_delivered() {
	local id=$1 rcpt=${3:-} end=$((SECONDS + ${2:-10})) f
	while :; do
		f=$(sm_delivered_files "$id" "$rcpt" | head -n 1)
		[ -n "$f" ] && { printf '%s\n' "$f"; return 0; }
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# sm_not_delivered ID [TIMEOUT=10] [RCPT]: true when no copy of ID (for
# RCPT, if given) was delivered once the queue holds nothing of it waiting
# (rejected, discarded or quarantined). Fails if it arrives, or if it is
# still queued after TIMEOUT seconds.
sm_not_delivered() {
	local id=$1 rcpt=${3:-} end=$((SECONDS + ${2:-10}))
	while :; do
		[ -z "$(sm_delivered_files "$id" "$rcpt")" ] || return 1
		if [ -z "$(sm_queue_files qf "$id")" ]; then
			[ -z "$(sm_delivered_files "$id" "$rcpt")" ]
			return
		fi
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# sm_in_hold_queue ID [TIMEOUT=5]: true when message ID was quarantined
# (smfi_quarantine: Sendmail renames its qf file to hf); prints the queue
# id and the reason ("QUEUEID REASON").
sm_in_hold_queue() {
	local id=$1 end=$((SECONDS + ${2:-5})) f
	while :; do
		f=$(sm_queue_files hf "$id" | head -n 1)
		if [ -n "$f" ]; then
			printf '%s %s\n' "${f##*/hf}" "$(sed -n 's/^q//p' "$f" | head -n 1)"
			return 0
		fi
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# sm_delivered_header ID NAME [RCPT]: the value(s) of header NAME (any
# case) in the delivered copy of ID (RCPT's, if given), one per line,
# folded lines joined with a space. Fails when ID was not delivered or has
# no such header.
sm_delivered_header() {
	local f
	f=$(sm_delivered_files "$1" "${3:-}" | head -n 1)
	[ -n "$f" ] || return 1
	e2e_header_values "$f" "$2"
}

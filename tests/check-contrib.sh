#!/bin/sh
# check-contrib.sh - the files that plug tlspolicy-milter into a system
# (contrib/systemd, default, logrotate, postfix, sendmail) are accepted by
# the tools that will read them, agree with each other, and ask the MTAs
# for the macros the milter really requests.
#
# A part whose tool is missing (systemd-analyze, systemd-tmpfiles,
# systemd-sysusers, logrotate, postconf, m4 with Sendmail's cf tree, pgrep) is skipped with
# a line saying so; exit 0 when every part that ran passed, 1 on any
# failure, 77 when nothing could run. Reads top_srcdir and top_builddir
# like the other tests; writes only below a temporary directory.

# $MAINPID and $DAEMON_OPTS are the unit's own text, never expanded here.
# shellcheck disable=SC2016
set -u
src=${top_srcdir:-.}
bin=${top_builddir:-.}/tlspolicy-milter
unit=$src/contrib/systemd/tlspolicy-milter.service
tmpfiles=$src/contrib/systemd/tlspolicy-milter.tmpfiles
sysusers=$src/contrib/systemd/tlspolicy.sysusers
defaults=$src/contrib/default/tlspolicy-milter
rotate=$src/contrib/logrotate/tlspolicy-milter
pfsnip=$src/contrib/postfix/main.cf.snippet
smsnip=$src/contrib/sendmail/tlspolicy.mc.snippet
callbacks=$src/milter/callbacks.c
macros=$src/milter/macros.c
tmp=$(mktemp -d /tmp/tlsp-contrib.XXXXXX) || exit 1
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0 skipped=0

ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	printf 'FAIL %s\n' "$*"
}
skip() {
	skipped=$((skipped + 1))
	printf 'skip %s\n' "$*"
}
# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
	name=$1
	shift
	if "$@"; then ok; else bad "$name"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }
# in_list WORD LIST: WORD is one of LIST's items (separated by blanks or
# commas).
in_list() {
	printf '%s\n' "$2" | tr -s ', ' '\n' | grep -qxF -- "$1"
}
# value KEY FILE: the value of the first "KEY=" line of a unit or
# defaults file.
value() {
	sed -n "s/^$1=//p" "$2" | head -n 1
}
# sm_list STAGE: the macro list of define(`confMILTER_MACROS_STAGE', ...).
sm_list() {
	sed -n "s/^define(\`confMILTER_MACROS_$1', \`\(.*\)')dnl\$/\1/p" "$smsnip"
}
# ours STAGE: the macros the milter requests for SMFIM_STAGE in
# milter/callbacks.c (its row may span lines; TLS_MACROS and
# CLIENT_MACROS expanded).
ours() {
	line=$(sed -n "/{SMFIM_$1,/,/},/p" "$callbacks" | tr '\n' ' ')
	list=$(printf '%s\n' "$line" | sed -n 's/[^"]*"\([^"]*\)"[^"]*/\1 /gp')
	case $line in
	*TLS_MACROS*) list="$list $tls_macros" ;;
	esac
	case $line in
	*CLIENT_MACROS*) list="$list $client_macros" ;;
	esac
	printf '%s\n' "$list"
}

for f in "$unit" "$tmpfiles" "$sysusers" "$defaults" "$rotate" "$pfsnip" "$smsnip"; do
	[ -f "$f" ] || { bad "missing $f"; }
done
[ "$fail" -eq 0 ] || exit 1

tls_macros=$(sed -n '/^#define TLS_MACROS/,/^$/p' "$callbacks" | grep -o '{[a-z_]*}' | tr '\n' ' ')
check "TLS_MACROS found in callbacks.c" [ -n "$tls_macros" ]
client_macros=$(sed -n '/^#define CLIENT_MACROS/p' "$callbacks" | grep -o '{[a-z_]*}' | tr '\n' ' ')
check "CLIENT_MACROS found in callbacks.c" [ -n "$client_macros" ]

# ------------------------------------------------------------ systemd unit
execstart=$(value ExecStart "$unit")
sock=$(printf '%s\n' "$execstart" | sed -n 's/.* -p \([^ ]*\).*/\1/p')
rundir=/run/$(value RuntimeDirectory "$unit")
check "unit runs as User=tlspolicy" [ "$(value User "$unit")" = tlspolicy ]
# With User= the daemon cannot switch users: -u would make it exit 71.
case " $execstart " in
*" -u "*) bad "unit: ExecStart has -u although User= is set" ;;
*) ok ;;
esac
case " $execstart " in
*" -f "*) ok ;;
*) bad "unit: ExecStart lacks -f (Type=simple needs the foreground)" ;;
esac
check "unit: empty CapabilityBoundingSet" grep -qx 'CapabilityBoundingSet=' "$unit"
check "unit: ExecReload sends USR1 (HUP would stop)" \
	grep -qx 'ExecReload=/bin/kill -USR1 $MAINPID' "$unit"
check "unit: socket $sock is in RuntimeDirectory $rundir" \
	[ "${sock%/*}" = "unix:$rundir" ]
case $execstart in
*' $DAEMON_OPTS') ok ;;
*) bad "unit: \$DAEMON_OPTS is not last in ExecStart" ;;
esac
if have systemd-analyze; then
	# verify checks that ExecStart exists: point it at /bin/true, which
	# exists everywhere and ignores the arguments. --man=no: the man
	# pages are not installed yet. Unknown keys are only warned about,
	# so any output is a failure.
	mkdir -p "$tmp/unit"
	sed 's|^ExecStart=[^ ]*|ExecStart=/bin/true|' "$unit" >"$tmp/unit/tlspolicy-milter.service"
	out=$(systemd-analyze verify --man=no "$tmp/unit/tlspolicy-milter.service" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		ok
	else
		bad "systemd-analyze verify (rc $rc): $out"
	fi
else
	skip "systemd unit: systemd-analyze not installed"
fi

# --------------------------------------------------------------- tmpfiles
for d in "$rundir" /var/log/tlspolicy /var/lib/tlspolicy "#/var/spool/postfix/tlspolicy"; do
	check "tmpfiles has $d" grep -qE "^${d%%/*}d ${d#\#} 0750 tlspolicy tlspolicy -\$" "$tmpfiles"
done
if have systemd-tmpfiles; then
	# Create the directories below a fake root whose tlspolicy user is
	# the one running the test, so that no chown needs root. The
	# commented chroot line is tried too.
	for variant in plain chroot; do
		root=$tmp/root-$variant
		mkdir -p "$root/etc"
		printf 'tlspolicy:x:%s:%s::/nonexistent:/bin/false\n' "$(id -u)" "$(id -g)" >"$root/etc/passwd"
		printf 'tlspolicy:x:%s:\n' "$(id -g)" >"$root/etc/group"
		conf=$tmp/tmpfiles-$variant.conf
		if [ "$variant" = chroot ]; then
			sed 's|^#d /var/spool/postfix/|d /var/spool/postfix/|' "$tmpfiles" >"$conf"
		else
			cp "$tmpfiles" "$conf"
		fi
		out=$(systemd-tmpfiles --create --root="$root" "$conf" 2>&1)
		rc=$?
		if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
			bad "systemd-tmpfiles $variant (rc $rc): $out"
		fi
		dirs="/run/tlspolicy /var/log/tlspolicy"
		[ "$variant" = plain ] || dirs="$dirs /var/spool/postfix/tlspolicy"
		for d in $dirs; do
			got=$(stat -c '%a %u' "$root$d" 2>/dev/null)
			check "tmpfiles $variant: $d is 750, the daemon's" [ "$got" = "750 $(id -u)" ]
		done
	done
else
	skip "tmpfiles: systemd-tmpfiles not installed (lines checked by pattern only)"
	check "tmpfiles: every line is a comment or 'd PATH MODE USER GROUP AGE'" \
		sh -c "! grep -vE '^(#.*|$|d /[^ ]+ 0[0-7]{3} [a-z_][a-z0-9_-]* [a-z_][a-z0-9_-]* -)$' '$tmpfiles'"
fi

# --------------------------------------------------------------- sysusers
# The account the unit runs as and the tmpfiles lines give the
# directories to is the one the sysusers file creates.
check "unit: Group=tlspolicy" [ "$(value Group "$unit")" = tlspolicy ]
check "sysusers: one active line, 'u tlspolicy -'" \
	[ "$(grep -vE '^[[:space:]]*(#|$)' "$sysusers" | awk '{print $1, $2, $3}')" = "u tlspolicy -" ]
check "tmpfiles: every directory is tlspolicy's" \
	sh -c "! grep -E '^#?d ' '$tmpfiles' | grep -vqE ' tlspolicy tlspolicy -\$'"
if have systemd-sysusers; then
	# Apply the file to an empty root: it must make exactly the user and
	# the group "tlspolicy", a system account that cannot log in. The
	# file is read from stdin: with --root a path is looked up inside it.
	root=$tmp/root-sysusers
	mkdir -p "$root/etc"
	out=$(systemd-sysusers --root="$root" - <"$sysusers" 2>&1)
	rc=$?
	check "systemd-sysusers (rc $rc): $out" sh -c \
		"[ $rc -eq 0 ] && ! printf '%s\n' \"\$1\" | grep -v -e '^Creating ' -e '^$'" _ "$out"
	pw=$(cat "$root/etc/passwd" 2>/dev/null)
	gr=$(cat "$root/etc/group" 2>/dev/null)
	uid=$(printf '%s\n' "$pw" | awk -F: '$1 == "tlspolicy" {print $3}')
	gid=$(printf '%s\n' "$pw" | awk -F: '$1 == "tlspolicy" {print $4}')
	check "sysusers: passwd has only tlspolicy ($pw)" \
		[ "$(printf '%s\n' "$pw" | cut -d: -f1)" = tlspolicy ]
	check "sysusers: group has only tlspolicy, gid $gid, no members ($gr)" \
		[ "$gr" = "tlspolicy:x:$gid:" ]
	check "sysusers: a system uid ($uid) and its own group" \
		sh -c "[ -n '$uid' ] && [ '$uid' -lt 1000 ] && [ '$uid' = '$gid' ]"
	check "sysusers: home /nonexistent, shell nologin" \
		sh -c "printf '%s\n' '$pw' | grep -q ':/nonexistent:/usr/sbin/nologin\$'"
	check "sysusers: the password is locked" \
		grep -qE '^tlspolicy:!' "$root/etc/shadow"
	# The commented line for Postfix works once uncommented.
	rm -rf "$root" && mkdir -p "$root/etc"
	sed 's/^#m postfix tlspolicy$/m postfix tlspolicy/' "$sysusers" |
		systemd-sysusers --root="$root" - >/dev/null 2>&1
	check "sysusers: '#m postfix tlspolicy' puts postfix in the group" \
		grep -qx "tlspolicy:x:[0-9]*:postfix" "$root/etc/group"
else
	skip "sysusers: systemd-sysusers not installed (line checked by pattern only)"
fi

# ------------------------------------------------- the milter's own options
if [ -x "$bin" ]; then
	help=$("$bin" -h 2>&1)
	# Every option the unit passes, and every one the defaults file
	# suggests, must be one the daemon knows.
	opts=$(printf '%s\n' "$execstart" "$(grep -o 'DAEMON_OPTS="[^"]*"' "$defaults")" |
		grep -oE '(^| |")-[A-Za-z]' | tr -d ' "' | sort -u)
	for o in $opts; do
		case $help in
		*"  $o "*) ok ;;
		*) bad "option $o (unit or defaults file) is not in tlspolicy-milter -h" ;;
		esac
	done
	# Start the daemon with the unit's very arguments, only with the
	# paths moved into $tmp and an empty $DAEMON_OPTS; it must come up.
	mkdir -p "$tmp/log"
	printf 'version: 1\nmilter: {}\naudit: {file: %s}\n' "$tmp/log/audit.log" >"$tmp/policy.yaml"
	set --
	prev=
	for w in $execstart; do
		case $prev in
		-c) w=$tmp/policy.yaml ;;
		-p) w=unix:$tmp/m.sock ;;
		esac
		prev=$w
		[ "$w" = '$DAEMON_OPTS' ] || set -- "$@" "$w"
	done
	shift # the program's path
	daemon_args=$* # no blanks in them: $tmp comes from mktemp
	# The unit starts it as User=tlspolicy; run as root here, it must be
	# told that serving as root is meant.
	[ "$(id -u)" -ne 0 ] || set -- --run-as-root "$@"
	"$bin" "$@" >"$tmp/daemon.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do # ready: "started", after the socket
		[ -S "$tmp/m.sock" ] && grep -q 'info: started ' "$tmp/daemon.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	check "daemon starts with the unit's options ($*)" [ -S "$tmp/m.sock" ]
	[ -S "$tmp/m.sock" ] || cat "$tmp/daemon.log"
else
	skip "options: $bin not built"
fi

# ----------------------------------------------------------------- logrotate
check "logrotate: no copytruncate" sh -c "! grep -qE '^[[:space:]]*copytruncate' '$rotate'"
check "logrotate: creates 0640 tlspolicy tlspolicy" \
	grep -qE '^[[:space:]]*create 0640 tlspolicy tlspolicy$' "$rotate"
check "logrotate: postrotate sends USR2" grep -q 'kill -s USR2 tlspolicy-milter.service' "$rotate"
check "logrotate: rotates the audit.file of the man page example" \
	grep -qx '/var/log/tlspolicy/audit.log {' "$rotate"
# pkill -x matches the kernel's process name, which keeps 15 characters.
pat=$(sed -n 's/.*pkill -USR2 -x \([^ ]*\).*/\1/p' "$rotate")
comm=$(printf '%s\n' "${execstart%% *}" | sed 's|.*/||' | cut -c1-15)
check "logrotate: pkill -x name '$pat' is the kernel's '$comm'" [ "$pat" = "$comm" ]
if ! have pgrep; then
	skip "logrotate: pgrep not installed (pkill's name not tried)"
elif [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
	check "logrotate: pgrep -x $pat finds the daemon" sh -c "pgrep -x '$pat' | grep -qx $pid"
fi
if have logrotate; then
	# The file as shipped, with its paths and user moved to the test's.
	me=$(id -un) mygroup=$(id -gn)
	sed -e "s|/var/log/tlspolicy/audit.log|$tmp/log/audit.log|" \
		-e "s/tlspolicy tlspolicy/$me $mygroup/" "$rotate" >"$tmp/rotate.conf"
	out=$(logrotate -d -s "$tmp/rotate.state" "$tmp/rotate.conf" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && ! printf '%s\n' "$out" | grep -q '^error'; then
		ok
	else
		bad "logrotate -d (rc $rc): $out"
	fi
	# A real rotation under the running daemon: the signal goes to our
	# daemon only. After it, a reload record must land in the new file.
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		sed -i "s|^\([[:space:]]*\)systemctl kill .*|\1kill -USR2 $pid|" "$tmp/rotate.conf"
		out=$(logrotate -f -s "$tmp/rotate.state" "$tmp/rotate.conf" 2>&1)
		check "logrotate -f: $out" [ -z "$out" ]
		rotated=
		for f in "$tmp"/log/audit.log-*; do
			[ -e "$f" ] && rotated="$rotated${rotated:+ }${f##*/}"
		done
		check "logrotate: old file renamed by date, not yet compressed ($rotated)" \
			sh -c "printf '%s\n' '$rotated' | grep -qxE 'audit\.log-[0-9]{8}'"
		check "logrotate: new audit.log is 0640" \
			[ "$(stat -c %a "$tmp/log/audit.log" 2>/dev/null)" = 640 ]
		# logrotate returns once the signal is sent; a reload signalled
		# before the daemon reopened would write its record to the old
		# file (both wait in one sigwait, lowest number first).
		for _ in $(seq 1 200); do
			grep -q 'audit: log reopened' "$tmp/daemon.log" && break
			sleep 0.05
		done
		check "SIGUSR2 from logrotate: the daemon says it reopened the log" \
			grep -q 'audit: log reopened' "$tmp/daemon.log"
		kill -USR1 "$pid"
		for _ in $(seq 1 200); do
			grep -q '"reload"' "$tmp/log/audit.log" 2>/dev/null && break
			sleep 0.05
		done
		check "after rotation the daemon writes to the new audit.log" \
			grep -q '"reload"' "$tmp/log/audit.log"
		check "the rotated file keeps the start record" \
			grep -q '"start"' "$tmp/log/$rotated"
	fi
else
	skip "logrotate: logrotate not installed"
fi
if [ -n "$pid" ]; then
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
fi

# ----------------------------------------------------------------- Postfix
pf_value() {
	sed -n "s/^#\{0,1\}$1 = //p" "$pfsnip" | head -n 1
}
check "postfix: milter_default_action = tempfail" [ "$(pf_value milter_default_action)" = tempfail ]
check "postfix: non_smtpd_milters left empty" grep -qx 'non_smtpd_milters =' "$pfsnip"
# The chroot-relative socket is the one the defaults file suggests.
chroot_sock=$(sed -n 's/^#DAEMON_OPTS="-p \(unix:\/var\/spool\/postfix[^"]*\)"/\1/p' "$defaults")
pf_sock=$(pf_value smtpd_milters)
check "postfix: smtpd_milters $pf_sock is $chroot_sock seen from the chroot" \
	[ "unix:/var/spool/postfix${pf_sock#unix:}" = "$chroot_sock" ]
# The macro lists hold every macro the milter's warning tells admins to set.
for stage in mail rcpt; do
	# The text is split across C string literals: join them first.
	want=$(tr -d '\n\t' <"$macros" | sed 's/" *"//g' |
		sed -n "s/.*milter_${stage}_macros = \([^.]*\)[.a].*/\1/p" |
		sed 's/ and .*//' | tr ' ' '\n' | grep -E '^(i|\{[a-z_]+\})$' | tr '\n' ' ')
	have_list=$(pf_value "milter_${stage}_macros")
	[ -n "$want" ] || bad "postfix: no milter_${stage}_macros text found in macros.c"
	for m in $want; do
		check "postfix: milter_${stage}_macros has $m" in_list "$m" "$have_list"
	done
done
if have postconf; then
	# main.cf = the snippet, with the commented macro lists switched on;
	# postconf warns about any parameter it does not know.
	mkdir -p "$tmp/pf"
	sed 's/^#milter_/milter_/' "$pfsnip" >"$tmp/pf/main.cf"
	: >"$tmp/pf/master.cf"
	out=$(postconf -c "$tmp/pf" -n 2>"$tmp/pf/stderr")
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$tmp/pf/stderr" ]; then
		ok
	else
		bad "postconf -n (rc $rc): $(cat "$tmp/pf/stderr")"
	fi
	for p in smtpd_milters non_smtpd_milters milter_default_action milter_protocol \
		milter_mail_macros milter_rcpt_macros smtpd_tls_ask_ccert smtpd_tls_CAfile \
		smtpd_tls_received_header; do
		check "postconf -n shows $p" sh -c "printf '%s\n' \"\$1\" | grep -q '^$p ='" _ "$out"
	done
else
	skip "postfix: postconf not installed"
fi

# ----------------------------------------------------------------- Sendmail
connect=$(sm_list CONNECT)
helo=$(sm_list HELO)
for stage in ENVFROM ENVRCPT; do
	list=$(sm_list "$stage")
	want=$(ours "$stage")
	[ -n "$want" ] || bad "sendmail: no SMFIM_$stage list in callbacks.c"
	for m in $want; do
		# libmilter keeps the connect macros for the whole connection.
		if in_list "$m" "$list" || { [ "$m" = v ] && in_list v "$connect"; }; then
			ok
		else
			bad "sendmail: confMILTER_MACROS_$stage lacks $m (callbacks.c asks for it)"
		fi
	done
done
for m in $tls_macros; do
	check "sendmail: confMILTER_MACROS_HELO has $m" in_list "$m" "$helo"
done
check "sendmail: S= is the unit's socket" \
	grep -qF "INPUT_MAIL_FILTER(\`tlspolicy', \`S=$sock, F=T," "$smsnip"
check "sendmail: {cert_fp} needs CertFingerprintAlgorithm" \
	grep -q "^define(\`confCERT_FINGERPRINT_ALGORITHM', \`sha256')dnl\$" "$smsnip"
cf=""
for d in "${SM_CACHE:-/var/tmp/tlspolicy-sendmail}/root/usr/share/sendmail/cf" \
	/usr/share/sendmail/cf /usr/share/sendmail-cf; do
	[ -f "$d/m4/cf.m4" ] && { cf=$d; break; }
done
if have m4 && [ -n "$cf" ]; then
	# Build a sendmail.cf around the snippet, as an admin would.
	{
		printf "OSTYPE(\`linux')dnl\n"
		cat "$smsnip"
		printf "MAILER(\`local')dnl\nMAILER(\`smtp')dnl\n"
	} >"$tmp/t.mc"
	m4 -D_CF_DIR_="$cf/" "$cf/m4/cf.m4" "$tmp/t.mc" >"$tmp/t.cf" 2>"$tmp/m4.err"
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$tmp/m4.err" ]; then
		ok
	else
		bad "m4 cannot build a sendmail.cf from the snippet (rc $rc): $(cat "$tmp/m4.err")"
	fi
	check "sendmail.cf has the filter" grep -qx "Xtlspolicy, S=$sock, F=T, T=S:10s;R:30s;E:5m" "$tmp/t.cf"
	check "sendmail.cf has InputMailFilters" grep -qx 'O InputMailFilters=tlspolicy' "$tmp/t.cf"
	check "sendmail.cf has the envrcpt list" \
		grep -qxF "O Milter.macros.envrcpt=$(sm_list ENVRCPT)" "$tmp/t.cf"
	check "sendmail.cf has CertFingerprintAlgorithm" \
		grep -qx 'O CertFingerprintAlgorithm=sha256' "$tmp/t.cf"
else
	skip "sendmail: m4 or Sendmail's cf tree not found (set SM_CACHE; the e2e tests unpack it)"
fi

# ------------------------------------------------------------ the README
# Its five-minute setup quotes the snippet's milter lines (the filter and
# the fingerprint algorithm): the quotes must not drift.
readme=$src/README.md
if [ -f "$readme" ]; then
	n=0
	while IFS= read -r l; do
		n=$((n + 1))
		check "README's sendmail.mc line is the snippet's: $l" grep -qxF -- "$l" "$smsnip"
	done <<EOF
$(grep -E '^(define|INPUT_MAIL_FILTER)\(' "$readme")
EOF
	check "README quotes the sendmail.mc lines ($n)" [ "$n" -ge 2 ]
	n=0
	for kv in $(grep -o "'[A-Za-z_]* =[^']*'" "$readme" | tr -d "'" | sed 's/ = */=/; s/ =$/=/'); do
		n=$((n + 1))
		k=${kv%%=*}
		check "README's postconf $k = ${kv#*=} is the snippet's" [ "${kv#*=}" = "$(pf_value "$k")" ]
	done
	check "README quotes the main.cf settings ($n)" [ "$n" -ge 5 ]
	# Its sed edits of installed copies still find their lines in the
	# files as shipped, and give what the README says they give.
	n=0
	while IFS= read -r l; do
		expr=${l#"sudo sed -i '"}
		expr=${expr%%"' "*}
		target=${l##* }
		case $target in
		/etc/tmpfiles.d/tlspolicy-milter.conf) f=$tmpfiles want='^d /var/spool/postfix/tlspolicy ' ;;
		/etc/default/tlspolicy-milter) f=$defaults want='^DAEMON_OPTS="-p unix:/var/spool/postfix/tlspolicy/tlspolicy.sock"$' ;;
		/etc/tlspolicy/tlspolicy.yaml) f=$src/contrib/tlspolicy.yaml.sample want='^  key_file: /etc/tlspolicy/audit.key ' ;;
		*) continue ;;
		esac
		n=$((n + 1))
		sed "$expr" "$f" >"$tmp/readme-sed" 2>&1
		check "README's sed of $target finds its line ($expr)" grep -q "$want" "$tmp/readme-sed"
		case $target in
		*.yaml)
			check "README's sed of $target turns audit.file on" \
				grep -qx '  file: /var/log/tlspolicy/audit.log' "$tmp/readme-sed"
			check "README's audit key is the policy's key_file" \
				grep -q 'install .*/dev/stdin /etc/tlspolicy/audit.key$' "$readme"
			if [ -x "$bin" ]; then
				cp "$tmp/readme-sed" "$tmp/readme-policy.yaml"
				check "the policy of README step 4 loads" \
					"$bin" -c "$tmp/readme-policy.yaml" -n >/dev/null
			fi
			;;
		esac
	done <<EOF
$(grep -E "^sudo sed -i '[^']*' /etc/[^ ]*$" "$readme")
EOF
	check "README's sed edits checked ($n)" [ "$n" -eq 3 ]
else
	skip "README: $readme not found"
fi

# ------------------------------------------------------ system call filter
# The unit's SystemCallFilter= answers EPERM to any other call: every call
# the daemon makes while starting, serving, reloading, reopening and
# stopping must be allowed by it, or the service breaks only in
# production.
expand() { # a filter set, its nested @groups expanded
	systemd-analyze syscall-filter "$1" 2>/dev/null | sed -n '2,$p' |
		grep -vE '^[[:space:]]*(#|$)' | tr -d ' ' | while read -r c; do
		case $c in
		@*) expand "$c" ;;
		*) printf '%s\n' "$c" ;;
		esac
	done
}
if [ ! -x "$bin" ]; then
	skip "system calls: $bin not built"
elif ! have strace || ! have systemd-analyze; then
	skip "system calls: strace or systemd-analyze not installed"
else
	rm -f "$tmp/m.sock"
	# shellcheck disable=SC2086 # daemon_args is a word list
	strace -f -qq -o "$tmp/trace" "$bin" $daemon_args -P "$tmp/d.pid" \
		>"$tmp/strace.log" 2>&1 &
	spid=$!
	for _ in $(seq 1 200); do
		[ -S "$tmp/m.sock" ] && [ -s "$tmp/d.pid" ] && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -S "$tmp/m.sock" ]; then
		wait "$spid" 2>/dev/null
		skip "system calls: the daemon does not start under strace: $(head -n 3 "$tmp/strace.log")"
	else
		dpid=$(cat "$tmp/d.pid")
		bench=${top_builddir:-.}/tests/milter/mtbench
		[ -x "$bench" ] && "$bench" -s "unix:$tmp/m.sock" -c 2 -n 20 -r 2 -H 2 >/dev/null
		kill -USR1 "$dpid"
		sleep 0.3
		mv "$tmp/log/audit.log" "$tmp/log/audit.log.old"
		kill -USR2 "$dpid"
		sleep 0.3
		[ -x "$bench" ] && "$bench" -s "unix:$tmp/m.sock" -c 1 -n 5 >/dev/null
		kill "$dpid"
		wait "$spid"
		allow=$(sed -n 's/^SystemCallFilter=\([^~].*\)/\1/p' "$unit")
		deny=$(sed -n 's/^SystemCallFilter=~//p' "$unit")
		for g in $allow; do expand "$g"; done | sort -u >"$tmp/allow"
		for g in $deny; do expand "$g"; done | sort -u >"$tmp/deny"
		sed -E 's/^[0-9]+ +//; s/^<\.\.\. ([a-z0-9_]+) resumed>.*/\1/; s/^([a-z0-9_]+)\(.*/\1/' \
			"$tmp/trace" | grep -E '^[a-z0-9_]+$' | sort -u >"$tmp/used"
		check "system calls: the daemon's calls were traced" [ -s "$tmp/used" ]
		check "system calls: SystemCallFilter= expanded" [ -s "$tmp/allow" ]
		out=$(comm -23 "$tmp/used" "$tmp/allow" | tr '\n' ' ')
		check "system calls outside SystemCallFilter=$allow: $out" [ -z "$out" ]
		out=$(comm -12 "$tmp/used" "$tmp/deny" | tr '\n' ' ')
		check "system calls in SystemCallFilter=~$deny: $out" [ -z "$out" ]
		check "system calls: reload and reopen worked under strace" \
			grep -q '"reload"' "$tmp/log/audit.log.old"
	fi
fi

echo "contrib: $pass passed, $fail failed, $skipped parts skipped"
[ "$fail" -eq 0 ] || exit 1
[ "$pass" -gt 0 ] || exit 77
exit 0

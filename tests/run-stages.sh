#!/usr/bin/env bash
# run-stages.sh - the whole test suite, staged and fail-fast.
#
# Each stage runs under `timeout` in its own build directory (_build/NAME)
# and prints its time and how many tests it ran, passed and skipped (a
# program that exits 77 is a skip: it is counted and named, never
# silent); the first failure stops the run with the stage's logs. The
# last line is "tests: N passed, 0 failed, N skipped", over the stages
# run. Budget: about 45 minutes on 2 cores (today's stages take a few).
#
#   tests/run-stages.sh             every stage
#   tests/run-stages.sh asan tsan   only these stages, in this order
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
top=${BUILD_ROOT:-$src/_build}
jobs=$(nproc 2>/dev/null || echo 2)
summary=()
total_pass=0 total_skip=0

log() { printf '\n==> %s\n' "$*"; }

# configure_in DIR ARGS...: a fresh out-of-tree build directory.
configure_in() {
	local dir=$1
	shift
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && "$src"/configure -q "$@")
}

# counted RUN PASSED SKIPPED FAILED [NAME...]: adds to the running
# stage's counts (the file $counts); NAMEs are the skipped tests.
counted() {
	echo "$*" >>"$counts"
}

# suite_counts SUMMARY: "TOTAL PASS SKIP FAIL" from automake's summary
# lines ("# TOTAL: 26", as in test-suite.log and make check's output);
# FAIL takes in ERROR and XPASS.
suite_counts() {
	awk '$1 == "#" { n[$2] = $3 }
	     END { printf "%d %d %d %d\n", n["TOTAL:"], n["PASS:"],
		   n["SKIP:"], n["FAIL:"] + n["ERROR:"] + n["XPASS:"] }' "$1"
}

# skipped_in DIR: the tests of DIR's last check_in that were skipped.
# (grep finding none is no error.)
skipped_in() {
	{ find "$1" -name '*.trs' -newer "$1/.check-start" \
		-exec grep -l '^:test-result: SKIP' {} + 2>/dev/null || true; } |
		sed -e "s|^$1/||" -e 's|\.trs$||' | sort
}

# cases_skipped_in DIR: "PROGRAM:CASE" for each cmocka case that skipped
# itself inside a program that passed (automake sees only the program).
cases_skipped_in() {
	{ find "$1" -name '*.log' -newer "$1/.check-start" \
		-exec grep -H '^\[  SKIPPED \] ' {} + 2>/dev/null || true; } |
		sed -e '/listed below:$/d' -e "s|^$1/||" \
			-e 's|\.log:\[  SKIPPED \] |:|' | sort -u
}

# check_in DIR [TESTS...]: make check, counting the tests and printing
# the logs of any failure.
check_in() {
	local dir=$1 rc=0
	shift
	rm -f "$dir/test-suite.log"
	touch "$dir/.check-start"
	if [ $# -gt 0 ]; then
		make -C "$dir" -s -j"$jobs" check TESTS="$*" || rc=$?
	else
		make -C "$dir" -s -j"$jobs" check || rc=$?
	fi
	if [ -f "$dir/test-suite.log" ]; then
		grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR)' "$dir/test-suite.log" || true
		# shellcheck disable=SC2046
		counted $(suite_counts "$dir/test-suite.log") $(skipped_in "$dir")
		cases_skipped_in "$dir" >>"$counts.cases"
	fi
	if [ $rc -ne 0 ]; then
		find "$dir/tests" -name '*.log' -newer "$dir/Makefile" \
			-exec grep -l -E '^(FAIL|ERROR)' {} + 2>/dev/null |
			while read -r f; do
				echo "----- $f"
				tail -n 80 "$f"
			done
	fi
	return $rc
}

stage_build() { # gcc, warnings as errors, every unit and CLI test
	configure_in "$top/gcc" CC=gcc --enable-werror
	check_in "$top/gcc"
}

# The tarball builds out of tree (automake's distcheck: a read-only
# source, a separate build directory, install, uninstall, distclean) and
# its make check runs every test the build stage ran: as many, and none
# skipped there that the build stage did not skip too (a test that skips
# only from the tarball misses a file). Both makes run on every core;
# TLSP_TEST_QUICK=1 shortens the loops of the slow milter-level tests
# there (they all still run: the build stage runs them in full).
stage_distcheck() { # the tarball builds and runs every test
	local d=$top/gcc out=$top/gcc/distcheck.out want skips extra rc=0
	local total pass skip fail
	[ -f "$d/test-suite.log" ] || {
		echo "distcheck: no $d/test-suite.log: run the build stage first"
		return 1
	}
	read -r want _ _ _ < <(suite_counts "$d/test-suite.log")
	TLSP_TEST_QUICK=1 make -C "$d" -s -j"$jobs" distcheck \
		DISTCHECK_CONFIGURE_FLAGS=--enable-werror 2>&1 | tee "$out" || rc=$?
	read -r total pass skip fail < <(suite_counts "$out")
	skips=$(sed -n 's/^SKIP: //p' "$out" | sort)
	# shellcheck disable=SC2086
	counted "$total" "$pass" "$skip" "$fail" $skips
	[ "$rc" -eq 0 ] || return "$rc"
	if [ "$total" -ne "$want" ]; then
		echo "distcheck: the tarball's make check ran $total tests, the build stage $want"
		return 1
	fi
	extra=$(comm -23 <(echo "$skips") <(skipped_in "$d"))
	if [ -n "$extra" ]; then
		echo "distcheck: skipped from the tarball only (a file missing from it?): ${extra//$'\n'/ }"
		return 1
	fi
}

stage_asan() { # clang, AddressSanitizer + UndefinedBehaviorSanitizer
	local d=$top/asan
	configure_in "$d" CC=clang --enable-werror \
		--enable-sanitizers=address,undefined
	# A report ends the process with status 1 (not a core dump), its
	# text on stderr: a test fails on the status.
	export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	check_in "$d"
	sanitized_e2e asan "$d"
}

# sanitized_e2e NAME DIR: the Postfix and Sendmail end-to-end tests with
# the daemon and tlspolicy-audit built in DIR. A sanitizer report kills
# the daemon (its sessions fail), makes its exit status at SIGTERM
# non-zero (leaks are found then) and lands in milter.log, which both
# scripts check for sanitizer lines. SAN_E2E=0 skips this (it needs
# root, Postfix, Sendmail, swaks): the two count as skipped.
sanitized_e2e() {
	local name=$1 d=$2 t rc=0 out
	if [ "${SAN_E2E:-1}" = 0 ]; then
		counted 2 0 2 0 postfix-e2e sendmail-e2e
		return 0
	fi
	for t in postfix-e2e sendmail-e2e; do
		out=$d/$t.out
		echo "$name e2e: $t"
		(cd "$d" && top_builddir="$d" top_srcdir="$src" \
			timeout 480 bash "$src/tests/e2e/$t.sh" >"$out" 2>&1) || rc=$?
		tail -n 1 "$out"
		if [ "$rc" -ne 0 ]; then
			grep -E 'FAIL|not ok|Sanitizer|runtime error' "$out" | head -n 40
			if [ "$rc" -eq 77 ]; then
				echo "$name e2e: $t was skipped: run as root with its packages, or SAN_E2E=0"
				counted 1 0 1 0 "$t"
			else
				counted 1 0 0 1
			fi
			return 1
		fi
		counted 1 1 0 0
	done
}

stage_tsan() { # clang, ThreadSanitizer: the whole suite and end to end
	local d=$top/tsan
	configure_in "$d" CC=clang --enable-werror --enable-sanitizers=thread
	# A report ends the process with status 66; in the daemon it also
	# lands in milter.log, which the e2e scripts check.
	export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$src/tests/tsan.supp"
	check_in "$d"
	sanitized_e2e tsan "$d"
}

stage_valgrind() { # memcheck on the loader, evaluator and query mode
	local d=$top/gcc t
	local vg=(valgrind -q --error-exitcode=99 --leak-check=full
		--errors-for-leak-kinds=definite,indirect)
	for t in test_load test_evaluate test_domtab; do
		echo "valgrind $t"
		CMOCKA_MESSAGE_OUTPUT=stdout "${vg[@]}" "$d/tests/unit/$t" >/dev/null
	done
	echo "valgrind tlspolicy-milter -q"
	"${vg[@]}" "$d/tlspolicy-milter" -c "$src/contrib/tlspolicy.yaml.sample" \
		-q mail_addr=a@partner.example rcpt_addr=b@example.com \
		tls_version=TLSv1.2 cipher=AES128-SHA mta=sendmail verify=FAIL \
		cert_subject=/CN=x >/dev/null
	# The daemon itself, through the whole milter-level suite.
	echo "valgrind: the daemon under tests/milter/test_daemon"
	(cd "$d" && TLSPOLICY_MILTER="$src/tests/valgrind-milter.sh" \
		VALGRIND_LOG="$d/valgrind-milter.log" top_builddir="$d" \
		tests/milter/test_daemon >"$d/valgrind-daemon.out" 2>&1) || {
		tail -n 40 "$d/valgrind-daemon.out" "$d/valgrind-milter.log"
		return 1
	}
	if [ -s "$d/valgrind-milter.log" ]; then
		cat "$d/valgrind-milter.log"
		return 1
	fi
	counted 5 5 0 0
}

stage_e2e() { # real Postfix and Sendmail on loopback, real SMTP clients
	local d=$top/gcc t rc=0 out
	for t in postfix-selftest postfix-e2e sendmail-selftest sendmail-e2e \
		mailparams-e2e client-e2e postfix-forged sendmail-forged; do
		out=$d/$t.out
		echo "e2e: $t"
		(cd "$d" && top_builddir="$d" top_srcdir="$src" \
			timeout 600 bash "$src/tests/e2e/$t.sh" >"$out" 2>&1) || rc=$?
		tail -n 1 "$out"
		if [ "$rc" -ne 0 ]; then
			grep -E 'FAIL|not ok' "$out" | head -n 40
			if [ "$rc" -eq 77 ]; then
				echo "e2e: $t was skipped: it must run as root with its packages"
				counted 1 0 1 0 "$t"
			else
				counted 1 0 0 1
			fi
			return 1
		fi
		counted 1 1 0 0
	done
}

stage_browser() { # headless Chromium: the HTML report shown and printed
	local d=$top/gcc rc=0
	if [ ! -x "$d/tlspolicy-audit" ]; then
		echo "browser: no $d/tlspolicy-audit: run the build stage first"
		return 1
	fi
	(cd "$d" && make -s tests/audit/mklog >/dev/null) || return 1
	/usr/bin/python3 "$src/tests/browser/check-html-report.py" \
		--builddir "$d" --srcdir "$src" --out "$d/browser" || rc=$?
	echo "browser: screenshot and PDF in $d/browser"
	if [ "$rc" -eq 77 ]; then
		echo "browser: chromium, chromium-driver, python3-selenium and" \
			"poppler-utils are needed (contrib/quickstart.sh deps)"
		counted 1 0 1 0 check-html-report
		return 1
	fi
	[ "$rc" -eq 0 ] || { counted 1 0 0 1; return 1; }
	counted 1 1 0 0
}

# The Debian package in a minimal Debian 12 chroot (tests/deb/run.sh:
# build with build-dep, lintian, hardening-check, install, the daemon with
# a private Postfix, upgrade, remove, purge). The chroot is cached in
# /var/cache/tlspolicy-deb; the cold path debootstraps it.
stage_deb() { # the .deb built, checked, installed, upgraded and purged
	local out=$top/deb.out rc=0
	mkdir -p "$top"
	timeout 1500 bash "$src/tests/deb/run.sh" >"$out" 2>&1 || rc=$?
	grep -E '^(==>|ok|FAIL|deb|note)' "$out" | tail -n 80
	if [ "$rc" -eq 77 ]; then
		counted 1 0 1 0 deb
		return 0
	fi
	# The checks of tests/deb/inside.sh one by one, and the build,
	# lintian and hardening-check as three more (the package's own make
	# check repeats the build stage's tests: not counted again).
	local ok fail
	ok=$(grep -c '^ok ' "$out" || true)
	fail=$(grep -c '^FAIL ' "$out" || true)
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$out"
		counted $((ok + fail + 1)) "$ok" 0 $((fail + 1))
		return 1
	fi
	counted $((ok + 3)) $((ok + 3)) 0 0
}

stage_fuzz() { # replay every corpus, then a bounded run with a fixed seed
	local d=$top/fuzz f secs=${FUZZ_SECONDS:-30} rc max
	local targets=(policy macros audit_reader audit_verify query_args)
	configure_in "$d" CC=clang --enable-fuzzing
	make -C "$d" -s -j"$jobs" "${targets[@]/#/tests/fuzz/fuzz_}"
	mkdir -p "$d/tmp"
	for f in "${targets[@]}"; do
		local corpus=$src/tests/fuzz/corpus/$f work=$d/corpus-$f
		# The audit logs of the verifier's seeds are up to 10 KiB.
		case $f in audit_*) max=16384 ;; *) max=4096 ;; esac
		echo "replay $f: $(find "$corpus" -type f | wc -l) inputs"
		rc=0
		TMPDIR=$d/tmp "$d/tests/fuzz/fuzz_$f" -runs=0 -max_len=$max \
			-close_fd_mask=3 -artifact_prefix="$d/crash-$f-" \
			"$corpus" >"$d/replay-$f.log" 2>&1 || rc=$?
		tail -n 1 "$d/replay-$f.log"
		if [ $rc -ne 0 ]; then
			tail -n 40 "$d/replay-$f.log"
			echo "replay $f failed (exit $rc): fix it; the input is in $corpus"
			counted 1 0 0 1
			return 1
		fi
		rm -rf "$work"
		mkdir -p "$work"
		echo "fuzz $f: ${secs}s, seed 1"
		rc=0
		TMPDIR=$d/tmp "$d/tests/fuzz/fuzz_$f" -seed=1 -max_total_time="$secs" \
			-max_len=$max -timeout=10 -rss_limit_mb=2048 -close_fd_mask=3 \
			-print_final_stats=1 -artifact_prefix="$d/crash-$f-" \
			"$work" "$corpus" >"$d/fuzz-$f.log" 2>&1 || rc=$?
		grep -E '^(#[0-9]+ +DONE|Done|stat::(number_of_executed_units|average_exec_per_sec)|==[0-9]+==|SUMMARY|artifact)' \
			"$d/fuzz-$f.log" || true
		# A crash, leak, timeout or out-of-memory leaves an artifact;
		# any other failure (the target could not start) has none.
		if [ $rc -ne 0 ] || ls "$d"/crash-$f-* >/dev/null 2>&1; then
			tail -n 60 "$d/fuzz-$f.log"
			echo "fuzz $f failed (exit $rc): add the artifact to $corpus and fix it"
			counted 1 0 0 1
			return 1
		fi
		counted 1 1 0 0 # a target: its replay and its bounded run
	done
}

# tally FILE: "RUN PASSED SKIPPED FAILED NAME..." summed over the lines
# that a stage's `counted` calls left in FILE.
tally() {
	awk '{ for (i = 1; i <= 4; i++) n[i] += $i
	       for (i = 5; i <= NF; i++) names = names (names ? " " : "") $i }
	     END { printf "%d %d %d %d %s\n", n[1], n[2], n[3], n[4], names }' "$1"
}

# stage NAME SECONDS: runs stage_NAME under timeout, fail-fast.
stage() {
	local name=$1 limit=$2 start rc=0 line run pass skip fail names
	log "stage $name (limit ${limit}s)"
	start=$(date +%s)
	counts=$top/.counts-$name
	mkdir -p "$top"
	: >"$counts"
	: >"$counts.cases"
	export -f configure_in check_in sanitized_e2e counted suite_counts \
		skipped_in cases_skipped_in "stage_$name"
	export src top jobs counts
	timeout -k 30 "$limit" bash -c "set -euo pipefail; stage_$name" || rc=$?
	local took=$(($(date +%s) - start))
	read -r run pass skip fail names < <(tally "$counts")
	line="tests: $run run, $pass passed, $skip skipped"
	[ "$fail" -eq 0 ] || line+=", $fail failed"
	[ -z "$names" ] || line+=" ($names)"
	if [ -s "$counts.cases" ]; then
		line+="; cases skipped inside passing programs:"
		line+=" $(paste -sd ' ' "$counts.cases")"
	fi
	if [ $rc -ne 0 ]; then
		[ $rc -eq 124 ] && echo "stage $name timed out after ${limit}s"
		# It stopped before (or without) counting a failed test: a
		# build, a configure or a tool failed, not a test.
		[ "$fail" -ne 0 ] || line+="; failed before its tests were counted (exit $rc)"
		summary+=("$(printf '%-10s FAILED  %5ss  %s' "$name" "$took" "$line")")
		printf '%s\n' "${summary[@]}"
		echo "stages: ${#summary[@]} run, 1 failed"
		exit 1
	fi
	summary+=("$(printf '%-10s ok      %5ss  %s' "$name" "$took" "$line")")
	total_pass=$((total_pass + pass))
	total_skip=$((total_skip + skip))
}

cd "$src"
if [ -f Makefile ] || [ -f config.status ]; then
	echo "run-stages: the source tree is configured in place; run" \
		"'make distclean' there first (stages build out of tree)" >&2
	exit 1
fi
[ -x configure ] || ./autogen.sh >/dev/null 2>&1

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(build browser distcheck asan tsan valgrind e2e fuzz deb)
for s in "${stages[@]}"; do
	case $s in
	build) stage build 900 ;;
	browser) stage browser 180 ;;
	distcheck) stage distcheck 900 ;;
	asan) stage asan 900 ;;
	tsan) stage tsan 1200 ;;
	valgrind) stage valgrind 900 ;;
	e2e) stage e2e 1800 ;;
	fuzz) stage fuzz 600 ;;
	deb) stage deb 1800 ;;
	*) echo "run-stages: unknown stage '$s'" >&2; exit 64 ;;
	esac
done

log "summary"
printf '%s\n' "${summary[@]}"
echo "tests: $total_pass passed, 0 failed, $total_skip skipped"

#!/bin/sh
# valgrind-milter.sh - runs tlspolicy-milter under memcheck, for
# TLSPOLICY_MILTER=tests/valgrind-milter.sh in the milter-level tests.
# exec keeps the process id, so the tests' signals reach the daemon.
exec valgrind -q --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect \
	--log-file="${VALGRIND_LOG:-/dev/stderr}" \
	"${top_builddir:-.}/tlspolicy-milter" "$@"

#!/bin/sh
# check-layering.sh - the tree keeps the shape HACKING.md describes:
#  - milter/: the modules' include graph has no circle (callbacks ->
#    decide -> act -> record -> session; X.c and X.h are module X);
#  - policy/ is pure: no libmilter, no syslog;
#  - the daemon links nothing of the officer's tool (tlspa_ symbols).
set -u
src=${top_srcdir:-.}
build=${top_builddir:-.}
fail=0

edges=$(for f in "$src"/milter/*.c "$src"/milter/*.h; do
	m=$(basename "$f" | sed 's/\.[ch]$//')
	sed -n 's/^#include "\([a-z_]*\)\.h".*/\1/p' "$f" |
		while read -r dep; do
			[ -f "$src/milter/$dep.h" ] && [ "$dep" != "$m" ] &&
				echo "$m $dep"
		done
done | sort -u)
if ! out=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null) || [ -n "$out" ]; then
	echo "check-layering: milter/ includes form a circle:"
	printf '%s\n' "$out"
	fail=1
fi

if grep -l -E '#include <(libmilter/|syslog\.h)' "$src"/policy/*.c "$src"/policy/*.h 2>/dev/null; then
	echo "check-layering: policy/ must not use libmilter or syslog (above)"
	fail=1
fi

daemon=$build/tlspolicy-milter
if [ -x "$daemon" ] && command -v nm >/dev/null 2>&1; then
	if nm "$daemon" | grep -E ' [TtDdBb] tlspa_' ; then
		echo "check-layering: tlspolicy-milter links the tool's code (above)"
		fail=1
	fi
else
	echo "check-layering: $daemon not built or no nm; link check skipped"
	exit 77
fi
[ $fail -eq 0 ] && echo "check-layering: ok ($(printf '%s\n' "$edges" | wc -l) include edges in milter/)"
exit $fail

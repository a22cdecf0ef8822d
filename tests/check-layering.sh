#!/bin/sh
# check-layering.sh - the tree keeps the shape HACKING.md describes:
#  - milter/: the modules' include graph has no circle (callbacks ->
#    decide -> act -> record -> session; X.c and X.h are module X);
#  - policy/ is pure: no libmilter, no syslog.
# (That the daemon links nothing of the officer's tool is checked on the
# built programs by check-install.sh.)
set -u
src=${top_srcdir:-.}
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

[ $fail -eq 0 ] && echo "check-layering: ok ($(printf '%s\n' "$edges" | wc -l) include edges in milter/)"
exit $fail

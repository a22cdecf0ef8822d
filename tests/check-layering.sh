#!/usr/bin/env bash
# check-layering.sh - the tree keeps the shape HACKING.md describes:
#  - milter/: the modules' include graph has no circle (callbacks ->
#    decide -> act -> record -> session; X.c and X.h are module X);
#  - policy/ is pure: no libmilter, no syslog;
#  - the audit record's JSON schema names the same requirements, actions
#    and certificate states as the engine's tables (policy/names.c).
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

# table NAME: the names of tlsp_NAME_names[] in policy/names.c, in order.
table() {
	sed -n "/^const struct tlsp_name_code tlsp_$1_names\[\] = {/,/^};/p" \
		"$src/policy/names.c" | grep -o '{"[^"]*"' | sed 's/^{"//; s/"$//'
}
# schema DEF: the enum of the schema's definition DEF, in order.
schema() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print("\n".join(d["$defs"][sys.argv[2]]["enum"]))' \
		"$src/contrib/audit/record.schema.json" "$1"
}
if command -v python3 >/dev/null 2>&1; then
	for pair in req:requirement action:action cert_state:cert_state; do
		t=${pair%%:*} d=${pair#*:}
		if [ "$(table "$t")" != "$(schema "$d")" ]; then
			echo "check-layering: tlsp_${t}_names (policy/names.c) and" \
				"the schema's $d enum differ:"
			diff <(table "$t") <(schema "$d") || true
			fail=1
		fi
	done
fi

[ $fail -eq 0 ] && echo "check-layering: ok ($(printf '%s\n' "$edges" | wc -l) include edges in milter/)"
exit $fail

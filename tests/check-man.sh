#!/bin/sh
# check-man.sh - every man page renders without a warning.
set -u
src=${top_srcdir:-.}
command -v mandoc >/dev/null 2>&1 || { echo "mandoc not installed"; exit 77; }
fail=0
for page in "$src"/policy/*.5 "$src"/milter/*.8 "$src"/audit/tool/*.1; do
	[ -f "$page" ] || { echo "$page: no such man page"; fail=1; continue; }
	out=$(mandoc -T lint -W warning "$page" 2>&1)
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		fail=1
	fi
	if command -v groff >/dev/null 2>&1; then
		out=$(groff -ww -z -man "$page" 2>&1)
		[ -z "$out" ] || { printf '%s: %s\n' "$page" "$out"; fail=1; }
	fi
done
exit $fail

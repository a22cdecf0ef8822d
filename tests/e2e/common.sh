# shellcheck shell=bash
# tests/e2e/common.sh - what the Postfix and Sendmail harnesses and their
# tests share. Sourced; defines functions only.

# e2e_header_values FILE NAME: the value(s) of header NAME (any case) in
# the message FILE, one per line, folded lines joined with a space. Fails
# when the message has no such header.
e2e_header_values() {
	awk -v want="$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" '
		function flush() { if (hit) { print val; found = 1 }; hit = 0 }
		{ sub(/\r$/, "") }
		/^$/ { exit }
		/^[ \t]/ { if (hit) { v = $0; sub(/^[ \t]+/, "", v); val = val " " v }; next }
		{
			flush()
			n = index($0, ":")
			if (n > 0 && tolower(substr($0, 1, n - 1)) == want) {
				hit = 1; val = substr($0, n + 1); sub(/^[ \t]+/, "", val)
			}
		}
		END { flush(); exit !found }' "$1"
}

# One line per check; the caller sets passed=0 failed=0 first.
ok() {
	passed=$((passed + 1))
	printf 'ok   %s\n' "$1"
}

not_ok() {
	failed=$((failed + 1))
	printf 'FAIL %s\n' "$1"
	[ $# -gt 1 ] && printf '     %s\n' "$2"
	return 0
}

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got [$2], want [$3]"
	fi
}

# check_re NAME GOT REGEX (extended)
check_re() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		not_ok "$1" "got [$2], want /$3/"
	fi
}

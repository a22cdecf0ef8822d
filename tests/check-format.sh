#!/bin/sh
# check-format.sh - every C file is formatted as .clang-format says.
#
# Pinned to clang-format 14 (Debian 12): another major version formats
# some constructs differently, so with any other version, or none, the
# check is skipped and says so. CLANG_FORMAT names the program to use.
# In a git checkout the files are the tracked ones; in a tarball, every
# *.c and *.h under the directories that hold the project's C code.
set -u
src=${top_srcdir:-.}
dirs="policy milter audit include tests"

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
	for p in clang-format-14 clang-format; do
		if command -v "$p" >/dev/null 2>&1; then
			cf=$p
			break
		fi
	done
fi
found=none
if [ -n "$cf" ] && command -v "$cf" >/dev/null 2>&1; then
	found=$("$cf" --version 2>/dev/null | head -n 1)
	[ -n "$found" ] || found="$cf (no version)"
fi
major=$(printf '%s\n' "$found" |
	sed -n 's/.*clang-format version \([0-9][0-9]*\)\..*/\1/p')
if [ "$major" != 14 ]; then
	echo "check-format: skipped: clang-format 14 needed, found $found"
	exit 77
fi
if [ ! -f "$src/.clang-format" ]; then
	echo "check-format: $src/.clang-format is missing"
	exit 1
fi

cd "$src" || exit 1
files=""
if [ -e .git ] && command -v git >/dev/null 2>&1; then
	files=$(git ls-files -- '*.c' '*.h' |
		grep -E "^($(echo $dirs | tr ' ' '|'))/")
fi
if [ -z "$files" ]; then
	files=$(find $dirs -type f \( -name '*.c' -o -name '*.h' \) |
		LC_ALL=C sort)
fi
if [ -z "$files" ]; then
	echo "check-format: no C files found under $src"
	exit 1
fi

n=0
bad=""
for f in $files; do
	[ -f "$f" ] || continue # tracked, but deleted in the work tree
	n=$((n + 1))
	if ! "$cf" --style=file:.clang-format --dry-run --Werror "$f" \
	    >/dev/null 2>&1; then
		bad="$bad $f"
	fi
done
if [ -n "$bad" ]; then
	echo "check-format: these files differ from .clang-format ($found):"
	for f in $bad; do
		echo "  $f"
	done
	echo "see the changes with: clang-format FILE | diff -u FILE -"
	echo "apply them with:      clang-format -i FILE"
	exit 1
fi
echo "check-format: $n files formatted as .clang-format says"
exit 0

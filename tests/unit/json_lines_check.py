#!/usr/bin/env python3
"""json_lines_check.py - read an audit log the way a compliance tool would.

Usage: json_lines_check.py LOG [EXPECTED]

An independent reader for test_audit.c: Python's json module must parse
every line of LOG as one object whose keys start seq, time, host, type,
with sequence numbers contiguous; the file must be valid UTF-8 that even
str.splitlines() (which also splits at U+0085, U+2028 and U+2029) cuts
into exactly one piece per record. EXPECTED holds one hex string per line:
each must be the exact bytes of some string in the log once decoded with
surrogateescape. Exits 0 when all holds, 1 with a reason otherwise.
"""
import json
import sys


def strings(value):
    """Yields every string (keys too) inside a parsed JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)


def check(log_path, expected_path):
    raw = open(log_path, "rb").read()
    if raw and not raw.endswith(b"\n"):
        return "the log does not end with a newline"
    text = raw.decode("utf-8")  # strict: raises on invalid UTF-8
    lines = raw.split(b"\n")[:-1]
    if len(text.splitlines()) != len(lines):
        return "str.splitlines() sees %d lines, not %d" % (
            len(text.splitlines()), len(lines))
    seen = set()
    prev = None
    for number, line in enumerate(lines, 1):
        record = json.loads(line.decode("utf-8"))
        if not isinstance(record, dict):
            return "line %d: not an object" % number
        if list(record)[:4] != ["seq", "time", "host", "type"]:
            return "line %d: keys start %s" % (number, list(record)[:4])
        if prev is not None and record["seq"] != prev + 1:
            return "line %d: seq %d after %d" % (number, record["seq"], prev)
        prev = record["seq"]
        for s in strings(record):
            seen.add(s.encode("utf-8", "surrogateescape"))
    if expected_path:
        for number, hexline in enumerate(open(expected_path), 1):
            want = bytes.fromhex(hexline.strip())
            if want not in seen:
                return "expected string %d (%d bytes) not found" % (
                    number, len(want))
    return None


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    try:
        problem = check(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    except (ValueError, KeyError, TypeError) as e:  # JSON or UTF-8 errors
        problem = "%s: %s" % (type(e).__name__, e)
    if problem:
        print("json_lines_check: %s: %s" % (sys.argv[1], problem),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

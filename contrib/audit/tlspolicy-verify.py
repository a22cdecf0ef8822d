#!/usr/bin/env python3
"""tlspolicy-verify.py - check the hash chain of a tlspolicy audit log.

Usage: tlspolicy-verify.py [--key FILE] [--anchor SEQ:HASH]... FILE...

An independent verifier, written from audit/FORMAT.md alone, in Python 3
with nothing but the standard library, so that an auditor can read it in
full and run it anywhere. It gives the same answers, with the same exit
codes, as `tlspolicy-audit verify`.

FILEs are read in the order given, oldest first, as one chain: the log
and its rotated predecessors (`.gz` files are decompressed; `-` is the
standard input). Files are read line by line as bytes: a line's bytes are
hashed exactly as they are on disk, never decoded and encoded again.

What is checked, record by record (FORMAT.md sections 1 to 5):

  * the record's hash: SHA-256 (or, with --key, HMAC-SHA-256 under the key
    file's bytes) of the previous hash and the record's canonical bytes,
    in which each value of "sender", "addr", "name" and "helo" stands as
    its salted digest, so that such values may be redacted later without
    breaking the chain;
  * the link: "prev" is the hash of the record before, and "seq" is one
    more than the seq before; a record whose prev is the genesis (64 0s)
    after the first record means that a new chain was started;
  * that the record is one valid JSON object (RFC 8259: no NaN, and no
    member name twice, which different tools would read differently);
  * each --anchor SEQ:HASH (a hash the daemon sent to syslog): the record
    with that seq is present and has that hash, or the files begin right
    after it (first record: seq SEQ+1, prev HASH). An anchor that is never
    reached means the end of the log was cut off.

Lines that are not shaped like records (a write cut short when the daemon
was killed) are skipped with a warning; the next record must then link to
the record before them. A complete record that lacks only its final LF
counts as a record. A clock that steps
back is a warning: order is by seq, times are informative.

Exit status: 0 the chain holds; 1 the first break, reported as
FILE:LINE: reason; 2 usage or I/O error.
"""
import argparse
import gzip
import hashlib
import hmac
import json
import re
import sys
import zlib

GENESIS = "0" * 64
REDACTABLE = (b"sender", b"addr", b"name", b"helo")
# A record begins {"seq":N, and ends ,"prev":"P","hash":"H"}. A write cut
# short never has that end, so whatever does is checked as a record.
HEAD = re.compile(rb'\{"seq":([1-9][0-9]{0,19}),')
TAIL = re.compile(rb',"prev":"([0-9a-f]{64})","hash":"([0-9a-f]{64})"\}')
TAIL_LEN = 149  # len(',"prev":"' + 64 + '"') + len(',"hash":"' + 64 + '"}')
HASH_MEMBER_LEN = 75  # ,"hash":"H"}
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                  r"\.[0-9]{3}Z")


class Break(Exception):
    """The chain does not hold at `where`."""

    def __init__(self, where, reason):
        super().__init__("%s: %s" % (where, reason))


class NotARecord(Exception):
    """The line cannot be tokenized (an unterminated string)."""


# ------------------------------------------------ canonical bytes (sec. 3)

def string_end(line, i):
    """Index of the quote closing the string token that opens at line[i]:
    the next '"' not preceded by an odd number of backslashes."""
    j = i
    while True:
        j = line.find(b'"', j + 1)
        if j < 0:
            raise NotARecord()
        k = j
        while line[k - 1] == 0x5C:  # backslash
            k -= 1
        if (j - k) % 2 == 0:
            return j


def redactable_values(line):
    """Tokenizes the record `line` (no JSON parser needed). Returns the
    top-level salt (bytes; b"" if none) and a list of (key, start, end)
    for every string value of a redactable member, at any depth: the
    value token is line[start:end + 1], quotes included."""
    salt, spans = None, []
    depth, i, n = 0, 0, len(line)
    while i < n:
        c = line[i]
        if c == 0x22:  # '"' starts a string token
            j = string_end(line, i)
            if j + 1 < n and line[j + 1] == 0x3A:  # followed by ':': a key
                key, v = line[i + 1:j], j + 2
                if v < n and line[v] == 0x22:  # its value is a string
                    e = string_end(line, v)
                    if key in REDACTABLE:
                        spans.append((key, v, e))
                    elif key == b"salt" and depth == 1 and salt is None:
                        salt = line[v + 1:e]
                    j = e
            i = j + 1
            continue
        if c in b"{[":
            depth += 1
        elif c in b"}]":
            depth -= 1
        i += 1
    return salt or b"", spans


def field_digest(salt, key, value):
    """D = SHA-256(S || 0x00 || K || 0x00 || V), V as written (sec. 2)."""
    return hashlib.sha256(salt + b"\0" + key + b"\0" + value).hexdigest()


def canonical(line):
    """The canonical bytes C of `line`, a record without its LF whose hash
    member was replaced by '}': each redactable string value is replaced,
    quotes included, by {"sha256":"D"}."""
    salt, spans = redactable_values(line)
    out, pos = [], 0
    for key, start, end in spans:
        digest = field_digest(salt, key, line[start + 1:end])
        out += [line[pos:start], b'{"sha256":"', digest.encode(), b'"}']
        pos = end + 1
    out.append(line[pos:])
    return b"".join(out)


def record_hash(line, key):
    """The hash of a full record line (no LF), in hex."""
    body = line[:-HASH_MEMBER_LEN] + b"}"
    prev = bytes.fromhex(TAIL.fullmatch(line[-TAIL_LEN:]).group(1).decode())
    data = prev + canonical(body)
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


# --------------------------------------------------------------- records

class Record:
    """What a line says about itself: seq, time, prev and hash."""

    def __init__(self, where, seq, prev, hash_, line):
        self.where, self.seq, self.prev, self.hash = where, seq, prev, hash_
        self.line = line
        self.time = None


def parse(line, where):
    """A Record if `line` (no LF) is shaped like one, else None."""
    head = HEAD.match(line)
    tail = TAIL.fullmatch(line[-TAIL_LEN:])
    if (head is None or tail is None or len(line) < head.end() - 1 + TAIL_LEN
            or int(head.group(1)) >= 1 << 64):
        return None
    return Record(where, int(head.group(1)), tail.group(1).decode(),
                  tail.group(2).decode(), line)


def strict_object(pairs):
    """A JSON object whose member names are unique: a name given twice
    reads differently in different tools (the first or the last wins)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("a member name given twice")
    return obj


def no_constant(name):
    raise ValueError("%s is not JSON" % name)


def check_json(rec, prev_time):
    """The record must be one JSON object (RFC 8259: no NaN or Infinity,
    no name twice). Warns when time steps back."""
    try:
        obj = json.loads(rec.line.decode("utf-8", "surrogateescape"),
                         object_pairs_hook=strict_object,
                         parse_constant=no_constant)
    except (ValueError, RecursionError) as e:
        raise Break(rec.where, "record is not valid JSON (%s)" % e) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("time"), str):
        raise Break(rec.where, "record is not a JSON object with a time")
    if TIME.fullmatch(obj["time"]):
        rec.time = obj["time"]
        if prev_time is not None and rec.time < prev_time:
            warn(rec.where, "warning: clock stepped back (%s after %s)"
                 % (rec.time, prev_time))


def warn(where, text):
    print("%s: %s" % (where, text), file=sys.stderr)


# ------------------------------------------------------------ the chain

def lines_of(path):
    """Yields (line number, line bytes with its LF if any) of one file,
    reading one line at a time; gzip is recognised by its magic bytes."""
    raw = sys.stdin.buffer if path == "-" else open(path, "rb")
    try:
        f = raw
        if raw.peek(2)[:2] == b"\x1f\x8b":
            f = gzip.GzipFile(fileobj=raw, mode="rb")
        for number, line in enumerate(f, 1):
            yield number, line
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def verify(paths, key, anchors):
    """Checks the chain; returns the summary line or raises Break."""
    first = last = None
    count = 0
    start_checked = False
    pending = list(anchors)  # (seq, hash) not yet reached
    where = "%s:0" % paths[-1]  # the last line read
    for path in paths:
        for number, raw in lines_of(path):
            where = "%s:%d" % (path, number)
            # A last line that lacks only its LF is still a record: the
            # daemon's next write begins with the LF that completes it.
            rec = parse(raw[:-1] if raw.endswith(b"\n") else raw, where)
            if rec is None:
                warn(where, "warning: torn line skipped")
                continue
            try:
                good = record_hash(rec.line, key) == rec.hash
            except NotARecord:
                warn(where, "warning: torn line skipped")
                continue
            if not good:
                raise Break(where, "record changed" + (
                    " (or wrong --key)" if key is not None else
                    " (or the log is keyed: give --key)"))
            if last is None:
                start_checked = start_of_chain(rec, pending)
                first = rec
            elif rec.prev == GENESIS:
                raise Break(where, "new chain started after the first record"
                            " (the log was replaced?)")
            elif rec.prev != last.hash:
                raise Break(where, "does not link to the previous record (%s)"
                            % last.where)
            elif rec.seq != last.seq + 1:
                raise Break(where, "sequence gap: seq %d after %d"
                            % (rec.seq, last.seq))
            check_json(rec, last.time if last is not None else None)
            for seq, hash_ in [a for a in pending if a[0] == rec.seq]:
                if hash_ != rec.hash:
                    raise Break(where, "anchor %d: hash differs (anchor %s,"
                                " record %s)" % (seq, hash_, rec.hash))
                pending.remove((seq, hash_))
            last, count = rec, count + 1
    for seq, hash_ in pending:
        if last is None:
            raise Break("%s:0" % paths[-1], "anchor %d not found: no records"
                        % seq)
        raise Break(where, "anchor %d not found: the log ends at seq %d"
                    " before it (tail cut?)" % (seq, last.seq))
    if last is None:
        warn("%s:0" % paths[-1], "warning: no records")
        return "OK: 0 records, files %d" % len(paths)
    if not start_checked:
        warn(first.where, "note: the chain starts at seq %d with prev %s, not"
             " at the genesis: what came before is unchecked (give --anchor"
             " %d:HASH)" % (first.seq, first.prev, first.seq - 1))
    return "OK: %d records, seq %d..%d, files %d, last hash %s" % (
        count, first.seq, last.seq, len(paths), last.hash)


def start_of_chain(rec, pending):
    """Checks the first record against the genesis and the anchors that
    lie before it. Returns whether its predecessor is known."""
    checked = False
    if rec.prev == GENESIS:
        if rec.seq != 1:
            raise Break(rec.where, "a new chain starts at seq 1, not %d"
                        % rec.seq)
        checked = True
    for seq, hash_ in [a for a in pending if a[0] < rec.seq]:
        if seq + 1 < rec.seq:
            raise Break(rec.where, "anchor %d not found: the log begins at"
                        " seq %d" % (seq, rec.seq))
        if hash_ != rec.prev:
            raise Break(rec.where, "anchor %d: hash differs (anchor %s, prev"
                        " of the first record %s)" % (seq, hash_, rec.prev))
        pending.remove((seq, hash_))
        checked = True
    return checked


# ------------------------------------------------------------------ main

def anchor(text):
    """SEQ:HASH, or "seq=N hash=H" as the daemon logs it (audit checkpoint
    seq=N hash=H); SEQ 0 names the genesis."""
    m = re.fullmatch(r"(?:seq=)?(0|[1-9][0-9]*)(?::| hash=)([0-9a-fA-F]{64})",
                     text)
    if m is None:
        raise argparse.ArgumentTypeError("not SEQ:HASH: %r" % text)
    return int(m.group(1)), m.group(2).lower()


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Verify the hash chain of tlspolicy audit logs.")
    ap.add_argument("--key", metavar="FILE",
                    help="HMAC key file of the chain (whole content)")
    ap.add_argument("--anchor", metavar="SEQ:HASH", type=anchor,
                    action="append", default=[],
                    help="a checkpoint hash from syslog; may be repeated")
    ap.add_argument("files", metavar="FILE", nargs="+",
                    help="log files, oldest first; .gz ok; - for stdin")
    args = ap.parse_args(argv)  # exits 2 on a usage error
    key = None
    try:
        if args.key is not None:
            with open(args.key, "rb") as f:
                key = f.read()
            if len(key) < 16:
                print("%s: a key must have at least 16 bytes" % args.key,
                      file=sys.stderr)
                return 2
        print(verify(args.files, key, args.anchor))
        return 0
    except Break as e:
        sys.stdout.flush()
        print(e, file=sys.stderr)
        return 1
    except (OSError, EOFError, zlib.error) as e:
        print("tlspolicy-verify: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

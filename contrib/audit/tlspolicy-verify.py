#!/usr/bin/env python3
"""tlspolicy-verify.py - check the hash chain of a tlspolicy audit log.

Usage: tlspolicy-verify.py [--key FILE] [--anchor SEQ:HASH]...
                           [--allow-empty] [--ignore-breaks] FILE...

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

A line that is not shaped like a record (a write cut short when the
daemon was killed) is tolerated only where a crash leaves one: the last
line of the log, the last line of a file when the next record read is a
start record (killed, rotated, restarted), or a line right before a start
record; it is skipped with a warning, and the next record must link to
the record before it. Anywhere else such a line is a break at its
FILE:LINE (a line inserted by hand is not evidence), and so is a log that
does not begin with a record. A file with no bytes is a break ("no
records", FILE:0) unless --allow-empty. A complete record that lacks only
its final LF counts as a record. A clock that steps back is a warning:
order is by seq, times are informative.

Exit status: 0 the chain holds; 1 it does not: the first break, reported
as FILE:LINE: reason (with --ignore-breaks every break, and a BROKEN
summary); 2 usage or I/O error.
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


def parse_json(line):
    """The record's JSON object, or (None, why) when it is not valid JSON
    (RFC 8259: no NaN or Infinity, no name twice)."""
    try:
        return json.loads(line.decode("utf-8", "surrogateescape"),
                          object_pairs_hook=strict_object,
                          parse_constant=no_constant), None
    except (ValueError, RecursionError) as e:
        return None, str(e)


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


class Chain:
    """Follows the chain line by line (FORMAT.md sections 1, 4, 5): which
    lines are records in the chain, and every break. A torn line (not a
    record) is held until the next record or the end decides it: it is
    tolerated as the last line of the log, as the last line of a file
    when the next record read is a start record, or right before a start
    record; anywhere else it is a break at its line. After a break the
    chain goes on from the record at the break (it re-syncs there)."""

    def __init__(self, paths, key, anchors, allow_empty, ignore_breaks):
        self.paths, self.key = paths, key
        self.pending = list(anchors)  # (seq, hash) not yet reached
        self.allow_empty, self.ignore_breaks = allow_empty, ignore_breaks
        self.held = []  # torn lines not yet decided: (where, file index)
        self.last = None  # the record the chain goes on from
        self.first = None  # the first record in the chain
        self.count = self.breaks = self.skipped = 0
        self.next_file = 0
        self.time = None
        self.first_break = None

    def broke(self, where, reason):
        """A break: the first ends the run unless --ignore-breaks."""
        self.breaks += 1
        if self.first_break is None:
            self.first_break = where
        if not self.ignore_breaks:
            raise Break(where, reason)
        print("%s: %s" % (where, reason), file=sys.stderr)

    def decide(self, ok):
        for where, _ in self.held:
            if ok:
                warn(where, "warning: torn line skipped")
            else:
                self.broke(where, "not a record, and not where a crash "
                           "leaves a torn line (the last line of the log, "
                           "or before a start record)")
                self.skipped += 1
        self.held = []

    def empty_files(self, upto):
        while self.next_file < upto:
            path = self.paths[self.next_file]
            if self.allow_empty:
                warn(path, "warning: empty file accepted (--allow-empty)")
            else:
                self.broke("%s:0" % path, "no records: the file is empty "
                           "(--allow-empty accepts a freshly rotated file)")
            self.next_file += 1

    def torn(self, where, index):
        if self.held and self.held[-1][1] == index:
            self.decide(False)
        self.empty_files(index)
        self.next_file = index + 1
        if self.last is not None:
            self.held.append((where, index))
            return
        self.broke(where, "not a record, and no record before it: not an "
                   "audit log?")
        self.skipped += 1

    def record(self, rec, index, good):
        obj, why = parse_json(rec.line)
        self.decide(isinstance(obj, dict) and obj.get("type") == "start")
        self.empty_files(index)
        self.next_file = index + 1
        try:
            self.check(rec, obj, why, good)
        except Break as e:
            if not self.ignore_breaks:
                raise
            self.breaks += 1
            if self.first_break is None:
                self.first_break = rec.where
            print(e, file=sys.stderr)
            self.skipped += 1
        else:
            self.count += 1
            if self.first is None:
                self.first = rec
        self.last = rec

    def check(self, rec, obj, why, good):
        """Raises Break when rec does not continue the chain."""
        where = rec.where
        if not good:
            raise Break(where, "record changed" + (
                " (or wrong --key)" if self.key is not None else
                " (or the log is keyed: give --key)"))
        if self.last is None:
            if not start_of_chain(rec, self.pending):
                warn(where, "note: the chain starts at seq %d with prev %s,"
                     " not at the genesis: what came before is unchecked"
                     " (give --anchor %d:HASH)"
                     % (rec.seq, rec.prev, rec.seq - 1))
        elif rec.prev == GENESIS:
            raise Break(where, "new chain started (genesis prev) after the"
                        " first record: the log was replaced?")
        elif rec.prev != self.last.hash:
            raise Break(where, "does not link to the previous record"
                        " (deleted, inserted or reordered records?): seq %d"
                        " after seq %d at %s" % (rec.seq, self.last.seq,
                                                 self.last.where))
        elif rec.seq != self.last.seq + 1:
            raise Break(where, "sequence gap: seq %d after %d"
                        % (rec.seq, self.last.seq))
        if obj is None:
            raise Break(where, "record is not valid JSON (%s)" % why)
        if not isinstance(obj, dict) or not isinstance(obj.get("time"), str):
            raise Break(where, "record is not a JSON object with a time")
        if TIME.fullmatch(obj["time"]):
            if self.time is not None and obj["time"] < self.time:
                warn(where, "warning: clock stepped back (%s after %s)"
                     % (obj["time"], self.time))
            self.time = obj["time"]
        for seq, hash_ in [a for a in self.pending if a[0] == rec.seq]:
            self.pending.remove((seq, hash_))  # met, right or wrong
            if hash_ != rec.hash:
                raise Break(where, "anchor %d: hash differs (anchor %s,"
                            " record %s)" % (seq, hash_, rec.hash))

    def line(self, path, index, number, raw):
        where = "%s:%d" % (path, number)
        # A last line that lacks only its LF is still a record: the
        # daemon's next write begins with the LF that completes it.
        rec = parse(raw[:-1] if raw.endswith(b"\n") else raw, where)
        try:
            good = rec is not None and record_hash(rec.line, self.key) == \
                rec.hash
        except NotARecord:
            rec = None
        if rec is None:
            self.torn(where, index)
        else:
            self.record(rec, index, good)

    def end(self):
        if self.held:
            last = self.held.pop()
            self.decide(False)
            self.held = [last]
            self.decide(True)
        self.empty_files(len(self.paths))
        for seq, hash_ in self.pending:
            if self.last is None:
                self.broke("%s:0" % self.paths[-1], "anchor %d not found:"
                           " no records" % seq)
            else:
                self.broke(self.last.where, "anchor %d not found: the log"
                           " ends at seq %d before it (tail cut?)"
                           % (seq, self.last.seq))


def verify(paths, key, anchors, allow_empty=False, ignore_breaks=False):
    """Checks the chain; returns (status, summary line) or raises Break."""
    c = Chain(paths, key, anchors, allow_empty, ignore_breaks)
    for index, path in enumerate(paths):
        for number, raw in lines_of(path):
            c.line(path, index, number, raw)
    c.end()
    if c.breaks:
        return 1, ("BROKEN: %d break%s, the first at %s; %d line%s not in"
                   " the chain; %d record%s checked, files %d: %s"
                   % (c.breaks, "" if c.breaks == 1 else "s",
                      c.first_break, c.skipped,
                      "" if c.skipped == 1 else "s",
                      c.count, "" if c.count == 1 else "s", len(paths),
                      "the evidence is weakened" if c.count
                      else "there is no evidence"))
    if c.count == 0:
        return 0, ("OK: 0 records, files %d (empty, as --allow-empty"
                   " accepts)" % len(paths))
    return 0, "OK: %d record%s, seq %d..%d, files %d, last hash %s" % (
        c.count, "" if c.count == 1 else "s", c.first.seq, c.last.seq,
        len(paths), c.last.hash)


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
        pending.remove((seq, hash_))  # met, right or wrong: one finding
        if seq + 1 < rec.seq:
            raise Break(rec.where, "anchor %d not found: the log begins at"
                        " seq %d (older records missing: head cut?)"
                        % (seq, rec.seq))
        if hash_ != rec.prev:
            raise Break(rec.where, "anchor %d: hash differs (anchor %s, prev"
                        " of the first record %s)" % (seq, hash_, rec.prev))
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
    ap.add_argument("--allow-empty", action="store_true",
                    help="accept a file with no bytes (freshly rotated)")
    ap.add_argument("--ignore-breaks", action="store_true",
                    help="report every break and go on (exit 1 still)")
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
        status, summary = verify(args.files, key, args.anchor,
                                 args.allow_empty, args.ignore_breaks)
        print(summary)
        return status
    except Break as e:
        sys.stdout.flush()
        print(e, file=sys.stderr)
        return 1
    except (OSError, EOFError, zlib.error) as e:
        print("tlspolicy-verify: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

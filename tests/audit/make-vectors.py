#!/usr/bin/env python3
"""make-vectors.py - write the audit log test vectors in tests/audit/vectors.

Usage: make-vectors.py [DIR]      (default: vectors/ beside this script)
       make-vectors.py --examples (print the worked examples of FORMAT.md)

The vectors are small logs, made the way the daemon makes them, then
tampered with by hand; tests/audit/vectors/README says what a verifier
must answer for each. Everything is fixed (salts, times, the key), so a
second run writes the same bytes.

This is a second implementation of audit/FORMAT.md, on purpose different
from the verifier's: a writer knows which values are redactable because it
writes them, so the canonical bytes are built here by serialising the
record a second time with each redactable value already replaced by its
digest, not by tokenising the line. The verifiers must agree with it.
"""
import gzip
import hashlib
import hmac
import os
import sys

GENESIS = "0" * 64
REDACTABLE = ("sender", "addr", "name", "helo")
KEY = bytes(range(0x00, 0x20))  # the file "key": 00 01 02 ... 1f
WRONG_KEY = bytes(range(0x20, 0x40))
POLICY = hashlib.sha256(b"tlspolicy.yaml of the test vectors").hexdigest()
HOST = "mx1.example.net"
MACROS = ["v", "{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}",
          "{cert_issuer}", "{verify}", "{cert_fp}", "{auth_authen}",
          "{daemon_name}", "{client_addr}"]


# -------------------------------------------------------------- writing

SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
         "\r": "\\r", "\t": "\\t"}


# The format characters of FORMAT.md section 1 (Cf, Zl, Zp of Unicode
# 15.1), as that list states them: written \uXXXX from format 2 on.
FORMAT_CHARS = ((0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C),
                (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891),
                (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F),
                (0x2028, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
                (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
                (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3),
                (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F))


def is_format(cp):
    return any(lo <= cp <= hi for lo, hi in FORMAT_CHARS)


def escape(value, v1=False):
    """The string token's bytes between its quotes, as audit/json.c writes
    them: valid UTF-8 kept, each byte of invalid UTF-8 as \\udcHH, short
    escapes, \\u00XX for other C0 controls and DEL, \\uXXXX for C1
    controls and format characters (a surrogate pair past U+FFFF).
    `value` is str or the raw bytes sent. With v1, as format 1 wrote
    them: of the format characters only U+2028 and U+2029 escaped."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    out = []
    for ch in value:
        cp = ord(ch)
        fmt = cp in (0x2028, 0x2029) if v1 else is_format(cp)
        if ch in SHORT:
            out.append(SHORT[ch])
        elif cp < 0x20 or 0x7F <= cp <= 0x9F or 0xDC80 <= cp <= 0xDCFF:
            out.append("\\u%04x" % cp)
        elif fmt and cp > 0xFFFF:
            hi, lo = divmod(cp - 0x10000, 0x400)
            out.append("\\u%04x\\u%04x" % (0xD800 + hi, 0xDC00 + lo))
        elif fmt:
            out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    return "".join(out).encode("utf-8")


class V1:
    """A string written by format 1's rules (format characters raw)."""

    def __init__(self, value):
        self.value = value


class Redacted:
    """A redactable value that was redacted: written as its digest."""

    def __init__(self, value):
        self.value = value


class Raw:
    """Bytes written as they are (to forge lines that are not JSON)."""

    def __init__(self, data):
        self.data = data


def digest(salt, key, token):
    return hashlib.sha256(salt + b"\0" + key.encode() + b"\0" +
                          token).hexdigest()


def dumps(value, salt, canon, key=None):
    """JSON without whitespace, members in order. With canon, every
    redactable string value is written as {"sha256":"D"}."""
    if isinstance(value, Raw):
        return value.data
    if isinstance(value, V1):
        tok = escape(value.value, v1=True)
        if key in REDACTABLE and canon:
            return b'{"sha256":"%s"}' % digest(salt, key, tok).encode()
        return b'"' + tok + b'"'
    if key in REDACTABLE and isinstance(value, Redacted):
        return b'{"sha256":"%s"}' % digest(salt, key,
                                           escape(value.value)).encode()
    if key in REDACTABLE and isinstance(value, (str, bytes)) and canon:
        return b'{"sha256":"%s"}' % digest(salt, key, escape(value)).encode()
    if value is None:
        return b"null"
    if value is True or value is False:
        return b"true" if value else b"false"
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, (str, bytes)):
        return b'"' + escape(value) + b'"'
    if isinstance(value, list):
        return b"[" + b",".join(dumps(v, salt, canon) for v in value) + b"]"
    return b"{" + b",".join(b'"%s":%s' % (k.encode(), dumps(v, salt, canon, k))
                            for k, v in value.items()) + b"}"


def record_line(rec, key=None):
    """rec: the record with seq, time, ..., prev. Returns (line, hash)."""
    salt = rec.get("salt", "").encode()
    body = dumps(rec, salt, False)
    canon = dumps(rec, salt, True)
    data = bytes.fromhex(rec["prev"]) + canon
    h = (hmac.new(key, data, hashlib.sha256) if key is not None
         else hashlib.sha256(data)).hexdigest()
    return body[:-1] + b',"hash":"%s"}\n' % h.encode(), h


def chain(bodies, key=None, prev=GENESIS, seq=1, t0=0, seqs=None,
          times=None):
    """Writes the bodies as one chain. Returns [(line, seq, hash)]."""
    out = []
    for i, body in enumerate(bodies):
        s = seqs[i] if seqs else seq + i
        rec = {"seq": s, "time": stamp(times[i] if times else t0 + i)}
        rec.update(body)
        rec["prev"] = prev
        line, prev = record_line(rec, key)
        out.append((line, s, prev))
    return out


def stamp(n):
    """A fixed time for the n-th record: 1.337 s apart."""
    ms = 7123 + n * 1337
    return "2026-11-23T08:41:%02d.%03dZ" % (ms // 1000, ms % 1000)


# ------------------------------------------------------------- records

def salt(n):
    return hashlib.sha256(b"salt %d" % n).hexdigest()[:32]


def lifecycle(type_, detail=None, policy=True):
    r = {"host": HOST, "type": type_}
    if policy:
        r["policy"] = POLICY
    if detail is not None:
        r["detail"] = detail
    return r


def failure(req, status, required, observed):
    return {"requirement": req, "status": status, "required": required,
            "observed": observed}


def rule(name, status, action, mode="enforce", failures=()):
    return {"rule": name, "exempt": False, "status": status,
            "action": action, "mode": mode, "failures": list(failures)}


def verdict(action, would, by, rules, flags=()):
    return {"action": action, "would_action": would, "decided_by": by,
            "flags": list(flags), "rules": rules}


def tls(version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", bits=256,
        cert="verified", subject="CN=mail.example.org",
        issuer="CN=Example CA,O=Example", verify="OK", fs=True):
    observed = ["v", "{tls_version}", "{cipher}", "{cipher_bits}",
                "{cert_subject}", "{cert_issuer}", "{verify}",
                "{daemon_name}", "{client_addr}"]
    if version is None:
        observed = ["v", "{daemon_name}", "{client_addr}"]
    return {"version": version, "cipher": cipher, "bits": bits,
            "forward_secrecy": None if version is None else fs,
            "cert": cert, "subject": subject, "issuer": issuer,
            "verify": verify, "fingerprint": None, "observed": observed,
            "absent": [m for m in MACROS if m not in observed]}


def decision(type_, n, client, helo, sender, facts, action, would,
             mode="enforce", sender_verdict=None, rcpts=None, reply=None,
             salt_last=False):
    """A decision record shaped like audit/body.c's tlsp_body_build. The
    daemon writes the salt right after type; FORMAT.md lets it stand
    anywhere at the top level, so one record has it last."""
    r = {"host": HOST, "type": type_}
    if not salt_last:
        r["salt"] = salt(n)
    r["txid"] = "c0a80007%04x.%d" % (n, 1)
    r["queue_id"] = "4Xy%dQz" % n
    r["client"] = {"addr": client[0], "name": client[1]}
    if helo is not None:
        r["helo"] = helo
    if sender is not None:
        r["sender"] = sender
    r["mta"] = "postfix"
    r["tls"] = facts
    if sender_verdict is not None:
        r["sender_verdict"] = sender_verdict
    if rcpts:
        r["recipients"] = [{"addr": a, "verdict": v, "reply": rp}
                           for a, v, rp in rcpts]
    r.update({"action": action, "mode": mode, "would_action": would})
    if reply is not None:
        r["reply"] = reply
    r["policy"] = POLICY
    if salt_last:
        r["salt"] = salt(n)
    return r


PASS_BANK = rule("partner-bank", "pass", "accept")
FAIL_BANK = rule("partner-bank", "fail", "reject", failures=[
    failure("min_version", "fail", "TLSv1.2", "TLSv1"),
    failure("client_cert", "unknown", "verified", "(absent)")])
REPLY_REJ = "550 5.7.1 TLS policy: partner-bank requires TLSv1.2"


def good_bodies(redact=False):
    """The decision log of one busy minute, hostile strings included."""
    R = Redacted if redact else (lambda v: v)
    no_tls = tls(version=None, cipher=None, bits=None, cert="none",
                 subject=None, issuer=None, verify=None)
    return [
        lifecycle("start", "tlspolicy-milter 0.1.0"),
        # Refused at MAIL: a sender with a quoted local part and a HELO
        # holding a NUL, a byte of invalid UTF-8 and a line separator.
        decision("mail", 2, ("192.0.2.7", "mail.example.org"),
                 b'evil\x00helo\xff\xe2\x80\xa8x',
                 R('"john\\"doe"@bank.example'),
                 tls(version="TLSv1", cipher="AES256-SHA", cert="none",
                     subject=None, issuer=None, verify="NO", fs=False),
                 "reject", "reject",
                 sender_verdict=verdict("reject", "reject", "partner-bank",
                                        [FAIL_BANK]),
                 reply=REPLY_REJ),
        # Refused at RCPT: an address ending in a backslash; the salt
        # after the values it salts.
        decision("rcpt", 3, ("2001:db8::25", None), "[2001:db8::25]",
                 "ops@partner.example",
                 tls(), "reject", "reject",
                 rcpts=[("trailing\\@bank.example",
                         verdict("reject", "reject", "partner-bank",
                                 [FAIL_BANK]), REPLY_REJ)],
                 reply=REPLY_REJ, salt_last=True),
        # Accepted, three recipients; a HELO that contains the text of a
        # sender member, a client name with U+2028 and \udcff.
        decision("message", 4,
                 (R("198.51.100.23"), b"host\xe2\x80\xa8.bad\xff.example"),
                 'x","sender":"forged@bank.example',
                 "",
                 tls(), "accept", "accept",
                 rcpts=[(R("alice@bank.example"),
                         verdict("accept", "accept", "partner-bank",
                                 [PASS_BANK]), None),
                        ("b\u00f6b@b\u00e4nk.example",
                         verdict("accept", "accept", "partner-bank",
                                 [PASS_BANK]), None),
                        ('"\\\\"@bank.example', None, None)]),
        lifecycle("checkpoint", policy=False),
        # Aborted (no sender yet known).
        decision("abort", 6, ("203.0.113.9", "unknown"), "a\\", None,
                 no_tls, "accept", "accept"),
        lifecycle("reload", "policy reloaded: 4 rules, 2 profiles"),
        lifecycle("reload_failed",
                  'line 7: unknown key "helo":"x"\n'
                  'line 9: bad "sender" \\ value'),
        # Monitor mode: would have rejected, accepted.
        decision("message", 9, ("192.0.2.7", "mail.example.org"),
                 "mail.example.org", "payments@bank.example",
                 tls(version="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256",
                     bits=128, cert="not verified", verify="FAIL"),
                 "accept", "reject", mode="monitor",
                 rcpts=[("ar@partner.example",
                         verdict("accept", "reject", "partner-bank", [
                             rule("partner-bank", "fail", "reject",
                                  "monitor", [failure(
                                      "client_cert", "fail", "verified",
                                      "not verified")])]), None)]),
        lifecycle("checkpoint", policy=False),
        lifecycle("stop", "signal 15"),
    ]


def rotate_bodies():
    """One chain over two files: the first record of the second file is a
    rotate record."""
    first = good_bodies()[:5] + [lifecycle("checkpoint", policy=False)]
    second = [lifecycle("rotate", "reopened on request (log rotation)",
                        policy=False)] + good_bodies()[8:9] + [
        decision("abort", 12, ("192.0.2.99", None), None, None,
                 tls(version=None, cipher=None, bits=None, cert="none",
                     subject=None, issuer=None, verify=None),
                 "accept", "accept"),
        lifecycle("stop", "signal 15")]
    return first, second


# ------------------------------------------------- escaping (format 2)

# A HELO with one character of each class FORMAT.md section 1 names: a
# quote, a backslash, C0, DEL, C1, invalid UTF-8, U+2028, U+202E, U+2066,
# U+200B, U+FEFF, U+E0041 (a tag character), and UTF-8 that stays.
HOSTILE_HELO = (b'q"b\\s\x01\x7f\xc2\x85\xff\xe2\x80\xa8\xe2\x80\xae'
                b'\xe2\x81\xa6\xe2\x80\x8b\xef\xbb\xbf\xf3\xa0\x81\x81ok'
                b'\xc3\xa9')
BIDI_NAME = b"evil\xe2\x80\xaegro.example"


def escaping_bodies(v1=False):
    """A format 2 log (format members on start and reload) whose strings
    hold every class of character; with v1, the same as format 1 wrote
    it: no format member, and format characters other than U+2028 and
    U+2029 raw."""
    S = V1 if v1 else (lambda v: v)
    start = lifecycle("start", "tlspolicy-milter 0.2.0")
    reload_ = lifecycle("reload", "policy reloaded: 4 rules, 2 profiles")
    if not v1:
        start = {"host": HOST, "type": "start", "format": 2,
                 "policy": POLICY, "detail": "tlspolicy-milter 0.2.0"}
        reload_ = {"host": HOST, "type": "reload", "format": 2,
                   "policy": POLICY,
                   "detail": "policy reloaded: 4 rules, 2 profiles"}
    return [
        start,
        decision("message", 2, ("192.0.2.66", S(BIDI_NAME)),
                 S(HOSTILE_HELO), S("pay\u200bments@bank.example"),
                 tls(subject=S("CN=mx.\u202eelpmaxe")), "accept",
                 "accept",
                 rcpts=[(S("ops\u2066@partner.example"),
                         verdict("accept", "accept", "partner-bank",
                                 [PASS_BANK]), None)]),
        reload_,
        lifecycle("stop", "signal 15"),
    ]


def escaping_files():
    """The escaping vectors: name -> lines."""
    v2 = lines(chain(escaping_bodies()))
    v1 = lines(chain(escaping_bodies(v1=True)))
    # Format 1's record 2 "upgraded" in place to format 2's escaping: the
    # same strings once decoded, other bytes, so a break.
    up = v1[1].replace("\u202e".encode(), b"\\u202e", 1)
    assert up != v1[1]
    return {"escaping-v2.jsonl": v2, "escaping-v1.jsonl": v1,
            "escaping-reescaped.jsonl": v1[:1] + [up] + v1[2:]}


ESCAPING_ROWS = [
    ("escaping-v2.jsonl", "", 0, "ok"),
    ("escaping-v1.jsonl", "", 0, "ok"),
    ("escaping-v1.jsonl escaping-v2.jsonl", "", 1, "escaping-v2.jsonl:1"),
    ("escaping-reescaped.jsonl", "", 1, "escaping-reescaped.jsonl:2"),
]

ESCAPING_TAIL = """\
- escaping-v2.jsonl: 4 records of format 2: start and reload carry
  "format":2; a message record whose HELO holds one character of each
  class of FORMAT.md section 1 (a quote, a backslash, U+0001, DEL, NEL,
  the byte 0xff, U+2028, U+202E, U+2066, U+200B, U+FEFF, U+E0041 as a
  surrogate pair, and e-acute kept), a client name with U+202E, a sender
  with U+200B, a recipient with U+2066 and a certificate subject with
  U+202E, each escaped once.
- escaping-v1.jsonl: the same records as format 1 wrote them: no format
  member, and the format characters other than U+2028 and U+2029 raw.
  It verifies: the hash covers the bytes as written. Followed by
  escaping-v2.jsonl it breaks at that file's first record (a new chain).
- escaping-reescaped.jsonl: escaping-v1.jsonl with the raw U+202E of
  record 2's client name rewritten as \\u202e (the same string once
  decoded): a break, since old records must stay as they were written.
"""


# -------------------------------------------------------------- vectors

def lines(recs):
    return [r[0] for r in recs]


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    files = {}
    good = chain(good_bodies())
    G = lines(good)
    H = {seq: h for _, seq, h in good}
    files["good-unkeyed.jsonl"] = G
    files["good-keyed.jsonl"] = lines(chain(good_bodies(), key=KEY))
    red = lines(chain(good_bodies(redact=True)))
    assert [l[-67:] for l in red] == [l[-67:] for l in G], "redaction moved"
    files["redacted.jsonl"] = red

    # Hiding a rejection: the action of the RCPT record says accept.
    line = G[2].replace(b'"action":"reject","mode"',
                        b'"action":"accept","mode"')
    assert line != G[2]
    files["changed-action.jsonl"] = G[:2] + [line] + G[3:]
    # One byte of a recipient address (a redactable value) changed.
    line = G[3].replace(b"b\xc3\xb6b@", b"b\xc3\xb6c@")
    assert line != G[3]
    files["changed-byte.jsonl"] = G[:3] + [line] + G[4:]
    # One hex digit of a redacted value's digest changed.
    i = red[3].index(b'{"sha256":"') + 11
    line = red[3][:i] + (b"0" if red[3][i:i + 1] != b"0" else b"1") + \
        red[3][i + 1:]
    files["changed-digest.jsonl"] = red[:3] + [line] + red[4:]
    files["deleted-line.jsonl"] = G[:4] + G[5:]
    files["swapped-lines.jsonl"] = G[:5] + [G[6], G[5]] + G[7:]
    files["duplicate-line.jsonl"] = G[:4] + [G[3]] + G[4:]
    # The log replaced from record 7 on by a new chain.
    files["genesis-restart.jsonl"] = G[:6] + lines(
        chain(good_bodies()[:1] + good_bodies()[3:5], t0=6))
    # seq 6 skipped; the link and the hash are right (forged, no key).
    files["seq-gap.jsonl"] = G[:5] + lines(chain(
        good_bodies()[5:8], prev=H[5], seq=7, t0=5))
    # Killed in the middle of the last write.
    files["torn-last.jsonl"] = G[:-1] + [G[-1][:57]]
    # A write cut short in the middle, then the next write starts with a
    # newline of its own; the record after it links to the one before.
    torn = lines(chain(good_bodies()[8:9], prev=H[5], seq=6, t0=5))[0]
    files["torn-middle.jsonl"] = G[:5] + [torn[:300] + b"\n"] + G[5:]
    # The clock stepped back by 2 s between records 3 and 4 (a warning).
    files["clock-back.jsonl"] = lines(chain(
        good_bodies()[:6], times=[0, 1, 2, 0.5, 1, 2]))
    # A record that is not JSON (a raw TAB) whose hash is right (forged).
    bad = lifecycle("reload_failed")
    bad["detail"] = Raw(b'"line 7:\tunknown key"')
    files["not-json.jsonl"] = lines(chain(good_bodies()[:7] + [bad] +
                                          good_bodies()[8:]))
    # A record that names a member twice (right hash, forged): readers
    # would disagree on its detail.
    dup = lifecycle("reload_failed")
    dup["detail"] = Raw(b'"line 7: unknown key","detail":"nothing wrong"')
    files["duplicate-member.jsonl"] = lines(chain(good_bodies()[:7] + [dup] +
                                                  good_bodies()[8:]))
    # Killed after the last record but before its LF: the record counts.
    files["no-final-lf.jsonl"] = G[:-1] + [G[-1][:-1]]
    # A chain whose first record has the genesis prev but seq 3.
    files["genesis-seq.jsonl"] = lines(chain(good_bodies()[:4], seq=3))
    # The last three records cut off (caught only with an anchor).
    files["tail-cut.jsonl"] = G[:8]

    files.update(escaping_files())

    first, second = rotate_bodies()
    r1 = chain(first)
    r2 = chain(second, prev=r1[-1][2], seq=len(first) + 1, t0=len(first))
    files["rotate-1.jsonl"] = lines(r1)
    files["rotate-2.jsonl"] = lines(r2)

    files.update(torn_files(G, H, lines(r1), r1[-1][2]))

    for name, content in files.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(b"".join(content))
    with open(os.path.join(outdir, "rotate-1.jsonl.gz"), "wb") as f:
        f.write(gzip.compress(b"".join(files["rotate-1.jsonl"]), 9, mtime=0))
    for name, key in (("key", KEY), ("wrong.key", WRONG_KEY),
                      ("short.key", KEY[:15])):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(key)
    with open(os.path.join(outdir, "README"), "w") as f:
        f.write(readme(H, {s: h for _, s, h in r1 + r2}))


def readme(H, R):
    """The table of expected outcomes."""
    bad = H[5][:-1] + ("0" if H[5][-1] != "0" else "1")
    rows = [
        ("good-unkeyed.jsonl", "", 0, "ok"),
        ("good-keyed.jsonl", "--key key", 0, "ok"),
        ("redacted.jsonl", "", 0, "ok"),
        ("good-unkeyed.jsonl", "--anchor 5:" + H[5], 0, "ok"),
        ("good-unkeyed.jsonl", "--anchor 0:" + GENESIS + " --anchor 11:"
         + H[11], 0, "ok"),
        ("torn-last.jsonl", "", 0, "ok"),
        ("clock-back.jsonl", "", 0, "ok"),
        ("rotate-1.jsonl rotate-2.jsonl", "", 0, "ok"),
        ("rotate-1.jsonl.gz rotate-2.jsonl", "--anchor 10:" + R[10], 0,
         "ok"),
        ("rotate-2.jsonl", "", 0, "ok"),
        ("rotate-2.jsonl", "--anchor 6:" + R[6], 0, "ok"),
        ("good-keyed.jsonl", "--key wrong.key", 1, "good-keyed.jsonl:1"),
        ("good-keyed.jsonl", "", 1, "good-keyed.jsonl:1"),
        ("good-unkeyed.jsonl", "--key key", 1, "good-unkeyed.jsonl:1"),
        ("changed-action.jsonl", "", 1, "changed-action.jsonl:3"),
        ("changed-byte.jsonl", "", 1, "changed-byte.jsonl:4"),
        ("changed-digest.jsonl", "", 1, "changed-digest.jsonl:4"),
        ("deleted-line.jsonl", "", 1, "deleted-line.jsonl:5"),
        ("swapped-lines.jsonl", "", 1, "swapped-lines.jsonl:6"),
        ("duplicate-line.jsonl", "", 1, "duplicate-line.jsonl:5"),
        ("genesis-restart.jsonl", "", 1, "genesis-restart.jsonl:7"),
        ("seq-gap.jsonl", "", 1, "seq-gap.jsonl:6"),
        ("not-json.jsonl", "", 1, "not-json.jsonl:8"),
        ("duplicate-member.jsonl", "", 1, "duplicate-member.jsonl:8"),
        ("no-final-lf.jsonl", "--anchor 11:" + H[11], 0, "ok"),
        ("genesis-seq.jsonl", "", 1, "genesis-seq.jsonl:1"),
        ("good-unkeyed.jsonl", "--anchor 5:" + bad, 1,
         "good-unkeyed.jsonl:5"),
        ("tail-cut.jsonl", "--anchor 10:" + H[10], 1, "tail-cut.jsonl:8"),
        ("rotate-1.jsonl", "--anchor 10:" + R[10], 1, "rotate-1.jsonl:6"),
        ("rotate-2.jsonl rotate-1.jsonl", "", 1, "rotate-1.jsonl:1"),
        ("rotate-2.jsonl", "--anchor 5:" + R[5], 1, "rotate-2.jsonl:1"),
        ("rotate-2.jsonl", "--anchor 6:" + H[6], 1, "rotate-2.jsonl:1"),
        ("good-keyed.jsonl", "--key short.key", 2, "-"),
        ("missing.jsonl", "", 2, "-"),
    ] + torn_rows(H)
    rows += ESCAPING_ROWS
    head = README_HEAD
    out = [head, "| files | arguments | exit | first break |",
           "|---|---|---|---|"]
    for files, args, code, where in rows:
        out.append("| %s | %s | %d | %s |" % (files, args or "-", code, where))
    return "\n".join(out) + "\n" + README_TAIL + TORN_TAIL + ESCAPING_TAIL


README_HEAD = """\
Test vectors of the audit log hash chain (audit/FORMAT.md)
===========================================================

Written by tests/audit/make-vectors.py (deterministic: run it again to
get the same bytes); checked by tests/check-audit-python.sh (the Python
verifier, contrib/audit/tlspolicy-verify.py) and tests/unit/test_chain.c
(audit/chain.c, line by line). Run each row from this directory:

    tlspolicy-verify.py ARGUMENTS FILES      (or tlspolicy-audit verify)

"exit" is the exit status: 0 the chain holds, 1 a break, 2 a usage or
I/O error. "first break" is the FILE:LINE the verifier reports, "ok" when
it holds, "-" when it does not get that far. Key files: `key` holds the
32 bytes 00 01 02 ... 1f (the key of good-keyed.jsonl), `wrong.key` the
32 bytes 20 21 ... 3f, `short.key` 15 bytes (refused: at least 16).
"""

README_TAIL = """
What the files are:

- good-unkeyed.jsonl: 11 records of one chain: start, mail, rcpt,
  message, checkpoint, abort, reload, reload_failed, message (monitor
  mode), checkpoint, stop. Decision records carry a salt (right after
  type as the daemon writes it; last, after the values it salts, in the
  rcpt record) and hostile strings: quotes and backslashes in
  addresses, an address ending in a backslash, a HELO with
  \\u0000, \\udcff and \\u2028, a client name with U+2028 and \\udcff, a
  HELO and a reload_failed detail that contain the text "sender":" and
  "helo":" inside the string, raw UTF-8 (b\u00f6b@b\u00e4nk.example), a null
  client name.
- good-keyed.jsonl: the same records, hashed with HMAC under `key`.
- redacted.jsonl: good-unkeyed.jsonl with the sender of record 2, and the
  client address and first recipient of record 4, redacted to
  {"sha256":"D"}: every hash is unchanged.
- changed-action.jsonl: record 3 says "action":"accept" instead of reject.
- changed-byte.jsonl: one byte of a recipient address in record 4.
- changed-digest.jsonl: redacted.jsonl with one hex digit of a digest in
  record 4 changed.
- deleted-line.jsonl: record 5 deleted.
- swapped-lines.jsonl: records 6 and 7 swapped.
- duplicate-line.jsonl: record 4 twice.
- genesis-restart.jsonl: after record 6, a new chain from the genesis.
- seq-gap.jsonl: record 6 missing, record 7 forged to link to record 5
  (right prev, right hash; unkeyed).
- torn-last.jsonl: the last line is cut (no LF): a warning, exit 0.
- clock-back.jsonl: record 4's time is before record 3's: a warning.
- not-json.jsonl: record 8 holds a raw TAB in a string (not JSON), with a
  right hash (forged): a line shaped like a record is checked as one, so
  this is a break (not JSON), not a torn line. audit/chain.c alone, which
  checks only the bytes of the hash, finds its hash right.
- duplicate-member.jsonl: record 8 names "detail" twice, with a right
  hash (forged): JSON readers would disagree on its value, so a break.
- no-final-lf.jsonl: good-unkeyed.jsonl whose last record lacks only its
  LF (killed between the record and its newline): still a record, so the
  anchor on it holds.
- genesis-seq.jsonl: a chain whose first record has the genesis prev
  but seq 3 (FORMAT.md section 1: a new chain starts at 1).
- tail-cut.jsonl: good-unkeyed.jsonl without its last 3 records;
  detected only with an anchor (the checkpoint, seq 10).
- rotate-1.jsonl, rotate-2.jsonl: one chain over two files (records
  1-6, then 7-10, beginning with a rotate record); rotate-1.jsonl.gz is
  rotate-1.jsonl compressed. rotate-2.jsonl alone holds, with a note that
  its start is unchecked, or checked with the anchor of record 6.
"""


# ------------------------------------------ torn lines, empty, garbage

def torn_files(G, H, r1, h6):
    """Where a line that is not a record may stand (FORMAT.md sections 1
    and 4): only where a crash leaves one."""
    files = {}
    # A write cut short, then the next write's own LF, and the chain goes
    # on with an ordinary record: no crash leaves that, so a break.
    torn = lines(chain(good_bodies()[8:9], prev=H[5], seq=6, t0=5))[0]
    files["torn-middle.jsonl"] = G[:5] + [torn[:300] + b"\n"] + G[5:]
    # Killed in the middle of a write, restarted: the start record begins
    # with the LF that ends the torn line and links to the last record.
    restart = lines(chain([lifecycle("start", "tlspolicy 0.1")] +
                          good_bodies()[5:7], prev=H[5], seq=6, t0=5))
    files["torn-before-start.jsonl"] = G[:5] + [torn[:300] + b"\n"] + \
        restart
    # Two torn lines in a row before the start record: the first is
    # followed by a line that is not a start record.
    files["torn-twice.jsonl"] = G[:5] + [torn[:300] + b"\n",
                                         torn[:100] + b"\n"] + restart
    # Killed, the file rotated while the daemon was down, restarted: the
    # old file ends in a torn line without LF, the new one begins with
    # the start record, which links to the old file's last record.
    files["torn-eof-1.jsonl"] = r1 + [torn[:200]]
    files["torn-eof-2.jsonl"] = lines(chain(
        [lifecycle("start", "tlspolicy 0.1")] + good_bodies()[8:9] +
        [lifecycle("stop", "signal 15")], prev=h6, seq=7, t0=6))
    # A decision line inserted by hand, without prev and hash.
    files["inserted-unchained.jsonl"] = G[:4] + [
        G[3][:G[3].index(b',"prev":"')] + b"}\n"] + G[4:]
    # Not an audit log at all; an empty file; a log whose first line is
    # not a record.
    files["garbage.jsonl"] = [b"hello\n", b"world\n"]
    files["empty.jsonl"] = []
    files["first-not-record.jsonl"] = [b"# audit log\n"] + G
    return files


def torn_rows(H):
    return [
        ("torn-middle.jsonl", "", 1, "torn-middle.jsonl:6"),
        ("torn-middle.jsonl", "--ignore-breaks", 1, "torn-middle.jsonl:6"),
        ("torn-before-start.jsonl", "", 0, "ok"),
        ("torn-twice.jsonl", "", 1, "torn-twice.jsonl:6"),
        ("torn-eof-1.jsonl torn-eof-2.jsonl", "", 0, "ok"),
        ("torn-eof-1.jsonl rotate-2.jsonl", "", 1, "torn-eof-1.jsonl:7"),
        ("torn-eof-1.jsonl", "", 0, "ok"),
        ("torn-last.jsonl", "--anchor 11:" + H[11], 1, "torn-last.jsonl:10"),
        ("inserted-unchained.jsonl", "", 1, "inserted-unchained.jsonl:5"),
        ("garbage.jsonl", "", 1, "garbage.jsonl:1"),
        ("empty.jsonl", "", 1, "empty.jsonl:0"),
        ("empty.jsonl", "--allow-empty", 0, "ok"),
        ("good-unkeyed.jsonl empty.jsonl", "", 1, "empty.jsonl:0"),
        ("good-unkeyed.jsonl empty.jsonl", "--allow-empty", 0, "ok"),
        ("first-not-record.jsonl", "", 1, "first-not-record.jsonl:1"),
    ]


TORN_TAIL = """
Torn lines, empty files, garbage (FORMAT.md sections 1 and 4: a line
that is not a record is tolerated only as the last line of the log, as
the last line of a file when the next record read is a start record, or
right before a start record; anywhere else it is a break at its line):

- torn-middle.jsonl: a cut line (ended by the LF the next write begins
  with) after record 5, and the chain goes on with an ordinary record
  linking to record 5: no crash leaves that, so a break at line 6 (with
  --ignore-breaks too: it reports every break, and still exits 1).
- torn-before-start.jsonl: the same cut line, then a restart: a start
  record (seq 6) linking to record 5: a warning, exit 0.
- torn-twice.jsonl: two cut lines, then the start record: the first is
  followed by a line that is not a start record.
- torn-eof-1.jsonl, torn-eof-2.jsonl: records 1-6 of rotate-1.jsonl and
  a cut line without LF; rotated while the daemon was down, then the
  restart's start record (seq 7) begins the new file: exit 0. Followed
  by rotate-2.jsonl (which begins with a rotate record) instead: a break
  at the torn line. torn-eof-1.jsonl alone: the torn line is the last
  line of the log.
- torn-last.jsonl with the anchor of record 11: the tail is cut; the
  finding names the last record (line 10), not the torn line.
- inserted-unchained.jsonl: a copy of record 4 without prev and hash
  inserted after it (a decision added by hand): not a record, so a break.
- garbage.jsonl: two lines of text: not an audit log, a break at line 1.
- empty.jsonl: no bytes: "no records" (FILE:0) unless --allow-empty;
  with good-unkeyed.jsonl before it, the same.
- first-not-record.jsonl: a comment line before a good chain: a log
  begins with a record.
"""


def examples():
    """The worked examples of FORMAT.md section 7."""
    e1 = lifecycle("start", "tlspolicy 0.1", policy=False)
    e1["host"] = "mx"
    e2 = {"host": "mx", "type": "mail", "sender": 'a"b@example.org',
          "action": "reject", "mode": "enforce", "would_action": "reject",
          "salt": "00112233445566778899aabbccddeeff"}
    (l1, s1, h1), (l2, s2, h2) = chain([e1, e2], t0=0)
    salt_ = e2["salt"].encode()
    tok = escape(e2["sender"])
    print(l1.decode(), end="")
    print("hash", h1)
    print("keyed", chain([e1], key=KEY)[0][2])
    print(l2.decode(), end="")
    print("token", tok.decode(), "digest", digest(salt_, "sender", tok))
    print("canon", dumps(dict(seq=2, time=stamp(1), **e2, prev=h1),
                         salt_, True).decode())
    print("hash", h2)


if __name__ == "__main__":
    if sys.argv[1:] == ["--examples"]:
        examples()
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else
             os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "vectors"))

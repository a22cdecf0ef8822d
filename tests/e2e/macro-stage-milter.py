#!/usr/bin/env python3
"""macro-stage-milter: records which macros an MTA sends with which command.

A test tool, not part of tlspolicy. macro-dump-milter.c reads macros
through libmilter, whose smfi_getsymval also returns what earlier stages
sent (a HELO macro is still there at MAIL), so it cannot tell at which
stage a macro came. This speaks the milter protocol (version 6) itself and
writes one JSON line per macro packet (SMFIC_MACRO) as it arrives:

    {"conn": N, "stage": "helo", "macros": {"{verify}": "OK", ...}}

"stage" is the command the packet precedes (connect, helo, mail, rcpt,
data, header, eoh, body, eom, unknown). It asks for every event, replies
"continue" to each and "accept" at end of message: mail goes through.

With -s it also asks the MTA, in its option negotiation, for the macro
lists tlspolicy-milter asks for (milter/callbacks.c, smfi_setsymlist), so
that what the MTA does with such a request is seen.

Run: macro-stage-milter.py -p /path/to.sock -o /path/to/dump.jsonl [-s]
"""
import argparse
import json
import os
import socket
import socketserver
import struct
import threading

STAGES = {b"C": "connect", b"H": "helo", b"M": "mail", b"R": "rcpt",
          b"T": "data", b"L": "header", b"N": "eoh", b"B": "body",
          b"E": "eom", b"U": "unknown"}
SMFIF_SETSYMLIST = 0x100
TLS = ("{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer} "
       "{verify} {cert_fp} {cert_md5}")
# The client's names: {client_name} (Postfix: verified, else "unknown"),
# {client_ptr} (Postfix: the unverified PTR name), {client_resolve}
# (Sendmail: OK, FAIL, FORGED, TEMP).
CLIENT = "{client_addr} {client_name} {client_ptr} {client_resolve}"
# SMFIM_ENVFROM 2, SMFIM_ENVRCPT 3, SMFIM_DATA 4, SMFIM_EOM 5: as
# tlspolicy-milter's request_macros().
SYMLISTS = [(2, "i v {mail_addr} {auth_authen} " + TLS + " " + CLIENT),
            (3, "i v {rcpt_addr} " + TLS + " " + CLIENT), (4, "i"), (5, "i")]

lock = threading.Lock()
conns = [0]


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        got = sock.recv(n - len(buf))
        if not got:
            raise EOFError
        buf += got
    return buf


def send(sock, cmd, data=b""):
    sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)


def text(b):
    return b.decode("utf-8", "backslashreplace")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        with lock:
            conns[0] += 1
            n = conns[0]
        try:
            while True:
                (size,) = struct.unpack(">I", read_exact(s, 4))
                if size < 1 or size > 1 << 20:
                    return
                pkt = read_exact(s, size)
                cmd, data = pkt[:1], pkt[1:]
                if cmd == b"O":
                    self.negotiate(s, data)
                elif cmd == b"D":
                    self.record(n, data)
                elif cmd == b"E":
                    send(s, b"a")
                elif cmd == b"C":
                    self.connect(n, data)
                    send(s, b"c")
                elif cmd in STAGES:
                    send(s, b"c")
                elif cmd == b"Q":
                    return
                # A (abort) and K (quit, new connection): no reply
        except (EOFError, ConnectionError):
            return

    def negotiate(self, s, data):
        version, actions, _ = struct.unpack(">III", data[:12])
        want = SMFIF_SETSYMLIST if self.server.symlist else 0
        reply = struct.pack(">III", min(version, 6), actions & want, 0)
        if want and actions & want:
            for stage, names in SYMLISTS:
                reply += struct.pack(">I", stage) + names.encode() + b"\0"
        send(s, b"O", reply)

    def connect(self, n, data):
        """The connect command's host name, as libmilter passes it to
        xxfi_connect (Postfix: "[addr]" when the name is not verified)."""
        host = data.split(b"\0", 1)[0]
        line = json.dumps({"conn": n, "stage": "connect_host",
                           "macros": {"hostname": text(host)}})
        with lock:
            with open(self.server.out, "a") as f:
                f.write(line + "\n")

    def record(self, n, data):
        stage = STAGES.get(data[:1], text(data[:1]))
        parts = data[1:].split(b"\0")
        macros = {}
        for i in range(0, len(parts) - 1, 2):
            macros[text(parts[i])] = text(parts[i + 1])
        line = json.dumps({"conn": n, "stage": stage, "macros": macros})
        with lock:
            with open(self.server.out, "a") as f:
                f.write(line + "\n")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", required=True, help="unix:/path or /path")
    ap.add_argument("-o", required=True, help="JSON lines output")
    ap.add_argument("-s", action="store_true",
                    help="ask for tlspolicy-milter's macro lists")
    a = ap.parse_args()
    path = a.p[5:] if a.p.startswith("unix:") else a.p
    if os.path.exists(path):
        os.unlink(path)
    srv = Server(path, Handler)
    srv.out, srv.symlist = a.o, a.s
    os.chmod(path, 0o666)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()

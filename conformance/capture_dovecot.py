#!/usr/bin/env python3
"""Capture Dovecot's exact FETCH answers for the edge corpus as a JSON fixture.

    capture_dovecot.py HOST PORT USER PASS --mailbox Edge --labels LABELS.tsv
                       --corpus DIR [--out tests/fixtures/dovecot-edge.json]
                       [--inline-max 4096]

Prerequisite: a Dovecot (shared/harness/oracle/dovecot/setup_dovecot.sh) with
the corpus loaded by shared/harness/oracle/load_imap.py --labels LABELS.tsv.
Without --labels, messages are paired with the corpus files in load_imap.py's
order (sorted paths, the zero-byte message skipped because Dovecot refuses it).

For every message this fetches, one item per FETCH command, over implicit TLS
(EXAMINE, so nothing changes): RFC822.SIZE, ENVELOPE, BODYSTRUCTURE, BODY,
BODY[HEADER], BODY[TEXT], BODY[1], BODY[1.MIME],
BODY[HEADER.FIELDS (From Subject Date)], BODY[]<0.100> (the items
shared/harness/oracle/diff_imap.py compares), and more section shapes:
BODY[2], BODY[2.MIME], BODY[1.1], BODY[1.2.MIME], BODY[2.1], BODY[1.HEADER],
BODY[1.TEXT], BODY[2.HEADER], BODY[2.TEXT],
BODY[HEADER.FIELDS.NOT (From Subject Date)], BODY[1.HEADER.FIELDS (Subject)],
BINARY[1] and BINARY.SIZE[1].

Fixture format (Python 3 stdlib only, deterministic output):
  {"_meta": {...}, "messages": {"crafted/date-invalid.eml": {ITEM: VALUE, ...}, ...}}
ITEM is the name used in the request without .PEEK ("BODY[1.MIME]", ...).
VALUE is one of
  null                          Dovecot answered NIL
  {"s": "..."}                  the bytes, valid UTF-8
  {"b64": "..."}                the bytes, base64 (not valid UTF-8)
  {"sha256": "hex", "len": N}   the bytes are larger than --inline-max
  {"err": "NO [CODE]" | "BAD" | "BYE"}  the command failed (text after the code dropped)
For ENVELOPE, BODYSTRUCTURE and BODY the bytes are the exact wire form of the
value (literals kept as {n}CRLF<bytes>); RFC822.SIZE and BINARY.SIZE[1] are the
number as text; for the section items (BODY[...], BINARY[...]) the bytes are
the string's content (literal or quoted string resolved).

--parts FILE also writes, for every message, every part's BODY[n] and
BODY[n.MIME] (plus n.HEADER and n.TEXT of message/rfc822 parts), the part
numbers taken from Dovecot's BODYSTRUCTURE, each as "<first 16 hex digits of
the SHA-256>:<length>" ({"crafted/x.eml": {"1.2": "0123abcd...:42", ...}}).
"""
import argparse
import base64
import hashlib
import json
import os
import re
import socket
import ssl
import sys

ITEMS = [  # (fixture key, request item, response key prefix)
    ("RFC822.SIZE", "RFC822.SIZE", b"RFC822.SIZE"),
    ("ENVELOPE", "ENVELOPE", b"ENVELOPE"),
    ("BODYSTRUCTURE", "BODYSTRUCTURE", b"BODYSTRUCTURE"),
    ("BODY", "BODY", b"BODY"),
    ("BODY[HEADER]", "BODY.PEEK[HEADER]", b"BODY[HEADER]"),
    ("BODY[TEXT]", "BODY.PEEK[TEXT]", b"BODY[TEXT]"),
    ("BODY[1]", "BODY.PEEK[1]", b"BODY[1]"),
    ("BODY[1.MIME]", "BODY.PEEK[1.MIME]", b"BODY[1.MIME]"),
    ("BODY[HEADER.FIELDS (From Subject Date)]", "BODY.PEEK[HEADER.FIELDS (From Subject Date)]",
     b"BODY[HEADER.FIELDS (FROM SUBJECT DATE)]"),
    ("BODY[]<0.100>", "BODY.PEEK[]<0.100>", b"BODY[]<0>"),
    # beyond diff_imap.py: more section shapes
    ("BODY[2]", "BODY.PEEK[2]", b"BODY[2]"),
    ("BODY[2.MIME]", "BODY.PEEK[2.MIME]", b"BODY[2.MIME]"),
    ("BODY[1.1]", "BODY.PEEK[1.1]", b"BODY[1.1]"),
    ("BODY[1.2.MIME]", "BODY.PEEK[1.2.MIME]", b"BODY[1.2.MIME]"),
    ("BODY[2.1]", "BODY.PEEK[2.1]", b"BODY[2.1]"),
    ("BODY[1.HEADER]", "BODY.PEEK[1.HEADER]", b"BODY[1.HEADER]"),
    ("BODY[1.TEXT]", "BODY.PEEK[1.TEXT]", b"BODY[1.TEXT]"),
    ("BODY[2.HEADER]", "BODY.PEEK[2.HEADER]", b"BODY[2.HEADER]"),
    ("BODY[2.TEXT]", "BODY.PEEK[2.TEXT]", b"BODY[2.TEXT]"),
    ("BODY[HEADER.FIELDS.NOT (From Subject Date)]",
     "BODY.PEEK[HEADER.FIELDS.NOT (From Subject Date)]",
     b"BODY[HEADER.FIELDS.NOT (FROM SUBJECT DATE)]"),
    ("BODY[1.HEADER.FIELDS (Subject)]", "BODY.PEEK[1.HEADER.FIELDS (Subject)]",
     b"BODY[1.HEADER.FIELDS (SUBJECT)]"),
    ("BINARY[1]", "BINARY.PEEK[1]", b"BINARY[1]"),
    ("BINARY.SIZE[1]", "BINARY.SIZE[1]", b"BINARY.SIZE[1]"),
]
RAW_ITEMS = {"ENVELOPE", "BODYSTRUCTURE", "BODY"}


class Conn:
    """A minimal raw IMAP client that keeps every byte of the answers."""

    def __init__(self, host, port, user, password, mailbox):
        self.args = (host, port, user, password, mailbox)
        self.n = 0
        self.connect()

    def connect(self):
        host, port, user, password, mailbox = self.args
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(socket.create_connection((host, port)), server_hostname=host)
        self.f = self.sock.makefile("rb")
        self.f.readline()  # greeting
        st, _ = self.cmd("LOGIN %s %s" % (quote(user), quote(password)))
        if st != b"OK":
            sys.exit("login failed")
        st, _ = self.cmd("EXAMINE %s" % quote(mailbox))
        if st != b"OK":
            sys.exit("cannot examine %s" % mailbox)

    def read_response(self):
        """One response line with its literals: returns the bytes, CRLFs included."""
        out = bytearray()
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("connection closed")
            out += line
            m = re.search(rb"~?\{(\d+)\}\r\n$", line)
            if not m:
                return bytes(out)
            out += self.f.read(int(m.group(1)))

    def cmd(self, text):
        """Send a command; returns (status, [untagged responses]); status b'BYE' on disconnect."""
        self.n += 1
        tag = b"c%d" % self.n
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        bye = False
        while True:
            try:
                r = self.read_response()
            except (EOFError, ConnectionError, ssl.SSLError):
                self.connect()
                return b"BYE", untagged
            if r.startswith(tag + b" "):
                rest = r[len(tag) + 1:]
                status = rest.split(b" ", 1)[0]
                if status != b"OK":
                    m = re.match(rb"(\w+) (\[[^\]]*\])?", rest)
                    code = m.group(2) if m and m.group(2) else b""
                    status = (status + b" " + code).strip()
                return status, untagged
            if r.startswith(b"* BYE"):
                bye = True
            untagged.append(r)
            if bye:
                try:
                    self.sock.close()
                except OSError:
                    pass
                self.connect()
                return b"BYE", untagged


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def skip_value(b, i):
    """Index just after the IMAP value starting at b[i] (NIL/atom/number/string/literal/list)."""
    c = b[i:i + 1]
    if c == b'"':
        j = i + 1
        while b[j:j + 1] != b'"':
            j += 2 if b[j:j + 1] == b"\\" else 1
        return j + 1
    if c in (b"{", b"~"):
        m = re.compile(rb"~?\{(\d+)\}\r\n").match(b, i)
        return m.end() + int(m.group(1))
    if c == b"(":
        j = i + 1
        while True:
            while b[j:j + 1] == b" ":
                j += 1
            if b[j:j + 1] == b")":
                return j + 1
            j = skip_value(b, j)
    j = i
    while j < len(b) and b[j:j + 1] not in b" ()\r":
        j += 1
    return j


def string_content(v):
    """Bytes of an IMAP nstring in wire form; None for NIL."""
    if v.upper() == b"NIL":
        return None
    if v.startswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", v[1:-1])
    m = re.match(rb"~?\{(\d+)\}\r\n", v)
    if m:
        return v[m.end():]
    return v


def fetch_item(conn, seq, req, key):
    st, untagged = conn.cmd("FETCH %d (%s)" % (seq, req))
    for r in untagged:
        m = re.match(rb"\* (\d+) FETCH \(", r)
        if not m or int(m.group(1)) != seq:
            continue
        i = m.end()
        while i < len(r) and r[i:i + 1] != b")":
            name_end = i
            depth = 0
            while depth or r[name_end:name_end + 1] != b" ":
                ch = r[name_end:name_end + 1]
                depth += (ch == b"[") - (ch == b"]")
                name_end += 1
            name = r[i:name_end]
            vstart = name_end + 1
            vend = skip_value(r, vstart)
            if name.upper() == key.upper():
                return "ok", r[vstart:vend]
            i = vend
            while r[i:i + 1] == b" ":
                i += 1
    return "err", st.decode("latin-1") if st != b"OK" else "OK without %s" % key.decode()


def encode(data, inline_max):
    if data is None:
        return None
    if len(data) > inline_max:
        return {"sha256": hashlib.sha256(data).hexdigest(), "len": len(data)}
    try:
        return {"s": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(data).decode()}


def parse_list(b, i=0):
    """Parses the IMAP value at b[i] into nested lists of bytes/None; returns (value, end)."""
    c = b[i:i + 1]
    if c == b"(":
        out, j = [], i + 1
        while True:
            while b[j:j + 1] == b" ":
                j += 1
            if b[j:j + 1] == b")":
                return out, j + 1
            v, j = parse_list(b, j)
            out.append(v)
    end = skip_value(b, i)
    v = b[i:end]
    return (None if v.upper() == b"NIL" else string_content(v)), end


def part_sections(bs, prefix=""):
    """Section names for every part of a BODYSTRUCTURE (parsed lists)."""
    out = []
    if isinstance(bs[0], list):  # multipart
        n = 0
        for child in bs:
            if not isinstance(child, list):
                break
            n += 1
            out += part_sections(child, prefix + str(n) + ".")
        return out
    path = prefix[:-1] if prefix else "1"
    out += [path, path + ".MIME"]
    if (bs[0] or b"").lower() == b"message" and (bs[1] or b"").lower() == b"rfc822" and len(bs) > 8:
        out += [path + ".HEADER", path + ".TEXT"]
        inner = bs[8]
        if isinstance(inner[0], list):
            out += part_sections(inner, path + ".")
        else:
            out += [path + ".1"]
    return out


def capture_parts(conn, srcs, out):
    """Every part's BODY[n], BODY[n.MIME] (and n.HEADER/n.TEXT of message/rfc822
    parts), as the first 16 hex digits of the SHA-256 and the length."""
    msgs = {}
    for seq, name in srcs:
        kind, bs = fetch_item(conn, seq, "BODYSTRUCTURE", b"BODYSTRUCTURE")
        rec = {}
        for sec in part_sections(parse_list(bs)[0]):
            kind, v = fetch_item(conn, seq, "BODY.PEEK[%s]" % sec, b"BODY[%s]" % sec.encode())
            data = string_content(v) if kind == "ok" else None
            rec[sec] = None if data is None else "%s:%d" % (hashlib.sha256(data).hexdigest()[:16], len(data))
        msgs[name.replace(os.sep, "/")] = rec
    with open(out, "w", encoding="utf-8") as f:
        json.dump(msgs, f, indent=0, sort_keys=True)
        f.write("\n")
    print("capture_dovecot: %d messages, %d sections -> %s" % (
        len(msgs), sum(len(v) for v in msgs.values()), out))


def sources(corpus, labels):
    corpus = os.path.abspath(corpus)
    if labels:
        out = []
        for line in open(labels, encoding="utf-8"):
            seq, src = line.rstrip("\n").split("\t", 1)
            out.append((int(seq), os.path.relpath(os.path.abspath(src), corpus)))
        return out
    files = []
    for d, _, fs in os.walk(corpus):
        files += [os.path.join(d, f) for f in fs if f.endswith(".eml")]
    files = [f for f in sorted(files) if os.path.getsize(f) > 0]
    return [(i + 1, os.path.relpath(f, corpus)) for i, f in enumerate(files)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--mailbox", default="Edge")
    ap.add_argument("--labels")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", default="tests/fixtures/dovecot-edge.json")
    ap.add_argument("--inline-max", type=int, default=4096,
                    help="store values larger than this many bytes as SHA-256 + length")
    ap.add_argument("--parts", help="also write every part's sections (hashed) to this file")
    a = ap.parse_args()
    conn = Conn(a.host, a.port, a.user, a.password, a.mailbox)
    if a.parts:
        capture_parts(conn, sources(a.corpus, a.labels), a.parts)
    msgs = {}
    for seq, name in sources(a.corpus, a.labels):
        rec = {}
        for label, req, key in ITEMS:
            kind, v = fetch_item(conn, seq, req, key)
            if kind == "err":
                rec[label] = {"err": v}
            elif label in RAW_ITEMS:
                rec[label] = encode(v, a.inline_max)
            elif label in ("RFC822.SIZE", "BINARY.SIZE[1]"):
                rec[label] = {"s": v.decode()}
            else:
                rec[label] = encode(string_content(v), a.inline_max)
        msgs[name.replace(os.sep, "/")] = rec
    meta = {
        "source": "Dovecot (" + a.host + ") via conformance/capture_dovecot.py",
        "inline_max": a.inline_max,
        "items": [i[0] for i in ITEMS],
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"_meta": meta, "messages": msgs}, f, indent=0, sort_keys=True, ensure_ascii=True)
        f.write("\n")
    print("capture_dovecot: %d messages -> %s" % (len(msgs), a.out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PREVIEW answers (RFC 8970) of two IMAP servers holding the same messages
in the same order, compared message by message (by sequence number).

usage: preview_oracle.py HOST_A PORT_A HOST_B PORT_B USER PASSWORD --mailbox M
                         [--user-b U] [--pass-b P] [--insecure] [--json FILE]

Prints `N same, M differ` and one line per differing message; the JSON
report lists every differing message with both previews. Exit status: 0
when all agree, 1 when some differ, 2 on errors.
"""
import argparse
import imaplib
import json
import re
import ssl
import sys

PREVIEW = re.compile(rb"PREVIEW (NIL|\"((?:[^\"\\]|\\.)*)\"|\{(\d+)\}\r\n)", re.S)


def previews(host, port, user, password, mailbox, insecure):
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    imap = imaplib.IMAP4_SSL(host, port, ssl_context=context)
    imap.login(user, password)
    typ, data = imap.select(mailbox, readonly=True)
    if typ != "OK":
        raise SystemExit(f"{host}:{port}: SELECT {mailbox}: {data}")
    typ, data = imap.fetch("1:*", "(PREVIEW)")
    if typ != "OK":
        raise SystemExit(f"{host}:{port}: FETCH PREVIEW: {data}")
    found = {}
    for item in data:
        # imaplib gives a literal as (line, data), a quoted string as a line.
        line, literal = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
        # imaplib leaves out `* ` and `FETCH`: `N (PREVIEW ...`.
        if not isinstance(line, bytes) or not re.match(rb"\d+ \(", line):
            continue
        number = int(line.split(b" ", 1)[0])
        match = PREVIEW.search(line + b"\r\n")
        if match is None:
            continue
        if match.group(3) is not None:
            text = literal or b""
        elif match.group(1) == b"NIL":
            text = None
        else:
            text = re.sub(rb"\\(.)", rb"\1", match.group(2))
        found[number] = None if text is None else text.decode("utf-8", "replace")
    imap.logout()
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("host_a", "port_a", "host_b", "port_b", "user", "password"):
        ap.add_argument(name)
    ap.add_argument("--mailbox", required=True)
    ap.add_argument("--user-b")
    ap.add_argument("--pass-b")
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    try:
        answers = [
            previews(a.host_a, int(a.port_a), a.user, a.password, a.mailbox, a.insecure),
            previews(a.host_b, int(a.port_b), a.user_b or a.user, a.pass_b or a.password, a.mailbox, a.insecure),
        ]
    except (OSError, imaplib.IMAP4.error) as error:
        print(f"connection: {error}")
        return 2
    numbers = sorted(set(answers[0]) | set(answers[1]))
    differing = [
        {"message": n, "A": answers[0].get(n), "B": answers[1].get(n)}
        for n in numbers
        if answers[0].get(n) != answers[1].get(n)
    ]
    print(f"{len(numbers) - len(differing)} same, {len(differing)} differ")
    for d in differing:
        print(f"DIFF {d['message']}: A {d['A']!r}\n{'':>{len(str(d['message'])) + 6}}B {d['B']!r}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(differing, f, indent=1, ensure_ascii=False)
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())

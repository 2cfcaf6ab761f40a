#!/usr/bin/env python3
"""PREVIEW answers (RFC 8970) of two IMAP servers holding the same messages
in the same order, compared message by message (by sequence number).

usage: preview_oracle.py HOST_A PORT_A HOST_B PORT_B USER PASSWORD --mailbox M
                         [--user-b U] [--pass-b P] [--insecure] [--json FILE]

Prints `N same, M differ` and one line per differing message; the JSON
report lists every differing message with both previews. Exit status: 0
when all agree, 1 when some differ, 2 on errors.
"""
import json
import re
import sys

import two_servers

PREVIEW = re.compile(rb"PREVIEW (NIL|\"((?:[^\"\\]|\\.)*)\"|\{(\d+)\}\r\n)", re.S)


def previews(imap):
    """Every message's PREVIEW, by sequence number (None for NIL)."""
    typ, data = imap.fetch("1:*", "(PREVIEW)")
    if typ != "OK":
        raise SystemExit(f"FETCH PREVIEW: {data}")
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
    a = two_servers.arguments(__doc__)
    answers = two_servers.both(a, previews)
    if answers is None:
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

#!/usr/bin/env python3
"""SORT and THREAD answers of two IMAP servers holding the same messages in
the same order (the same sequence numbers), compared over a battery of
commands: every sort key alone and REVERSE, combinations, with search
criteria, UID SORT (UIDs translated to sequence numbers, which both servers
share), and THREAD ORDEREDSUBJECT and REFERENCES likewise.

usage: sort_oracle.py HOST_A PORT_A HOST_B PORT_B USER PASSWORD --mailbox M
                      [--user-b U] [--pass-b P] [--insecure] [--json FILE]

Prints one line per command: `same` or `DIFF` with the first position
where the answers part; the JSON report lists every command with both
answers. Exit status: 0 when all agree, 1 when some differ, 2 on errors.
"""
import json
import re
import sys

import two_servers

KEYS = ["ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"]
COMBINATIONS = [
    "SUBJECT DATE",
    "REVERSE DATE SUBJECT",
    "FROM REVERSE SIZE",
    "TO CC ARRIVAL",
    "DISPLAYFROM REVERSE SUBJECT",
    "REVERSE SUBJECT REVERSE ARRIVAL",
]
CRITERIA = ["NOT DELETED", "SINCE 1-Jan-2016", "LARGER 4000", "1:60", "OR FROM a TO e"]


def battery():
    """(name, command, uid, argument, search) for every command: the
    argument is SORT's criteria or THREAD's algorithm."""
    for key in KEYS:
        yield f"{key}", "SORT", False, key, "ALL"
        yield f"REVERSE {key}", "SORT", False, f"REVERSE {key}", "ALL"
    for combination in COMBINATIONS:
        yield combination, "SORT", False, combination, "ALL"
    for criterion in CRITERIA:
        yield f"SUBJECT / {criterion}", "SORT", False, "SUBJECT", criterion
        yield f"REVERSE DATE / {criterion}", "SORT", False, "REVERSE DATE", criterion
    yield "UID SUBJECT", "SORT", True, "SUBJECT", "ALL"
    yield "UID REVERSE SIZE / 1:60", "SORT", True, "REVERSE SIZE", "1:60"
    for algorithm in ("ORDEREDSUBJECT", "REFERENCES"):
        yield f"THREAD {algorithm}", "THREAD", False, algorithm, "ALL"
        for criterion in CRITERIA:
            yield f"THREAD {algorithm} / {criterion}", "THREAD", False, algorithm, criterion
        yield f"UID THREAD {algorithm}", "THREAD", True, algorithm, "ALL"


class Server:
    def __init__(self, imap):
        self.imap = imap
        typ, data = self.imap.uid("SEARCH", "ALL")
        # Sequence number of each UID: the n-th UID in ascending order is message n.
        self.seq = {int(uid): n for n, uid in enumerate(sorted(int(u) for u in data[0].split()), 1)}

    def sort(self, uid, criteria, search):
        args = (f"({criteria})", "UTF-8", search)
        typ, data = self.imap.uid("SORT", *args) if uid else self.imap.sort(*args)
        if typ != "OK":
            return f"{typ} {data}"
        numbers = [int(n) for n in (data[0] or b"").split()]
        return [self.seq[n] for n in numbers] if uid else numbers

    def thread(self, uid, algorithm, search):
        """The THREAD answer's text, UIDs made sequence numbers."""
        args = (algorithm, "UTF-8", search)
        typ, data = self.imap.uid("THREAD", *args) if uid else self.imap.thread(*args)
        if typ != "OK":
            return f"{typ} {data}"
        text = (data[0] or b"").decode()
        return re.sub(r"\d+", lambda m: str(self.seq[int(m.group())]), text) if uid else text


def main():
    a = two_servers.arguments(__doc__)
    servers = two_servers.both(a, Server)
    if servers is None:
        return 2
    report, differing = [], 0
    for name, command, uid, argument, search in battery():
        if command == "SORT":
            answers = [s.sort(uid, argument, search) for s in servers]
            text = f"SORT ({argument}) UTF-8 {search}"
        else:
            answers = [s.thread(uid, argument, search) for s in servers]
            text = f"THREAD {argument} UTF-8 {search}"
        same = answers[0] == answers[1]
        differing += not same
        entry = {"name": name, "command": ("UID " if uid else "") + text, "A": answers[0], "B": answers[1]}
        report.append(entry)
        if same:
            print(f"same {name}")
        else:
            first = next((i for i, (x, y) in enumerate(zip(answers[0], answers[1])) if x != y),
                         min(len(answers[0]), len(answers[1])))
            width = 80 if isinstance(answers[0], str) else 8
            a_part, b_part = answers[0][first:first + width], answers[1][first:first + width]
            print(f"DIFF {name}: from position {first}: A {a_part} B {b_part}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())

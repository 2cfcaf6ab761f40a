#!/usr/bin/env python3
"""Plays scripted IMAP sessions against any server and checks its answers.

usage: run.py --host H --imaps-port P --starttls-port Q --user U --password PW
              [--user2 U2] [--cafile F | --insecure] [--scope rfc] SCRIPT...

A script plays one session (C2: and S2: lines a second one). Lines:
  # scope: rfc | archimap    rfc = plain RFC behaviour (must hold for Dovecot too)
  # port: imaps | starttls   where to connect (default imaps)
  S: <pattern>               after connecting: the greeting; after a command:
                             a line of its answer. The patterns after a command
                             must match, in order, a subsequence of the lines the
                             server sent up to the command's tagged answer (or a
                             "+" continuation). `*` and `?` are wildcards
                             (fnmatch); `[` is literal.
  C: <line>                  a command line; its first word is its tag
  C+: <line>                 a line sent within the previous command (IDLE's
                             DONE, AUTHENTICATE data, a literal), then its
                             answer is read; `\r\n` in it stands for a line
                             break (a literal of several lines)
  N: <pattern>               no untagged line the server sent for the last
                             command (after the lines S has matched) matches
  W: <seconds>               waits (for servers that tell other sessions'
                             changes a moment later, as Dovecot's NOTIFY)
  C2: / S2: / C2+: ...       the same for a second session (3, ... for more),
                             connected and logged in as --user on first use;
                             S2 matches what session 2 received last
Placeholders: {user} {password} {user2} {plain} (base64 of NUL user NUL password).
Captures: {=name} in an S pattern matches a number and keeps it (once kept,
it stands for that number); in a C line it is replaced by it (values that
differ between servers, such as mod-sequences).
STARTTLS answered OK upgrades the connection. Prints one line per script and
"N passed, M failed"; exits 1 if any failed.
"""
import argparse
import base64
import fnmatch
import re
import socket
import ssl
import sys
import time


class Session:
    def __init__(self, sock):
        self.sock = sock
        self.file = sock.makefile("rb")

    def line(self):
        raw = self.file.readline(1 << 20)
        if not raw:
            raise ConnectionError("connection closed")
        # Literals: read their bytes and keep going to the end of the response line.
        text = raw.decode("utf-8", "replace")
        while text.rstrip("\r\n").endswith("}") and "{" in text:
            size = text.rstrip("\r\n").rsplit("{", 1)[1][:-1]
            if not size.isdigit():
                break
            data = self.file.read(int(size))
            rest = self.file.readline(1 << 20)
            text = text + data.decode("utf-8", "replace") + rest.decode("utf-8", "replace")
        return text.rstrip("\r\n")

    def send(self, text):
        self.sock.sendall(text.encode("utf-8") + b"\r\n")

    def answer(self, tag):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + " ") or line.startswith("+"):
                return lines


CAPTURE = re.compile(r"\{=(\w+)\}")


def matches(pattern, line, kept=None):
    if kept is None or not CAPTURE.search(pattern):
        return fnmatch.fnmatchcase(line, pattern.replace("[", "[[]"))
    # The pattern as a regular expression: `*` and `?` as fnmatch's, each
    # capture a number (or the number kept under its name).
    regex, names = "", []
    for i, piece in enumerate(CAPTURE.split(pattern)):
        if i % 2:
            if piece in kept:
                regex += re.escape(kept[piece])
            else:
                regex += r"(\d+)"
                names.append(piece)
        else:
            regex += "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in piece)
    found = re.fullmatch(regex, line, re.S)
    if found:
        kept.update(zip(names, found.groups()))
    return bool(found)


def play(path, args, context):
    steps, port = [], "imaps"
    for raw in open(path, encoding="utf-8").read().splitlines():
        if raw.startswith("# port:"):
            port = raw.split(":", 1)[1].strip()
        if not raw.strip() or raw.startswith("#"):
            continue
        kind, _, text = raw.partition(": ")
        plain = base64.b64encode(f"\0{args.user}\0{args.password}".encode()).decode()
        for name, value in (("user", args.user), ("password", args.password), ("user2", args.user2), ("plain", plain)):
            text = text.replace("{" + name + "}", value)
        steps.append((kind, text))
    def connect():
        sock = socket.create_connection((args.host, args.imaps_port if port == "imaps" else args.starttls_port), 30)
        if port == "imaps":
            sock = context.wrap_socket(sock, server_hostname="localhost")
        return sock

    class Player:
        """One session's connection, last answer and current tag."""
        def __init__(self, sock):
            self.sock, self.session = sock, Session(sock)
            self.received = [self.session.line()]  # the greeting
            self.tag = self.tag_command = None

    players = {"": Player(connect())}
    kept = {}
    for kind, text in steps:
        if kind == "W":
            time.sleep(float(text))
            continue
        parsed = re.fullmatch(r"([CSN])(\d*)(\+?)", kind)
        if not parsed:
            return f"unknown line kind {kind!r}"
        what, number, within = parsed.groups()
        number = "" if number in ("", "1") else number
        if number not in players:
            # Another session: same server, same user, logged in.
            players[number] = Player(connect())
            players[number].session.send(f"l{number} LOGIN {args.user} {args.password}")
            if not players[number].session.answer(f"l{number}")[-1].startswith(f"l{number} OK"):
                return f"session {number} could not log in"
        player = players[number]
        if what == "N":
            if any(matches(text, line) for line in player.received[:-1]):
                return f"unexpected {text!r}" + (f" in session {number}" if number else "")
        elif what == "S":
            answer = list(player.received)
            while player.received and not matches(text, player.received[0], kept):
                player.received.pop(0)
            if not player.received:
                where = f" in session {number}" if number else ""
                return f"expected {text!r}{where}; the answer was {answer!r}"[:2000]
            player.received.pop(0)
        else:
            missing = [n for n in CAPTURE.findall(text) if n not in kept]
            if missing:
                return f"nothing captured as {missing[0]!r} before {text!r}"
            text = CAPTURE.sub(lambda m: kept[m.group(1)], text)
            if within:
                text = text.replace("\\r\\n", "\r\n")
            if not within:
                player.tag, _, player.tag_command = text.partition(" ")
                player.tag_command = player.tag_command.split(" ")[0]
            player.session.send(text)
            player.received = player.session.answer(player.tag)
            if player.tag_command.upper() == "STARTTLS" and player.received[-1].startswith(player.tag + " OK"):
                player.session = Session(context.wrap_socket(player.sock, server_hostname="localhost"))
    for player in players.values():
        try:
            player.session.send("zz LOGOUT")
        except OSError:
            pass
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--imaps-port", type=int, required=True)
    parser.add_argument("--starttls-port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--user2", default="")
    parser.add_argument("--cafile")
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--scope", choices=["rfc", "all"], default="all")
    parser.add_argument("scripts", nargs="+")
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.cafile)
    if args.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    passed = failed = 0
    for path in sorted(args.scripts):
        if args.scope == "rfc" and "# scope: rfc" not in open(path, encoding="utf-8").read():
            continue
        try:
            problem = play(path, args, context)
        except (OSError, ConnectionError, ssl.SSLError) as error:
            problem = f"connection: {error}"
        name = path.rsplit("/", 1)[-1]
        if problem:
            failed += 1
            print(f"FAIL {name}: {problem}")
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())

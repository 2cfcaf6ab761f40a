#!/usr/bin/env python3
"""Plays scripted IMAP sessions against any server and checks its answers.

usage: run.py --host H --imaps-port P --starttls-port Q --user U --password PW
              [--user2 U2] [--cafile F | --insecure] [--scope rfc] SCRIPT...

A script is one session. Lines:
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
                             DONE, AUTHENTICATE data), then its answer is read
Placeholders: {user} {password} {user2} {plain} (base64 of NUL user NUL password).
STARTTLS answered OK upgrades the connection. Prints one line per script and
"N passed, M failed"; exits 1 if any failed.
"""
import argparse
import base64
import fnmatch
import socket
import ssl
import sys


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


def matches(pattern, line):
    return fnmatch.fnmatchcase(line, pattern.replace("[", "[[]"))


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
    sock = socket.create_connection((args.host, args.imaps_port if port == "imaps" else args.starttls_port), 30)
    if port == "imaps":
        sock = context.wrap_socket(sock, server_hostname="localhost")
    session = Session(sock)
    received = [session.line()]  # the greeting
    tag = tag_command = None
    for kind, text in steps:
        if kind == "S":
            while received and not matches(text, received[0]):
                received.pop(0)
            if not received:
                return f"expected {text!r}"
            received.pop(0)
        elif kind in ("C", "C+"):
            if kind == "C":
                tag, _, tag_command = text.partition(" ")
                tag_command = tag_command.split(" ")[0]
            session.send(text)
            received = session.answer(tag)
            if tag_command.upper() == "STARTTLS" and received[-1].startswith(tag + " OK"):
                session = Session(context.wrap_socket(sock, server_hostname="localhost"))
        else:
            return f"unknown line kind {kind!r}"
    try:
        session.send("zz LOGOUT")
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

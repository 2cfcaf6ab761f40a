#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs into fuzz/seeds/<target>/ from what
the repository and ../shared already hold: the command lines of the
conformance scripts, the edge corpus's messages and mbox, and API forms."""
import os
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
shared = root.parent / "shared" / "corpus" / "edge"
seeds = root / "fuzz" / "seeds"


def write(target, name, data):
    folder = seeds / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


# One seed per conformance script: its commands, after login.
for script in sorted((root / "conformance" / "scripts").glob("*.imap")):
    lines = []
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith("C: ") or line.startswith("C+: "):
            command = line.split(": ", 1)[1]
            if " LOGIN " in command.upper() or "STARTTLS" in command.upper():
                continue
            lines.append(command.replace("{user}", "alice").replace("{user2}", "bob").replace("{password}", "secret"))
    if lines:
        data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
        write("imap_session", script.stem, data)
        write("imap_frames", script.stem, data)

for n, eml in enumerate(sorted((shared / "eml").iterdir())):
    if n < 200 and eml.is_file():
        write("mime", eml.name, eml.read_bytes()[: 64 * 1024])

mbox = (shared / "edge.mbox").read_bytes()
write("mbox", "edge-head.mbox", mbox[: 32 * 1024].rsplit(b"\nFrom ", 1)[0] + b"\n")
write("mbox", "quoted.mbox", b"From a@b Mon Jan  1 00:00:00 2024\n>From x\n>>From y\n\nFrom c@d Tue Jan  2 00:00:00 2024\r\nbody\r\n")

for name, form in {
    "user": b"userName=alice&fullName=Alice&authentication=integrated&password=x",
    "grant": b"userName=alice&folder=bob&privileges=read%2Cwrite",
    "store": b"name=s2&type=FileSystemInternal&databasePath=%2Ftmp&requestedState=normal",
    "json": b"config=%7B%22kind%22%3A%22ldap%22%7D&id=1%3A2&timeout=5",
}.items():
    write("api_arguments", name, form)

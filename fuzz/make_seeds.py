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

# The edge corpus is a tree: one directory per source of its messages.
for eml in sorted(p for p in (shared / "eml").rglob("*") if p.is_file())[:200]:
    write("mime", f"{eml.parent.name}-{eml.name}", eml.read_bytes()[: 64 * 1024])

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

# Trees: NUL-separated path and content pairs (see src/fuzzing.rs).
message = b"From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n"
for name, entries in {
    "eml-tree": [(b"Inbox/a.eml", message), (b"Projects/Acme/b.eml", message), (b"notes.txt", b"not mail")],
    "maildir": [(b"cur/", b""), (b"new/1700000000.M1P2.host", message), (b"cur/1700000001.M2P2.host:2,FRS", message),
                (b".Sent.2019/cur/", b""), (b".Sent.2019/new/", b""), (b".Sent.2019/cur/1.M3.h:2,S", message)],
    "mbox": [(b"Lists/list.mbox", b"From a@b Mon Jan  1 00:00:00 2024\n" + message + b"\n")],
    "links": [(b"Projects/a.eml", message), (b"Projects/up", b"->.."), (b"Projects/Deeper/up", b"->../.."),
              (b"Projects/file-link.eml", b"->a.eml")],
}.items():
    write("import_tree", name, b"\0".join(part for entry in entries for part in entry))

# Attachments: the selector byte (even: PDF, odd: Word), then the file.
pdf = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
       b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
       b"3 0 obj <</Type /Page /Parent 2 0 R /Contents 4 0 R /Resources <</Font <</F1 5 0 R>>>>>> endobj\n"
       b"4 0 obj <</Length 44>> stream\nBT /F1 12 Tf 72 712 Td (archived text) Tj ET\nendstream endobj\n"
       b"5 0 obj <</Type /Font /Subtype /Type1 /BaseFont /Helvetica>> endobj\n"
       b"trailer <</Root 1 0 R>>\n%%EOF\n")
write("extract_attachment", "pdf", b"\0" + pdf)
import io
import zipfile
docx = io.BytesIO()
with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
    z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
               '<w:body><w:p><w:r><w:t>archived words</w:t></w:r></w:p></w:body></w:document>')
write("extract_attachment", "docx", b"\1" + docx.getvalue())

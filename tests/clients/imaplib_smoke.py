#!/usr/bin/env python3
"""Smoke test with Python's imaplib, a real IMAP client: implicit TLS and
STARTTLS, login, list, select, fetch, search-free browsing, logout.

usage: imaplib_smoke.py IMAPS_ADDR STARTTLS_ADDR CA_FILE USER PASSWORD
Prints one line per check; exits non-zero on the first failure.
"""
import imaplib
import ssl
import sys


def check(condition, what):
    if not condition:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


def browse(client, label):
    typ, _ = client.login(USER, PASSWORD)
    check(typ == "OK", f"{label}: LOGIN")
    typ, boxes = client.list()
    check(typ == "OK" and any(b'"INBOX"' in b for b in boxes), f"{label}: LIST shows INBOX")
    typ, data = client.select("INBOX", readonly=True)
    count = int(data[0])
    check(typ == "OK" and count > 0, f"{label}: EXAMINE INBOX ({count} messages)")
    typ, data = client.fetch(b"1:*", "(UID RFC822.SIZE FLAGS)")
    check(typ == "OK" and len(data) == count, f"{label}: FETCH 1:* of {count}")
    typ, data = client.uid("FETCH", b"1", "(RFC822.SIZE BODY.PEEK[])")
    size = int(data[0][0].split(b"RFC822.SIZE ")[1].split()[0])
    body = data[0][1]
    bare_lf = body.replace(b"\r\n", b"").count(b"\n")
    check(typ == "OK" and len(body) == size and bare_lf == 0, f"{label}: UID FETCH BODY.PEEK[] ({size} bytes, CRLF)")
    client.close()
    client.logout()


imaps, starttls, ca, USER, PASSWORD = sys.argv[1:6]
context = ssl.create_default_context(cafile=ca)
host, port = imaps.rsplit(":", 1)
browse(imaplib.IMAP4_SSL(host, int(port), ssl_context=context), "implicit TLS")

host, port = starttls.rsplit(":", 1)
plain = imaplib.IMAP4(host, int(port))
check("LOGINDISABLED" in plain.capabilities and "STARTTLS" in plain.capabilities, "STARTTLS port: LOGINDISABLED before TLS")
try:
    plain.login(USER, PASSWORD)
    check(False, "STARTTLS port: LOGIN before TLS refused")
except imaplib.IMAP4.error as refused:
    check("PRIVACYREQUIRED" in str(refused), "STARTTLS port: LOGIN before TLS refused")
plain.starttls(ssl_context=context)
browse(plain, "STARTTLS")
print("2 passed, 0 failed")

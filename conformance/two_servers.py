"""What the oracle scripts (sort_oracle.py, preview_oracle.py) share: their
command line, two servers holding the same messages in one user's mailbox,
and logging in to both with that mailbox selected read-only."""
import argparse
import imaplib
import ssl


def arguments(doc):
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("host_a", "port_a", "host_b", "port_b", "user", "password"):
        ap.add_argument(name)
    ap.add_argument("--mailbox", required=True)
    ap.add_argument("--user-b")
    ap.add_argument("--pass-b")
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--json")
    return ap.parse_args()


def connect(host, port, user, password, mailbox, insecure):
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    imap = imaplib.IMAP4_SSL(host, port, ssl_context=context)
    imap.login(user, password)
    typ, data = imap.select(mailbox, readonly=True)
    if typ != "OK":
        raise SystemExit(f"{host}:{port}: SELECT {mailbox}: {data}")
    return imap


def both(a, make):
    """`make(imap)` for server A, then for server B; None (after saying
    why) if either cannot be reached or logged in to."""
    try:
        return [
            make(connect(a.host_a, int(a.port_a), a.user, a.password, a.mailbox, a.insecure)),
            make(connect(a.host_b, int(a.port_b), a.user_b or a.user, a.pass_b or a.password, a.mailbox, a.insecure)),
        ]
    except (OSError, imaplib.IMAP4.error) as error:
        print(f"connection: {error}")
        return None

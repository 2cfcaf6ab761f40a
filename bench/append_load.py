#!/usr/bin/env python3
"""APPENDs .eml files one by one into a new mailbox over implicit TLS, as a
mail client does when mail is dragged into an IMAP folder; prints JSON:
the number of messages, the seconds in all and the median per APPEND.

    append_load.py HOST PORT USER PASSWORD DIR [--limit N]

TCP_NODELAY is set: without it, the client's own Nagle delay (the literal's
final CRLF held back until the server's delayed ACK) would cost every APPEND
about 40 ms on either server, and measure nothing but that.
"""

import argparse
import imaplib
import json
import os
import socket
import ssl
import statistics
import time


def main():
    parser = argparse.ArgumentParser()
    for name in ("host", "port", "user", "password", "dir"):
        parser.add_argument(name)
    parser.add_argument("--limit", type=int, default=1000)
    options = parser.parse_args()
    files = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(options.dir)
        for name in names
        if name.endswith(".eml")
    )[: options.limit]
    messages = [open(path, "rb").read() for path in files]
    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    client = imaplib.IMAP4_SSL(options.host, int(options.port), ssl_context=tls)
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.login(options.user, options.password)
    mailbox = "Appended%d" % time.time_ns()
    client.create(mailbox)
    took = []
    start = time.perf_counter()
    for message in messages:
        before = time.perf_counter()
        status, _ = client.append(mailbox, None, None, message)
        took.append(time.perf_counter() - before)
        if status != "OK":
            raise SystemExit(f"APPEND failed: {status}")
    seconds = time.perf_counter() - start
    client.logout()
    print(json.dumps({
        "messages": len(messages),
        "bytes": sum(map(len, messages)),
        "seconds": seconds,
        "median_ms": statistics.median(took) * 1000,
    }))


if __name__ == "__main__":
    main()

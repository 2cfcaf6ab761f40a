#!/usr/bin/env python3
"""Journal intake load (issue 16): CLIENTS concurrent SMTP (archimap's
receiver) or LMTP (Dovecot's lmtp) sessions deliver the first N messages of
an mbox, each to one of USERS recipients in turn (message i to user
i mod USERS), each session on one connection for all its messages.

usage: journal_load.py --mbox F --n N --users U --clients K --port P
                       --protocol smtp|lmtp --rcpt FORMAT --server SPEC

FORMAT names the envelope recipient of user i (`u{:02d}@archive.example`
for archimap's per-user journal addresses, `u{:02d}` for Dovecot's LMTP).
SPEC is what bench/imap_load.py's `cpu_seconds` reads (PID or tree:PID).
Prints one JSON object: messages, seconds, messages/s, server CPU seconds
and per message, latency of each delivery (MAIL to the final reply)
median and p99, and errors.
"""
import argparse
import json
import os
import queue
import smtplib
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import cpu_seconds  # noqa: E402
from load import mbox_messages  # noqa: E402


def worker(a, work, latencies, errors):
    cls = smtplib.LMTP if a.protocol == "lmtp" else smtplib.SMTP
    conn = cls("127.0.0.1", a.port, timeout=120)
    conn.ehlo("bench.example.com") if a.protocol == "smtp" else None
    while True:
        try:
            i, raw = work.get_nowait()
        except queue.Empty:
            break
        rcpt = a.rcpt.format(i % a.users + 1)
        started = time.perf_counter()
        try:
            refused = conn.sendmail("journal-bench@example.com", [rcpt], raw)
            if refused:
                errors.append(str(refused))
        except smtplib.SMTPException as e:
            errors.append(repr(e))
            conn.close()
            conn = cls("127.0.0.1", a.port, timeout=120)
            if a.protocol == "smtp":
                conn.ehlo("bench.example.com")
            continue
        latencies.append(time.perf_counter() - started)
    try:
        conn.quit()
    except smtplib.SMTPException:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mbox", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--protocol", choices=["smtp", "lmtp"], required=True)
    ap.add_argument("--rcpt", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--settle", type=float, default=15, help="seconds after the load before CPU is read again (archimap indexes in batches)")
    a = ap.parse_args()
    raws = mbox_messages(a.mbox, a.n)
    work = queue.Queue()
    for i, raw in enumerate(raws):
        work.put((i, raw))
    latencies, errors = [], []
    cpu_before = cpu_seconds(a.server)
    started = time.perf_counter()
    threads = [
        threading.Thread(target=worker, args=(a, work, latencies, errors))
        for _ in range(a.clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(a.server) - cpu_before
    time.sleep(a.settle)
    cpu_settled = cpu_seconds(a.server) - cpu_before
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else None

    json.dump(
        {
            "messages": len(latencies),
            "bytes": sum(len(r) for r in raws),
            "seconds": seconds,
            "per_second": len(latencies) / seconds,
            "cpu_seconds": cpu,
            "cpu_ms_per_message": cpu * 1000 / max(1, len(latencies)),
            "cpu_seconds_settled": cpu_settled,
            "cpu_ms_per_message_settled": cpu_settled * 1000 / max(1, len(latencies)),
            "latency_median_ms": pct(0.5),
            "latency_p99_ms": pct(0.99),
            "errors": len(errors),
            "first_errors": errors[:5],
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()

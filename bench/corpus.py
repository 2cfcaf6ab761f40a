#!/usr/bin/env python3
"""The benchmark corpus, as bench/imap.sh caches it in WORK/corpus-N-SEED
(the same layout, so either script reuses what the other made):

  corpus.py --out DIR -n N --seed SEED [--shared ../shared] [--work TMP]

gen_corpus.py for one user (a few more entries than N), its distinct
messages in generation order, the first N of them as one mboxrd file
(DIR/big.mbox, for archimap) and as a Maildir with file names in the same
order and mtimes = the mbox dates (DIR/maildir/Big, for doveadm import); LF
line ends, as Dovecot stores them. DIR/.done holds gen_corpus's summary.

  corpus.py --extra DIR -n N --seed SEED --users U [--attach-rate R] [--max-attach-kb K]

N more messages for growing a store, as mboxrd files DIR/*.mbox (one per
user and folder, as gen_corpus writes them).
"""
import argparse
import calendar
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time


def generate(a, out, n, extra_args):
    subprocess.run(
        [sys.executable, os.path.join(a.shared, "corpus/gen_corpus.py"), "--out", out, "-n", str(n), "--seed", str(a.seed)]
        + extra_args,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )


def big(a):
    gen = os.path.join(a.work, "gen-%d-%d" % (a.n, a.seed))
    shutil.rmtree(gen, ignore_errors=True)
    summary = subprocess.run(
        [sys.executable, os.path.join(a.shared, "corpus/gen_corpus.py"), "--out", gen, "-n", str(a.n + a.n // 10 + 100),
         "--users", "1", "--seed", str(a.seed)],
        check=True, stdout=subprocess.PIPE, text=True).stdout
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(a.out, "maildir/Big", sub), exist_ok=True)
        os.makedirs(os.path.join(a.out, "maildir/INBOX", sub), exist_ok=True)
    seen, count, size = set(), 0, 0
    with open(os.path.join(gen, "index.tsv")) as index, open(os.path.join(a.out, "big.mbox"), "wb") as mbox:
        next(index)
        for line in index:
            f = line.rstrip("\n").split("\t")
            with open(os.path.join(gen, f[2]), "rb") as m:
                data = m.read().replace(b"\r\n", b"\n")
            os.unlink(os.path.join(gen, f[2]))  # keeps the disk space needed at about twice the corpus
            if not data.endswith(b"\n"):
                data += b"\n"
            digest = hashlib.sha256(data).digest()
            if digest in seen:
                continue
            seen.add(digest)
            t = calendar.timegm(time.strptime(f[4], "%Y-%m-%dT%H:%M:%SZ"))
            mbox.write(b"From MAILER-DAEMON %s\n" % time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(t)).encode())
            mbox.write(re.sub(rb"(?m)^(>*From )", rb">\1", data) + b"\n")
            path = os.path.join(a.out, "maildir", "Big", "cur", "%d.M%dP1.bench:2," % (1000000000 + count, count))
            with open(path, "wb") as m:
                m.write(data)
            os.utime(path, (t, t))
            count += 1
            size += len(data)
            if count == a.n:
                break
    shutil.rmtree(gen, ignore_errors=True)
    if count < a.n:
        sys.exit("only %d distinct messages generated, %d wanted" % (count, a.n))
    print("messages=%d lf_bytes=%d" % (count, size))
    with open(os.path.join(a.out, ".done"), "w") as done:
        done.write(summary.strip() + "\n")


def extra(a):
    shutil.rmtree(a.extra, ignore_errors=True)
    args = ["--users", str(a.users), "--format", "mbox", "--lf"]
    if a.attach_rate is not None:
        args += ["--attach-rate", str(a.attach_rate)]
    if a.max_attach_kb is not None:
        args += ["--max-attach-kb", str(a.max_attach_kb)]
    generate(a, a.extra, a.n, args)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out")
    ap.add_argument("--extra")
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--users", type=int, default=1)
    ap.add_argument("--attach-rate", type=float)
    ap.add_argument("--max-attach-kb", type=int)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared"))
    ap.add_argument("--work", default="/tmp")
    a = ap.parse_args()
    if a.out:
        big(a)
    elif a.extra:
        extra(a)
    else:
        ap.error("--out or --extra")


if __name__ == "__main__":
    main()

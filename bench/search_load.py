#!/usr/bin/env python3
"""SEARCH client for bench/search.sh (Python 3 standard library only; the
IMAP connection is bench/imap_load.py's).

  search_load.py terms  --maildir DIR --seed S --count Q --out FILE
      Picks Q search strings per key from random messages of a Maildir:
      FROM (a sender's local part or last name), SUBJECT (a subject word),
      BODY and TEXT (a word of the text body, or two words in a row, in
      turn). Every pick occurs in at least one message. Beside each key,
      KEY_inside: a part of such a word of 3 or more characters that
      neither starts nor ends it ("nvoic" of "invoice"); and body_short:
      one or two characters from inside a body word, in turn.
  search_load.py search --port P [--ca CA] --user U --password PW --folder F
                        --terms FILE [--count body=5,text=5]
      SELECT F, one untimed SEARCH to warm up, then `SEARCH KEY "string"` for
      each picked string in turn, one key after the other: per key the
      number of searches, median and p99 (nearest rank) in milliseconds
      from sending the command to its tagged OK, and the median hit count.
"""
import argparse
import email
import email.policy
import json
import os
import random
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import Client, quote  # noqa: E402

KEYS = ["body", "text", "from", "subject", "body_inside", "text_inside", "from_inside", "subject_inside",
        "body_short"]
# Whole words of ASCII letters (a search string in a quoted string is ASCII).
WORD = r"(?<!\w)[A-Za-z]{%d,}(?!\w)"
STOP = set("""this that with from have your will what when were they them their there which about would
should could been into than then more some such only over also other these those please thanks
regards best hello dear""".split())


def body_text(message):
    part = message.get_body(preferencelist=("plain",))
    try:
        return part.get_content() if part else ""
    except (LookupError, ValueError):
        return ""


def inside(rng, word, shortest=3):
    """A part of `word` that neither starts nor ends it, of `shortest` or more characters."""
    if len(word) < shortest + 2:
        return None
    length = rng.randint(shortest, len(word) - 2)
    start = rng.randint(1, len(word) - 1 - length)
    return word[start:start + length]


def cmd_terms(a):
    rng = random.Random(a.seed)
    names = sorted(os.listdir(os.path.join(a.maildir, "cur")))
    picks = {k: [] for k in KEYS}
    for name in rng.sample(names, min(len(names), a.count * 20)):
        if all(len(v) >= a.count for v in picks.values()):
            break
        with open(os.path.join(a.maildir, "cur", name), "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        sender = str(m.get("From", ""))
        address = re.search(r"([\w.+-]+)@", sender)
        name_words = re.findall(WORD % 3, sender.split("<")[0])
        def pick(key, value):
            if value and len(picks[key]) < a.count:
                picks[key].append(value)

        if address or name_words:
            sender = name_words[-1] if name_words and rng.random() < 0.5 else address.group(1)
            pick("from", sender)
            pick("from_inside", inside(rng, sender))
        subject = [w for w in re.findall(WORD % 4, str(m.get("Subject", ""))) if w.lower() not in STOP]
        if subject:
            pick("subject", rng.choice(subject))
            pick("subject_inside", inside(rng, rng.choice(subject)))
        text = body_text(m)
        words = [w for w in re.findall(WORD % 5, text) if w.lower() not in STOP]
        for key in ("body", "text"):
            if len(words) >= 2 and len(picks[key]) < a.count:
                i = rng.randrange(len(words) - 1)
                pair = words[i] + " " + words[i + 1]
                # Every other pick is two words in a row, when they stand so.
                picks[key].append(pair if len(picks[key]) % 2 and pair in text else words[i])
            if words:
                pick(key + "_inside", inside(rng, rng.choice(words)))
        if words:
            word = rng.choice(words)
            pick("body_short", word[1:1 + 1 + len(picks["body_short"]) % 2])
    with open(a.out, "w") as f:
        json.dump(picks, f, indent=1)
    return {k: len(v) for k, v in picks.items()}


def p99(values):
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 99 // 100) - 1)]


def cmd_search(a):
    with open(a.terms) as f:
        terms = json.load(f)
    limits = dict((k, int(v)) for k, v in (x.split("=") for x in a.count.split(",") if x))
    c = Client(a)
    c.login(a)
    c.select(a.folder)
    c.command("SEARCH FROM %s" % quote("warm-up"))
    result = {"folder": a.folder}
    for key in KEYS:
        seconds, hits, errors = [], [], 0
        for term in terms[key][:limits.get(key, len(terms[key]))]:
            found = []
            start = time.perf_counter()
            status, _ = c.command("SEARCH %s %s" % (key.split("_")[0].upper(), quote(term)),
                                  on_line=lambda line: found.append(len(line.split()) - 2) if line.startswith(b"* SEARCH") else None)
            elapsed = time.perf_counter() - start
            if " OK" not in status:
                errors += 1
                continue
            seconds.append(elapsed)
            hits.append(sum(found))
        result[key] = {
            "n": len(seconds),
            "errors": errors,
            "median_ms": statistics.median(seconds) * 1000 if seconds else None,
            "p99_ms": p99(seconds) * 1000 if seconds else None,
            "hits_median": statistics.median(hits) if hits else None,
        }
    c.close()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["terms", "search"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--ca")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--folder", default="Big")
    ap.add_argument("--maildir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", default="", help="terms: strings per key; search: KEY=N,... to use fewer")
    ap.add_argument("--terms")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.command == "terms":
        a.count = int(a.count or 30)
        result = cmd_terms(a)
    else:
        result = cmd_search(a)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
